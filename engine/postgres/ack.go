package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard/switchboard/engine"
)

// ackOp is one Start or Finish waiting for its batch.
type ackOp struct {
	op
	start   bool
	id      int64
	attempt int32
	res     engine.Result // Finish
	// What Finish writes, worked out before the batch.
	state    int16
	runAt    pgtype.Timestamptz
	giveBack int32
	errJSON  string
	setErr   bool
	attJSON  string
}

// Start records that a leased job's attempt has begun (see
// engine.Leaser). Starts and finishes arriving together share one
// statement and one COMMIT.
func (q *Queue) Start(ctx context.Context, jobID string, attempt int) error {
	what := fmt.Sprintf("start job %s attempt %d", jobID, attempt)
	if err := q.checkOpen(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	id, ok := parseID(jobPrefix, jobID)
	if !ok {
		return fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	o := &ackOp{op: newOp(ctx), start: true, id: id, attempt: int32(attempt)}
	if err := q.ack(id).submit(ctx, o); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Finish records an attempt's result (see engine.Outcome), fenced by
// res.Attempt, and appends the attempt to the job's Attempts unless it
// was Returned.
func (q *Queue) Finish(ctx context.Context, res engine.Result) error {
	what := fmt.Sprintf("finish job %s attempt %d", res.JobID, res.Attempt)
	if err := q.checkOpen(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	id, ok := parseID(jobPrefix, res.JobID)
	if !ok {
		return fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	o := &ackOp{op: newOp(ctx), id: id, attempt: int32(res.Attempt), res: res}
	if err := o.plan(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := q.ack(id).submit(ctx, o); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// plan works out what Finish writes for the outcome.
func (o *ackOp) plan() error {
	res := o.res
	o.runAt = pgtype.Timestamptz{Time: utc(res.RunAt), Valid: !res.RunAt.IsZero()}
	switch res.Outcome {
	case engine.Succeeded:
		o.state = stateDone
	case engine.Retry:
		o.state, o.setErr = statePending, res.Err != nil
	case engine.Failed:
		o.state, o.setErr = stateFailed, res.Err != nil
	case engine.Snoozed, engine.Returned:
		o.state, o.giveBack = statePending, 1
	case engine.Interrupted:
		o.state, o.giveBack, o.setErr = statePending, 1, res.Err != nil
	default:
		return fmt.Errorf("unknown outcome %d", res.Outcome)
	}
	var err error
	if o.setErr {
		if o.errJSON, err = jobErrorJSON(res.Err); err != nil {
			return fmt.Errorf("encode error: %w", err)
		}
	}
	if res.Outcome != engine.Returned {
		a := engine.Attempt{N: res.Attempt, StartedAt: utc(res.StartedAt), Duration: res.Duration, Outcome: res.Outcome}
		if res.Err != nil {
			e := *res.Err
			e.Message, e.Stack, e.At = cleanText(e.Message), cleanText(e.Stack), utc(e.At)
			a.Error = &e
		}
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode attempt: %w", err)
		}
		o.attJSON = string(b)
	}
	return nil
}

const startSQL = `UPDATE sb_.jobs j SET started = true, suspect = false
	FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)
	WHERE j.id = u.id AND j.id = ANY($1) AND j.state = 1 AND j.attempt = u.attempt RETURNING j.id`

// finishSQL applies a batch of outcomes to the jobs still running under
// the attempt each names, and returns those it applied.
const finishSQL = `
WITH u AS (
	SELECT * FROM unnest($1::bigint[], $2::int[], $3::smallint[], $4::timestamptz[], $5::int[], $6::text[], $7::bool[], $8::text[])
		AS u(id, attempt, state, run_at, give_back, err, set_err, att)
),
upd AS (
	UPDATE sb_.jobs j SET state = u.state,
		run_at = CASE WHEN u.state = 0 THEN coalesce(u.run_at, now()) ELSE j.run_at END,
		attempt = j.attempt - u.give_back,
		last_error = CASE WHEN u.state = 2 THEN NULL WHEN u.set_err THEN nullif(u.err, '')::jsonb ELSE j.last_error END,
		attempts = CASE WHEN u.att = '' THEN j.attempts
			ELSE sb_.keep_last(coalesce(j.attempts, '[]'::jsonb) || jsonb_build_array(u.att::jsonb), $9) END,
		suspect = j.suspect AND NOT j.started,
		lease_until = NULL, owner = NULL, started = false, updated_at = now()
	FROM u WHERE j.id = u.id AND j.id = ANY($1) AND j.state = 1 AND j.attempt = u.attempt
	RETURNING j.id, j.listener, j.state, j.run_at, j.order_key IS NOT NULL AS ordered
),
cnt AS (` + countsInsert + `
	SELECT listener, state, $10::smallint, sum(d) FROM (
		SELECT listener, 1::smallint AS state, -1 AS d FROM upd
		UNION ALL SELECT listener, state, 1 FROM upd) x
	GROUP BY listener, state HAVING sum(d) <> 0 ORDER BY listener, state` + countsConflict + `
)
SELECT id, listener, state, run_at, ordered FROM upd`

// runAcks writes one batch of starts and finishes. A job named twice in
// a batch (a retried call) has its later op written in the next round.
func (q *Queue) runAcks(ops []*ackOp) {
	for len(ops) > 0 {
		seen := map[[2]any]bool{}
		var now, later []*ackOp
		for _, o := range ops {
			k := [2]any{o.start, o.id}
			if seen[k] {
				later = append(later, o)
				continue
			}
			seen[k] = true
			now = append(now, o)
		}
		err := q.ackBatch(now)
		if err != nil && len(now) > 1 && classify(err) == errPermanent {
			for _, o := range now {
				if err := q.ackBatch([]*ackOp{o}); err != nil {
					o.err = err
				}
			}
		} else if err != nil {
			for _, o := range now {
				o.err = err
			}
		}
		for _, o := range now {
			o.finish(o.err)
		}
		ops = later
	}
}

// ackBatch writes ops (each job at most once per kind) in one implicit
// transaction and sets each op's fencing error. A Start whose Finish (of
// the same attempt) is in the batch is not written: the Finish ends the
// attempt in the same commit, and the Start succeeds if it does.
func (q *Queue) ackBatch(ops []*ackOp) error {
	var starts, fins []*ackOp
	finishing := map[[2]int64]bool{}
	for _, o := range ops {
		if !o.start {
			finishing[[2]int64{o.id, int64(o.attempt)}] = true
		}
	}
	var folded []*ackOp
	for _, o := range ops {
		o.err = nil
		switch {
		case !o.start:
			fins = append(fins, o)
		case finishing[[2]int64{o.id, int64(o.attempt)}]:
			folded = append(folded, o)
		default:
			starts = append(starts, o)
		}
	}
	// One lock order for every statement: by job id.
	slices.SortFunc(starts, func(a, b *ackOp) int { return cmp.Compare(a.id, b.id) })
	slices.SortFunc(fins, func(a, b *ackOp) int { return cmp.Compare(a.id, b.id) })
	applied := map[*ackOp]bool{}
	var rows []finRow
	err := q.do(context.Background(), "record job attempts", true, func(ctx context.Context) error {
		clear(applied)
		rows = rows[:0]
		b := &pgx.Batch{}
		if len(starts) > 0 {
			ids, atts := ackIDs(starts)
			b.Queue(q.sql(startSQL), ids, atts)
		}
		if len(fins) > 0 {
			b.Queue(q.sql(finishSQL), finishArgs(fins)...)
		}
		br := q.pool.SendBatch(ctx, b)
		defer br.Close()
		if len(starts) > 0 {
			got, err := readIDs(br)
			if err != nil {
				return err
			}
			for _, o := range starts {
				applied[o] = got[o.id]
			}
		}
		if len(fins) > 0 {
			var err error
			if rows, err = readFinished(br); err != nil {
				return err
			}
			got := map[int64]bool{}
			for _, r := range rows {
				got[r.id] = true
			}
			for _, o := range fins {
				applied[o] = got[o.id]
			}
		}
		return br.Close()
	})
	if err != nil {
		return err
	}
	for _, o := range folded {
		applied[o] = applied[finOf(fins, o)]
	}
	q.afterFinish(fins, rows)
	var lost []*ackOp
	for _, o := range ops {
		if !applied[o] {
			lost = append(lost, o)
		}
	}
	if len(lost) > 0 {
		return q.explainLost(lost)
	}
	return nil
}

// finOf returns the Finish in fins of start's job and attempt.
func finOf(fins []*ackOp, start *ackOp) *ackOp {
	i, ok := slices.BinarySearchFunc(fins, start.id, func(f *ackOp, id int64) int { return cmp.Compare(f.id, id) })
	if ok && fins[i].attempt == start.attempt {
		return fins[i]
	}
	return nil
}

func ackIDs(ops []*ackOp) ([]int64, []int32) {
	ids, atts := make([]int64, len(ops)), make([]int32, len(ops))
	for i, o := range ops {
		ids[i], atts[i] = o.id, o.attempt
	}
	return ids, atts
}

func finishArgs(ops []*ackOp) []any {
	n := len(ops)
	ids, atts, states := make([]int64, n), make([]int32, n), make([]int16, n)
	runs, gives, errs := make([]pgtype.Timestamptz, n), make([]int32, n), make([]string, n)
	setErrs, attJSON := make([]bool, n), make([]string, n)
	for i, o := range ops {
		ids[i], atts[i], states[i], runs[i], gives[i] = o.id, o.attempt, o.state, o.runAt, o.giveBack
		errs[i], setErrs[i], attJSON[i] = o.errJSON, o.setErr, o.attJSON
	}
	return []any{ids, atts, states, runs, gives, errs, setErrs, attJSON, int32(engine.MaxAttemptsKept), shard()}
}

func readIDs(br pgx.BatchResults) (map[int64]bool, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	got := map[int64]bool{}
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { got[id] = true; return nil })
	return got, err
}

// finRow is one job a Finish changed.
type finRow struct {
	id       int64
	listener string
	state    int16
	runAt    time.Time
	ordered  bool
}

func readFinished(br pgx.BatchResults) ([]finRow, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var out []finRow
	var r finRow
	_, err = pgx.ForEachRow(rows, []any{&r.id, &r.listener, &r.state, &r.runAt, &r.ordered}, func() error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// afterFinish counts what finished and announces what became claimable:
// retried and snoozed jobs at their RunAt, and, at once, the next job of
// an ordering key or a free slot of a listener with a concurrency bound.
func (q *Queue) afterFinish(fins []*ackOp, rows []finRow) {
	var due dueTracker
	for _, r := range rows {
		switch r.state {
		case stateDone:
			q.finished.Add(1)
		case stateFailed:
			q.failedTotal.Add(1)
		case statePending:
			due.add(r.runAt)
		}
		if r.ordered || q.isLimited(r.listener) {
			due.add(time.Time{})
		}
	}
	due.wake(q)
}

// explainLost sets, on ops whose fence failed, whether the job is gone
// or held by another attempt.
func (q *Queue) explainLost(ops []*ackOp) error {
	ids := make([]int64, len(ops))
	for i, o := range ops {
		ids[i] = o.id
	}
	type cur struct {
		state   int16
		attempt int32
	}
	found := map[int64]cur{}
	err := q.do(context.Background(), "look up jobs whose lease was lost", true, func(ctx context.Context) error {
		rows, err := q.pool.Query(ctx, q.sql(`SELECT id, state, attempt FROM sb_.jobs WHERE id = ANY($1)`), ids)
		if err != nil {
			return err
		}
		var id int64
		var c cur
		_, err = pgx.ForEachRow(rows, []any{&id, &c.state, &c.attempt}, func() error { found[id] = c; return nil })
		return err
	})
	for _, o := range ops {
		c, ok := found[o.id]
		switch {
		case err != nil:
			o.err = fmt.Errorf("%w (then: %w)", engine.ErrLeaseLost, err)
		case !ok:
			o.err = engine.ErrNotFound
		default:
			o.err = fmt.Errorf("%w: job is %s at attempt %d", engine.ErrLeaseLost, stateNames[c.state], c.attempt)
		}
	}
	return nil
}
