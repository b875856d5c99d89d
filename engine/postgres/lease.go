package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard/switchboard/engine"
)

// claimSQL claims, for each listener in $1 not paused, up to $2 of its
// due pending jobs (skipping rows other transactions hold, and jobs whose
// ordering key has an older job pending or running), at most $4 in all,
// oldest RunAt first; makes them running under this process ($5) for
// $3 ms; charges the claims to the token buckets in $7..$10, stamped
// $11 (when the buckets were read, under their locks); marks them with
// the statement's token $12 (see releaseSQL); and returns each job with
// its event.
var claimSQL = `
WITH want AS (
	SELECT w.listener, w.n, w.lease_ms FROM unnest($1::text[], $2::int[], $3::bigint[]) AS w(listener, n, lease_ms)
	WHERE NOT EXISTS (SELECT 1 FROM sb_.listeners l WHERE l.name = w.listener AND l.paused_at IS NOT NULL)
),
cand AS (
	SELECT c.id, c.run_at, w.lease_ms FROM want w CROSS JOIN LATERAL (
		SELECT j.id, j.run_at FROM sb_.jobs j
		WHERE j.state = 0 AND j.listener = w.listener AND j.run_at <= now()
		AND (j.order_key IS NULL OR NOT EXISTS (
			SELECT 1 FROM sb_.jobs o WHERE o.listener = j.listener AND md5(o.order_key) = md5(j.order_key)
			AND o.order_key = j.order_key AND o.state IN (0, 1) AND o.order_key IS NOT NULL AND o.id < j.id))
		ORDER BY j.run_at, j.id LIMIT w.n
		FOR UPDATE SKIP LOCKED
	) c
	ORDER BY c.run_at, c.id LIMIT $4
),
upd AS (
	UPDATE sb_.jobs j SET state = 1, attempt = j.attempt + 1,
		lease_until = now() + cand.lease_ms * interval '1 millisecond',
		owner = $5, started = false, lease_token = $12, updated_at = now()
	FROM cand WHERE j.id = cand.id AND j.id = ANY(ARRAY(SELECT id FROM cand))
	RETURNING ` + jobCols + `
),
cnt AS (` + countsInsert + `
	SELECT listener, state, $6::smallint, sum(d) FROM (
		SELECT listener, 0::smallint AS state, -1 AS d FROM upd
		UNION ALL SELECT listener, 1::smallint, 1 FROM upd) x
	GROUP BY listener, state ORDER BY listener, state` + countsConflict + `
),
tok AS (
	UPDATE sb_.listeners l SET tokens = t.tokens - (SELECT count(*) FROM upd WHERE upd.listener = t.name),
		tokens_at = $11, rate_n = t.n, rate_per_ms = t.per
	FROM unnest($7::text[], $8::float8[], $9::int[], $10::bigint[]) AS t(name, tokens, n, per)
	WHERE l.name = t.name
)
SELECT ` + jobColsOf("upd") + `, ` + eventCols + `
FROM upd JOIN sb_.events e ON e.id = upd.event_id ORDER BY upd.run_at, upd.id`

// jobColsOf is jobCols read from a CTE or alias other than j.
func jobColsOf(alias string) string {
	out := ""
	for i, c := range []string{"id", "event_id", "listener", "state", "attempt", "max_tries", "crashes", "run_at",
		"lease_until", "created_at", "updated_at", "last_error", "order_key", "attempts", "suspect"} {
		if i > 0 {
			out += ", "
		}
		out += alias + "." + c
	}
	return out
}

// nextDueSQL is the earliest future RunAt among the listeners in $1.
const nextDueSQL = `SELECT min(x.run_at) FROM unnest($1::text[]) AS l(name) CROSS JOIN LATERAL (
	SELECT run_at FROM sb_.jobs WHERE state = 0 AND listener = l.name AND run_at > now() ORDER BY run_at LIMIT 1) x`

