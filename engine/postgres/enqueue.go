package postgres

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard/switchboard/engine"
)

// enqOp is one Enqueue waiting for its batch.
type enqOp struct {
	op
	ev   engine.Event // copied: the caller's is not retained
	jobs []engine.NewJob
	dkey pgtype.UUID // dedupeKey of the delivery; not Valid when not deduped
	id   string      // result
	dup  bool
}

// Enqueue stores ev and its jobs. Concurrent calls are group-committed:
// one statement and one COMMIT (synchronous, as the server's
// synchronous_commit says) for all the events queued since the last
// batch, and none returns before that COMMIT. A delivery id stored for
// the source within DedupeWindow, by any process, stores nothing and
// returns the first event's id with ErrDuplicate.
func (q *Queue) Enqueue(ctx context.Context, ev *engine.Event, jobs []engine.NewJob) (string, error) {
	if err := q.checkOpen(); err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	news, err := cloneJobs(jobs)
	if err != nil {
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	// The whole wait is bounded, queueing behind a stuck batch included:
	// a sender gets its 503 within Timeout whatever the database does.
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	o := &enqOp{op: newOp(ctx), ev: copyEvent(ev), jobs: news}
	if q.opts.DedupeWindow > 0 && ev.DeliveryID != "" {
		o.dkey = dedupeKey(o.ev.Source, o.ev.DeliveryID)
	}
	err = q.enq.submit(ctx, o)
	if o.dup && err == nil {
		return o.id, fmt.Errorf("enqueue %s event: %w", ev.Name, engine.ErrDuplicate)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", engine.ErrUnavailable, err)
		}
		return "", fmt.Errorf("enqueue %s event: %w", ev.Name, err)
	}
	ev.ID = o.id
	return o.id, nil
}

// dedupeKey is what the dedupe table stores of a delivery: 16 bytes of
// md5(source, NUL, delivery id), whatever the id's length. A record is a
// few dozen bytes of WAL, not the id twice over (row and index).
func dedupeKey(source, delivery string) pgtype.UUID {
	h := md5.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(delivery))
	var k pgtype.UUID
	copy(k.Bytes[:], h.Sum(nil))
	k.Valid = true
	return k
}

func copyEvent(ev *engine.Event) engine.Event {
	c := engine.Event{
		Name: cleanText(ev.Name), Source: cleanText(ev.Source), DeliveryID: cleanText(ev.DeliveryID),
		ReceivedAt: utc(ev.ReceivedAt), Payload: append(json.RawMessage(nil), ev.Payload...), Parent: cleanText(ev.Parent),
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = utc(time.Now())
	}
	if len(ev.Headers) > 0 {
		c.Headers = make(map[string]string, len(ev.Headers))
		for k, v := range ev.Headers {
			c.Headers[strings.Clone(k)] = strings.Clone(v)
		}
	}
	return c
}

func cloneJobs(jobs []engine.NewJob) ([]engine.NewJob, error) {
	out := make([]engine.NewJob, len(jobs))
	for i, j := range jobs {
		if j.MaxTries > math.MaxInt32 {
			return nil, fmt.Errorf("job for %s: max tries %d is out of range", j.Listener, j.MaxTries)
		}
		out[i] = engine.NewJob{Listener: cleanText(j.Listener), MaxTries: max(j.MaxTries, 1),
			RunAt: utc(j.RunAt), OrderKey: cleanText(j.OrderKey)}
	}
	return out, nil
}

