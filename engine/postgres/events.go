package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard/switchboard/engine"
)

// GetEvent returns an event and its jobs in creation order, or an error
// wrapping ErrNotFound.
func (q *Queue) GetEvent(ctx context.Context, id string) (*engine.Event, []engine.Job, error) {
	what := "get event " + id
	key, ok := parseID(eventPrefix, id)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	var ev *engine.Event
	var jobs []engine.Job
	err := q.do(ctx, what, true, func(ctx context.Context) error {
		b := &pgx.Batch{}
		b.Queue(q.sql(`SELECT `+eventCols+` FROM sb_.events e WHERE e.id = $1`), key)
		b.Queue(q.sql(`SELECT `+jobCols+` FROM sb_.jobs j WHERE j.event_id = $1 ORDER BY j.id`), key)
		br := q.pool.SendBatch(ctx, b)
		defer br.Close()
		var er eventRow
		if err := br.QueryRow().Scan(er.dest()...); errors.Is(err, pgx.ErrNoRows) {
			return engine.ErrNotFound
		} else if err != nil {
			return err
		}
		var err error
		if ev, err = er.event(); err != nil {
			return err
		}
		jobs, err = collectJobs(br.Query())
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ev, jobs, nil
}

// collectJobs scans rows of jobCols.
func collectJobs(rows pgx.Rows, err error) ([]engine.Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []engine.Job
	for rows.Next() {
		var r jobRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		j, err := r.job()
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// addJobsSQL adds jobs to an event the transaction holds a key-share
// lock on, so the pruner cannot delete it underneath them.
const addJobsSQL = `
WITH ev AS (SELECT id FROM sb_.events WHERE id = $1),
jb AS (
	INSERT INTO sb_.jobs (event_id, listener, state, max_tries, run_at, created_at, updated_at, order_key)
	SELECT ev.id, j.listener, 0, j.max_tries, coalesce(j.run_at, now()), now(), now(), nullif(j.order_key, '')
	FROM ev, unnest($2::text[], $3::int[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS j(listener, max_tries, run_at, order_key, k)
	ORDER BY j.k
	RETURNING id, listener
),
cnt AS (` + countsInsert + `
	SELECT listener, 0::smallint, $6::smallint, count(*) FROM jb GROUP BY listener ORDER BY 1` + countsConflict + `
)
SELECT id FROM jb ORDER BY id`

// AddJobs durably creates one pending job per NewJob for a stored event
// and returns their ids; max_depth does not apply. An unknown event
// wraps ErrNotFound.
func (q *Queue) AddJobs(ctx context.Context, eventID string, jobs []engine.NewJob) ([]string, error) {
	what := "add jobs to event " + eventID
	key, ok := parseID(eventPrefix, eventID)
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	news, err := cloneJobs(jobs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	lis, tries, keys := make([]string, len(news)), make([]int32, len(news)), make([]string, len(news))
	runs := make([]pgtype.Timestamptz, len(news))
	var due dueTracker
	for i, j := range news {
		lis[i], tries[i], keys[i] = j.Listener, int32(j.MaxTries), j.OrderKey
		runs[i] = pgtype.Timestamptz{Time: j.RunAt, Valid: !j.RunAt.IsZero()}
		due.add(j.RunAt)
	}
	var ids []string
	err = q.do(ctx, what, false, func(ctx context.Context) error {
		ids = ids[:0]
		return pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
			var one int
			err := tx.QueryRow(ctx, q.sql(`SELECT 1 FROM sb_.events WHERE id = $1 FOR KEY SHARE`), key).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return engine.ErrNotFound
			} else if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, q.sql(addJobsSQL), key, lis, tries, runs, keys, shard())
			if err != nil {
				return err
			}
			var id int64
			_, err = pgx.ForEachRow(rows, []any{&id}, func() error { ids = append(ids, formatID(jobPrefix, id)); return nil })
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		due.wake(q)
	}
	return ids, nil
}

// defaultScan is how many events a filtered listing examines per call
// when EventQuery.Scan is 0.
const defaultScan = 10000

// scanChunk is how many events one statement of a filtered listing reads.
const scanChunk = 500

// ListEvents returns one page of the events eq selects. Without a filter
// it reads the page by id. With one it examines at most eq.Scan events
// (default 10 000) in id windows: source and delivery id are compared by
// the database, the payload field here (fieldIs).
func (q *Queue) ListEvents(ctx context.Context, eq engine.EventQuery) (engine.EventPage, error) {
	limit := clampLimit(eq.Limit)
	after, ok := cursor(eventPrefix, eq.After)
	if !ok {
		return engine.EventPage{}, fmt.Errorf("list events: after %q is not an event id", eq.After)
	}
	if eq.Newest && eq.After == "" {
		after = 1<<63 - 1
	}
	filtered := eq.Source != "" || eq.DeliveryID != "" || eq.Field != ""
	scan := eq.Scan
	if scan <= 0 {
		scan = defaultScan
	}
	if !filtered {
		scan = limit + 1
	}
	var page engine.EventPage
	err := q.do(ctx, "list events", true, func(ctx context.Context) error {
		page = engine.EventPage{}
		cur, examined := after, 0
		for examined < scan {
			chunk := min(scanChunk, scan-examined)
			evs, last, n, err := q.eventWindow(ctx, eq, cur, chunk)
			if err != nil {
				return err
			}
			examined += n
			for _, ev := range evs {
				if eq.Field != "" && !engine.PayloadFieldIs(ev.Payload, eq.Field, eq.Value) {
					continue
				}
				if len(page.Events) == limit {
					page.Next = page.Events[limit-1].ID // one more matches
					return nil
				}
				page.Events = append(page.Events, *ev)
			}
			if n < chunk {
				return nil // the end of the events
			}
			cur = last
		}
		page.Next = formatID(eventPrefix, cur) // the scan bound was reached
		return nil
	})
	if err != nil {
		return engine.EventPage{}, err
	}
	return page, nil
}

// eventWindow reads the chunk events after cur (before it, newest
// first), keeping those that match eq's source and delivery id. It
// returns them, the last id of the window and how many it held.
func (q *Queue) eventWindow(ctx context.Context, eq engine.EventQuery, cur int64, chunk int) ([]*engine.Event, int64, int, error) {
	cmp, dir := ">", "ASC"
	if eq.Newest {
		cmp, dir = "<", "DESC"
	}
	window := `SELECT id FROM sb_.events WHERE id ` + cmp + ` $1 ORDER BY id ` + dir + ` LIMIT $2`
	b := &pgx.Batch{}
	b.Queue(q.sql(`SELECT count(*), coalesce(`+map[bool]string{false: "max", true: "min"}[eq.Newest]+`(id), 0) FROM (`+window+`) w`), cur, chunk)
	b.Queue(q.sql(`SELECT `+eventCols+` FROM sb_.events e WHERE e.id IN (`+window+`)
		AND ($3 = '' OR e.source = $3) AND ($4 = '' OR e.delivery_id = $4) ORDER BY e.id `+dir), cur, chunk, eq.Source, eq.DeliveryID)
	br := q.pool.SendBatch(ctx, b)
	defer br.Close()
	var n int
	var last int64
	if err := br.QueryRow().Scan(&n, &last); err != nil {
		return nil, 0, 0, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	var out []*engine.Event
	for rows.Next() {
		var r eventRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, 0, 0, err
		}
		ev, err := r.event()
		if err != nil {
			return nil, 0, 0, err
		}
		out = append(out, ev)
	}
	return out, last, n, rows.Err()
}

func clampLimit(n int) int { return engine.PageSize(n) }