// Lease claims up to max claimable jobs (see engine.Leaser). Listeners
// without a concurrency or rate bound are claimed in one statement that
// also takes back expired leases. Bounded ones are claimed in a
// transaction that first locks their rows in the listeners table, so
// that processes leasing at once take turns: a listener's running count
// and token bucket are read after the lock and written before it is
// released, and Concurrency and Rate hold across every process.
func (q *Queue) Lease(ctx context.Context, max int, quota map[string]engine.Quota) ([]engine.Lease, error) {
	if err := q.checkOpen(); err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	if max <= 0 || len(quota) == 0 {
		return nil, nil
	}
	q.rememberLimits(quota)
	var plain, bounded []string
	for _, name := range slices.Sorted(maps.Keys(quota)) {
		qu := quota[name]
		switch {
		case qu.Max <= 0:
		case qu.Concurrency > 0 || !qu.Rate.IsZero():
			bounded = append(bounded, name)
		default:
			plain = append(plain, name)
		}
	}
	if len(plain)+len(bounded) == 0 {
		return nil, nil
	}
	q.releaseOrphans(ctx)
	var longest time.Duration
	for _, qu := range quota {
		if qu.LeaseFor > longest {
			longest = qu.LeaseFor
		}
	}
	var leases []engine.Lease
	err := q.do(ctx, "lease jobs", true, func(ctx context.Context) error {
		token := leaseToken()
		var err error
		leases, err = q.leaseOnce(ctx, token, max, quota, plain, bounded)
		var pe *pgconn.PgError
		if err != nil && !errors.As(err, &pe) {
			// No answer from the server: the claim may have committed
			// with no worker to run its jobs.
			q.orphaned(token, time.Now().Add(longest))
		}
		return err
	})
	return leases, err
}

// leaseToken returns a random nonzero token for one lease statement.
func leaseToken() int64 {
	for {
		if t := rand.Int64(); t != 0 {
			return t
		}
	}
}

// maxOrphans bounds the tokens kept for releaseOrphans; past it the
// oldest are dropped, and their jobs (if any) wait for their lease to end.
const maxOrphans = 1024

// orphan is the token of a lease statement whose answer was lost.
type orphan struct {
	token int64
	// until is when its leases end: till then it is released on every
	// Lease (the statement may commit after the first release ran, as a
	// frozen server that resumes runs what it had read); after, the jobs
	// are taken back as any expired lease is.
	until time.Time
}

// orphaned remembers the token of a lease whose answer was lost, until
// its leases would end.
func (q *Queue) orphaned(token int64, until time.Time) {
	q.orphanMu.Lock()
	defer q.orphanMu.Unlock()
	q.orphans = append(q.orphans, orphan{token, until})
	if n := len(q.orphans); n > maxOrphans {
		q.orphans = slices.Delete(q.orphans, 0, n-maxOrphans)
	}
}

// releaseOrphans gives back the jobs of leases whose answers were lost
// (see releaseSQL), so that they run now rather than when the lease ends.
// Tokens are released on every call until their leases would end; a
// failure just waits for the next call.
func (q *Queue) releaseOrphans(ctx context.Context) {
	q.orphanMu.Lock()
	tokens := make([]int64, len(q.orphans))
	for i, o := range q.orphans {
		tokens[i] = o.token
	}
	q.orphanMu.Unlock()
	if len(tokens) == 0 {
		return
	}
	released := time.Now()
	err := q.do(ctx, "give back the jobs of unanswered leases", true, func(ctx context.Context) error {
		return q.readReclaim(q.pool.QueryRow(ctx, q.sql(releaseSQL), q.opts.CrashLimit, tokens, q.key, shard()))
	})
	if err != nil {
		q.log.Debug("postgres queue: jobs of unanswered leases not given back yet", "leases", len(tokens), "err", err)
		return
	}
	q.orphanMu.Lock()
	q.orphans = slices.DeleteFunc(q.orphans, func(o orphan) bool { return released.After(o.until) })
	q.orphanMu.Unlock()
}

// claim is one listener's share of a lease.
type claim struct {
	listener string
	n        int
	leaseMS  int64
}

// bucket is a rate-limited listener's token bucket after the refill.
type bucket struct {
	name   string
	tokens float64
	rate   engine.Rate
}