// enqueueSQL writes a batch: dedupe records first (in key order, so two
// batches racing for deliveries never deadlock), then the events that
// won theirs (or have none), their jobs, and the counters. It returns
// the batch index and id of every event written.
const enqueueSQL = `
WITH ev_in AS (
	SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[], $6::bytea[], $7::bytea[], $8::text[], $9::text[])
		AS t(i, name, source, dkey, received_at, headers, payload, parent, delivery_id)
),
ev_id AS MATERIALIZED (
	SELECT i, nextval('sb_.events_id_seq') AS id FROM (SELECT i FROM ev_in ORDER BY i) o
),
dd AS (
	INSERT INTO sb_.dedupe AS d (key, event_id, seen_at)
	SELECT e.dkey, x.id, now() FROM ev_in e JOIN ev_id x USING (i)
	WHERE e.dkey IS NOT NULL ORDER BY e.dkey
	ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id, seen_at = excluded.seen_at
		WHERE d.seen_at < now() - $10 * interval '1 millisecond'
	RETURNING d.event_id
),
ev AS (
	INSERT INTO sb_.events (id, name, source, delivery_id, received_at, headers, payload, parent, created_at)
	SELECT x.id, e.name, e.source, e.delivery_id, e.received_at, e.headers, e.payload, e.parent, now()
	FROM ev_in e JOIN ev_id x USING (i)
	WHERE e.dkey IS NULL OR x.id IN (SELECT event_id FROM dd)
	RETURNING id
),
jb AS (
	INSERT INTO sb_.jobs (event_id, listener, state, max_tries, run_at, created_at, updated_at, order_key)
	SELECT x.id, j.listener, 0, j.max_tries, coalesce(j.run_at, now()), now(), now(), nullif(j.order_key, '')
	FROM unnest($11::int[], $12::text[], $13::int[], $14::timestamptz[], $15::text[]) WITH ORDINALITY
		AS j(i, listener, max_tries, run_at, order_key, k)
	JOIN ev_id x USING (i)
	WHERE x.id IN (SELECT id FROM ev)
	ORDER BY j.k
	RETURNING listener
),
cnt AS (` + countsInsert + `
	SELECT listener, 0::smallint, $16::smallint, count(*) FROM jb GROUP BY listener
	UNION ALL SELECT '', 4::smallint, $16::smallint, count(*) FROM ev HAVING count(*) > 0
	ORDER BY 1, 2` + countsConflict + `
)
SELECT x.i, x.id FROM ev_id x WHERE x.id IN (SELECT id FROM ev)`

// countsInsert and countsConflict wrap a SELECT of (listener, state,
// shard, delta) rows, sorted so that statements lock counter rows in
// one order, into the upsert that adds them up.
const (
	countsInsert   = `INSERT INTO sb_.counts AS c (listener, state, shard, n)`
	countsConflict = ` ON CONFLICT (listener, state, shard) DO UPDATE SET n = c.n + excluded.n`
)

// runEnqueue writes one batch of Enqueue calls.
func (q *Queue) runEnqueue(ops []*enqOp) {
	first := map[[16]byte]*enqOp{} // in-batch duplicates wait for the first
	var write []*enqOp
	copies := map[*enqOp]*enqOp{}
	for _, o := range ops {
		if o.dkey.Valid {
			if f := first[o.dkey.Bytes]; f != nil {
				copies[o] = f
				continue
			}
			first[o.dkey.Bytes] = o
		}
		write = append(write, o)
	}
	err := q.enqueueBatch(write)
	if err != nil && len(write) > 1 && classify(err) == errPermanent {
		// One bad event must not fail the others: write each alone.
		for _, o := range write {
			if err := q.enqueueBatch([]*enqOp{o}); err != nil {
				o.err = err
			}
		}
	} else {
		for _, o := range write {
			if o.err == nil {
				o.err = err
			}
		}
	}
	for _, o := range write {
		o.finish(o.err)
	}
	for o, f := range copies {
		if f.err == nil {
			o.id, o.dup = f.id, true
		}
		o.finish(f.err)
	}
}

// enqueueBatch writes ops (distinct delivery keys), setting each op's
// id, dup or err (a refusal that concerns one op only). It returns an
// error that concerns them all.
func (q *Queue) enqueueBatch(ops []*enqOp) error {
	ctx := context.Background()
	if q.opts.MaxDepth > 0 {
		if err := q.refuseOverDepth(ctx, ops); err != nil {
			return err
		}
	}
	var write []*enqOp
	for _, o := range ops {
		if o.err == nil {
			write = append(write, o)
		}
	}
	if len(write) == 0 {
		return nil
	}
	args := enqueueArgs(write, q.opts.DedupeWindow)
	written := map[int32]int64{}
	err := q.do(ctx, "store events", false, func(ctx context.Context) error {
		clear(written)
		q.enqueueStatements.Add(1)
		rows, err := q.pool.Query(ctx, q.sql(enqueueSQL), args...)
		if err != nil {
			return err
		}
		var i int32
		var id int64
		_, err = pgx.ForEachRow(rows, []any{&i, &id}, func() error { written[i] = id; return nil })
		return err
	})
	if err != nil {
		return err
	}
	var dups []*enqOp
	var due dueTracker
	for i, o := range write {
		id, ok := written[int32(i)]
		if !ok {
			dups = append(dups, o)
			continue
		}
		o.id = formatID(eventPrefix, id)
		q.enqueued.Add(1)
		for _, j := range o.jobs {
			due.add(j.RunAt)
		}
	}
	due.wake(q)
	if len(dups) > 0 {
		return q.resolveDups(ctx, dups)
	}
	return nil
}

