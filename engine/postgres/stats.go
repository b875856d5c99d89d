package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard/switchboard/engine"
)

// Stats describes the whole queue from counters kept in the same
// transactions as the jobs (the counts table: a few rows per listener
// and state, whatever the number of jobs), the oldest due job of each
// listener (one index probe each), the paused listeners and the size of
// the schema's tables. Enqueued, Finished and FailedTotal count this
// process's work since Open.
func (q *Queue) Stats(ctx context.Context) (engine.Stats, error) {
	var st engine.Stats
	err := q.do(ctx, "queue stats", true, func(ctx context.Context) error {
		st = engine.Stats{
			States:    map[engine.JobState]int{},
			Listeners: map[string]map[engine.JobState]int{},
			Enqueued:  q.enqueued.Load(), Finished: q.finished.Load(), FailedTotal: q.failedTotal.Load(),
		}
		b := &pgx.Batch{}
		b.Queue(q.sql(`SELECT listener, state, sum(n)::bigint FROM sb_.counts GROUP BY listener, state`))
		b.Queue(q.sql(`SELECT l.listener, x.run_at FROM
			(SELECT listener FROM sb_.counts WHERE state = 0 GROUP BY listener HAVING sum(n) > 0) l
			CROSS JOIN LATERAL (SELECT run_at FROM sb_.jobs WHERE state = 0 AND listener = l.listener AND run_at <= now()
				ORDER BY run_at LIMIT 1) x`))
		b.Queue(q.sql(`SELECT name, paused_at FROM sb_.listeners WHERE paused_at IS NOT NULL`))
		b.Queue(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, q.opts.Schema)
		br := q.pool.SendBatch(ctx, b)
		defer br.Close()
		if err := q.readCounts(br, &st); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var name string
		var at time.Time
		_, err = pgx.ForEachRow(rows, []any{&name, &at}, func() error {
			at = utc(at)
			if st.OldestDueBy == nil {
				st.OldestDueBy = map[string]time.Time{}
			}
			st.OldestDueBy[name] = at
			if st.OldestDue.IsZero() || at.Before(st.OldestDue) {
				st.OldestDue = at
			}
			return nil
		})
		if err != nil {
			return err
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&name, &at}, func() error {
			if st.Paused == nil {
				st.Paused = map[string]time.Time{}
			}
			st.Paused[name] = utc(at)
			return nil
		})
		if err != nil {
			return err
		}
		return br.QueryRow().Scan(&st.FileBytes)
	})
	return st, err
}

func (q *Queue) readCounts(br pgx.BatchResults, st *engine.Stats) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var listener string
	var state int16
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&listener, &state, &n}, func() error {
		if state == stateEvents {
			st.Events = int(n)
			return nil
		}
		if int(state) >= len(stateNames) || n == 0 {
			return nil
		}
		s := stateNames[state]
		st.States[s] += int(n)
		if st.Listeners[listener] == nil {
			st.Listeners[listener] = map[engine.JobState]int{}
		}
		st.Listeners[listener][s] = int(n)
		return nil
	})
	return err
}