func (q *Queue) leaseOnce(ctx context.Context, token int64, max int, quota map[string]engine.Quota, plain, bounded []string) ([]engine.Lease, error) {
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	claims := make([]claim, 0, len(plain)+len(bounded))
	for _, name := range plain {
		claims = append(claims, claim{name, min(quota[name].Max, max), millis(quota[name].LeaseFor)})
	}
	var buckets []bucket
	var dbNow time.Time
	tx := len(bounded) > 0
	b := &pgx.Batch{}
	if tx {
		// The rows are locked, their counts read; claims follow in a
		// second round trip within the same transaction.
		more, bk, now, err := q.lockBounded(ctx, conn.Conn(), max, quota, bounded)
		if err != nil {
			conn.Conn().PgConn().Close(context.Background()) // leaves no transaction open
			return nil, err
		}
		claims, buckets, dbNow = append(claims, more...), bk, now
	} else {
		b.Queue(q.sql(reclaimSQL), q.reclaimArgs()...)
	}
	names, ns, leaseMS := make([]string, 0, len(claims)), make([]int32, 0, len(claims)), make([]int64, 0, len(claims))
	for _, c := range claims {
		if c.n > 0 {
			names, ns, leaseMS = append(names, c.listener), append(ns, int32(c.n)), append(leaseMS, c.leaseMS)
		}
	}
	tn, tt, tr, tp := make([]string, len(buckets)), make([]float64, len(buckets)), make([]int32, len(buckets)), make([]int64, len(buckets))
	for i, bk := range buckets {
		tn[i], tt[i], tr[i], tp[i] = bk.name, bk.tokens, int32(bk.rate.N), millis(bk.rate.Per)
	}
	b.Queue(q.sql(claimSQL), names, ns, leaseMS, max, q.key, shard(), tn, tt, tr, tp, pgtype.Timestamptz{Time: dbNow, Valid: tx}, token)
	b.Queue(q.sql(nextDueSQL), append(slices.Clone(plain), bounded...))
	if tx {
		b.Queue("COMMIT")
	}
	br := conn.SendBatch(ctx, b)
	leases, next, err := q.readClaims(br, !tx)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if tx {
			conn.Conn().PgConn().Close(context.Background())
		}
		return nil, err
	}
	q.nextDue.Store(next)
	if len(buckets) > 0 {
		for i := range buckets {
			for _, l := range leases {
				if l.Job.Listener == buckets[i].name {
					buckets[i].tokens--
				}
			}
		}
		q.setRateWake(buckets, dbNow)
	} else {
		q.rateWake.Store(0)
	}
	return leases, nil
}