// enqueueArgs lays ops out as the arrays enqueueSQL unnests.
func enqueueArgs(ops []*enqOp, window time.Duration) []any {
	n := len(ops)
	idx, names, sources, parents, deliveries := make([]int32, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dkeys := make([]pgtype.UUID, n)
	received, headers, payloads := make([]time.Time, n), make([][]byte, n), make([][]byte, n)
	var ji, jtries []int32
	var jlis, jkeys []string
	var jrun []pgtype.Timestamptz
	for i, o := range ops {
		idx[i], names[i], sources[i], dkeys[i], parents[i], deliveries[i] = int32(i), o.ev.Name, o.ev.Source, o.dkey, o.ev.Parent, o.ev.DeliveryID
		received[i], payloads[i] = o.ev.ReceivedAt, []byte(o.ev.Payload)
		if payloads[i] == nil {
			payloads[i] = []byte{}
		}
		if len(o.ev.Headers) > 0 {
			headers[i], _ = json.Marshal(o.ev.Headers)
		}
		for _, j := range o.jobs {
			ji, jlis, jtries, jkeys = append(ji, int32(i)), append(jlis, j.Listener), append(jtries, int32(j.MaxTries)), append(jkeys, j.OrderKey)
			jrun = append(jrun, pgtype.Timestamptz{Time: j.RunAt, Valid: !j.RunAt.IsZero()})
		}
	}
	return []any{idx, names, sources, dkeys, received, headers, payloads, parents, deliveries, millis(window),
		ji, jlis, jtries, jrun, jkeys, shard()}
}

// refuseOverDepth sets ErrUnavailable on the ops (with jobs) that would
// find pending and running jobs at MaxDepth or more, counting the jobs
// of the ops before them. The depth comes from the counters, not a scan.
func (q *Queue) refuseOverDepth(ctx context.Context, ops []*enqOp) error {
	var depth int64
	err := q.do(ctx, "read queue depth", true, func(ctx context.Context) error {
		return q.pool.QueryRow(ctx, q.sql(`SELECT coalesce(sum(n), 0)::bigint FROM sb_.counts WHERE state IN (0, 1)`)).Scan(&depth)
	})
	if err != nil {
		return err
	}
	for _, o := range ops {
		if len(o.jobs) == 0 {
			continue
		}
		if depth >= int64(q.opts.MaxDepth) {
			o.err = fmt.Errorf("%w: queue holds %d pending or running jobs (max_depth %d)", engine.ErrUnavailable, depth, q.opts.MaxDepth)
			continue
		}
		depth += int64(len(o.jobs))
	}
	return nil
}

// resolveDups finds the events that the duplicates' delivery ids name.
func (q *Queue) resolveDups(ctx context.Context, dups []*enqOp) error {
	keys := make([]pgtype.UUID, len(dups))
	for i, o := range dups {
		keys[i] = o.dkey
	}
	found := map[[16]byte]int64{}
	err := q.do(ctx, "look up duplicate deliveries", true, func(ctx context.Context) error {
		rows, err := q.pool.Query(ctx, q.sql(`SELECT key, event_id FROM sb_.dedupe WHERE key = ANY($1)`), keys)
		if err != nil {
			return err
		}
		var k pgtype.UUID
		var id int64
		_, err = pgx.ForEachRow(rows, []any{&k, &id}, func() error { found[k.Bytes] = id; return nil })
		return err
	})
	for _, o := range dups {
		o.dup = true
		if id, ok := found[o.dkey.Bytes]; ok {
			o.id = formatID(eventPrefix, id)
		}
	}
	if err != nil {
		// The duplicate is known; only the first event's id is not.
		q.log.Warn("look up the event a duplicate delivery repeats", "err", err)
	}
	return nil
}

// dueTracker finds the earliest RunAt among jobs a write made pending
// (zero: now) and announces it.
type dueTracker struct {
	at  time.Time
	any bool
}

func (d *dueTracker) add(runAt time.Time) {
	if runAt.IsZero() {
		runAt = time.Now()
	}
	if !d.any || runAt.Before(d.at) {
		d.at, d.any = runAt, true
	}
}

func (d *dueTracker) wake(q *Queue) {
	if d.any {
		q.wake(d.at)
	}
}