// readClaims reads the results of leaseOnce's batch: the reclaim's (when
// it ran), the claimed jobs, then the next due time.
func (q *Queue) readClaims(br pgx.BatchResults, reclaimed bool) ([]engine.Lease, int64, error) {
	if reclaimed {
		if err := q.readReclaim(br.QueryRow()); err != nil {
			return nil, 0, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, err
	}
	var leases []engine.Lease
	for rows.Next() {
		var jr jobRow
		var er eventRow
		if err := rows.Scan(append(jr.dest(), er.dest()...)...); err != nil {
			rows.Close()
			return nil, 0, err
		}
		j, err := jr.job()
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		ev, err := er.event()
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		leases = append(leases, engine.Lease{Job: j, Event: ev})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next *time.Time
	if err := br.QueryRow().Scan(&next); err != nil {
		return nil, 0, err
	}
	if next == nil {
		return leases, 0, nil
	}
	return leases, next.UnixNano(), nil
}

// lockBounded begins the transaction of a lease with bounded listeners:
// it takes back expired leases, locks the listeners' rows (creating them
// if needed, in name order so lessees never deadlock), and counts their
// running jobs — in a statement that starts after the locks are held, so
// it sees every claim committed before. It returns each listener's claim
// and refilled token bucket, and the database's now.
func (q *Queue) lockBounded(ctx context.Context, conn *pgx.Conn, max int, quota map[string]engine.Quota, names []string) ([]claim, []bucket, time.Time, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(q.sql(reclaimSQL), q.reclaimArgs()...)
	b.Queue(q.sql(`INSERT INTO sb_.listeners (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`), names)
	b.Queue(q.sql(`SELECT name, paused_at IS NOT NULL, coalesce(tokens, -1), coalesce(tokens_at, now()),
		coalesce(rate_n, 0), coalesce(rate_per_ms, 0)
		FROM sb_.listeners WHERE name = ANY($1) ORDER BY name FOR UPDATE`), names)
	b.Queue(q.sql(`SELECT listener, count(*) FROM sb_.jobs WHERE state = 1 AND listener = ANY($1) GROUP BY listener`), names)
	// The buckets refill up to this moment, read after the locks are
	// held: a transaction that waited for them must not be credited
	// with the wait (now() is when it began).
	b.Queue(`SELECT clock_timestamp()`)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	type lrow struct {
		paused  bool
		tokens  float64
		at      time.Time
		rateN   int32
		ratePer int64
	}
	rowsOf := map[string]lrow{}
	var now time.Time
	if _, err := br.Exec(); err != nil {
		return nil, nil, now, err
	}
	if err := q.readReclaim(br.QueryRow()); err != nil {
		return nil, nil, now, err
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, now, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, now, err
	}
	var name string
	var r lrow
	_, err = pgx.ForEachRow(rows, []any{&name, &r.paused, &r.tokens, &r.at, &r.rateN, &r.ratePer}, func() error {
		rowsOf[name] = r
		return nil
	})
	if err != nil {
		return nil, nil, now, err
	}
	running := map[string]int{}
	rows, err = br.Query()
	if err != nil {
		return nil, nil, now, err
	}
	var n int64
	if _, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error { running[name] = int(n); return nil }); err != nil {
		return nil, nil, now, err
	}
	if err := br.QueryRow().Scan(&now); err != nil {
		return nil, nil, now, err
	}
	var claims []claim
	var buckets []bucket
	for _, name := range names {
		qu, r := quota[name], rowsOf[name]
		c := claim{listener: name, n: min(qu.Max, max), leaseMS: millis(qu.LeaseFor)}
		if r.paused {
			continue
		}
		if qu.Concurrency > 0 {
			c.n = min(c.n, qu.Concurrency-running[name])
		}
		if !qu.Rate.IsZero() {
			bk := bucket{name: name, rate: qu.Rate, tokens: float64(qu.Rate.N)}
			if r.tokens >= 0 && int(r.rateN) == qu.Rate.N && r.ratePer == millis(qu.Rate.Per) {
				refill := now.Sub(r.at).Seconds() / qu.Rate.Per.Seconds() * float64(qu.Rate.N)
				bk.tokens = math.Min(float64(qu.Rate.N), r.tokens+math.Max(refill, 0))
			}
			c.n = min(c.n, int(math.Floor(bk.tokens)))
			buckets = append(buckets, bk)
		}
		claims = append(claims, c)
	}
	return claims, buckets, now, nil
}

// setRateWake records when the emptiest bucket that may hold workers back
// gets its next token, so the workers look again then rather than at
// their idle poll.
func (q *Queue) setRateWake(buckets []bucket, now time.Time) {
	var wake time.Time
	for _, bk := range buckets {
		if bk.tokens >= 1 {
			continue
		}
		at := now.Add(time.Duration((1 - bk.tokens) / float64(bk.rate.N) * float64(bk.rate.Per)))
		if wake.IsZero() || at.Before(wake) {
			wake = at
		}
	}
	if wake.IsZero() {
		q.rateWake.Store(0)
	} else {
		q.rateWake.Store(time.Now().Add(wake.Sub(now)).UnixNano())
	}
}

// rememberLimits notes which listeners have a concurrency bound, so that
// finishing one of their jobs tells the other processes a slot is free.
func (q *Queue) rememberLimits(quota map[string]engine.Quota) {
	q.limitsMu.Lock()
	defer q.limitsMu.Unlock()
	for name, qu := range quota {
		if qu.Concurrency > 0 {
			q.limited[name] = true
		} else {
			delete(q.limited, name)
		}
	}
}

func (q *Queue) isLimited(listener string) bool {
	q.limitsMu.Lock()
	defer q.limitsMu.Unlock()
	return q.limited[listener]
}
