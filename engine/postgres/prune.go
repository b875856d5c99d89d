package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// pruneChunk bounds the rows one prune transaction deletes, so pruning a
// large backlog never holds locks for long.
const pruneChunk = 1000

// pruneStep is one kind of record the pruner deletes: sql deletes up to
// pruneChunk of them and returns how many; keep is the age bound passed
// as $1 (ms); zero skips the step.
type pruneStep struct {
	what string
	keep func(Options) time.Duration
	sql  string
}

var pruneSteps = []pruneStep{
	{"done jobs", func(o Options) time.Duration { return o.Retention }, `
WITH c AS (SELECT id FROM sb_.jobs WHERE state = 2 AND updated_at < now() - $1 * interval '1 millisecond'
	ORDER BY updated_at LIMIT 1000 FOR UPDATE SKIP LOCKED),
del AS (DELETE FROM sb_.jobs j WHERE j.id = ANY(ARRAY(SELECT id FROM c)) RETURNING j.listener),
cnt AS (` + countsInsert + `
	SELECT listener, 2::smallint, $2::smallint, -count(*) FROM del GROUP BY listener ORDER BY 1` + countsConflict + `)
SELECT count(*) FROM del`},
	{"dedupe records", func(o Options) time.Duration { return o.DedupeWindow }, `
WITH c AS (SELECT ctid FROM sb_.dedupe WHERE seen_at < now() - $1 * interval '1 millisecond'
	LIMIT 1000 FOR UPDATE SKIP LOCKED),
del AS (DELETE FROM sb_.dedupe d WHERE d.ctid = ANY(ARRAY(SELECT ctid FROM c)) RETURNING 1)
SELECT count(*) FROM del WHERE $2::smallint IS NOT NULL`},
	{"expired kv entries", func(Options) time.Duration { return time.Nanosecond }, `
WITH c AS (SELECT ctid FROM sb_.kv WHERE expires_at < now() AND $1::bigint IS NOT NULL
	ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED),
del AS (DELETE FROM sb_.kv k WHERE k.ctid = ANY(ARRAY(SELECT ctid FROM c)) RETURNING 1)
SELECT count(*) FROM del WHERE $2::smallint IS NOT NULL`},
	{"history samples", func(o Options) time.Duration { return o.HistoryRetention }, `
WITH c AS (SELECT ctid FROM sb_.samples WHERE minute < now() - $1 * interval '1 millisecond'
	ORDER BY minute LIMIT 1000 FOR UPDATE SKIP LOCKED),
del AS (DELETE FROM sb_.samples s WHERE s.ctid = ANY(ARRAY(SELECT ctid FROM c)) RETURNING 1)
SELECT count(*) FROM del WHERE $2::smallint IS NOT NULL`},
	{"audit entries", func(o Options) time.Duration { return o.HistoryRetention }, `
WITH c AS (SELECT id FROM sb_.audit WHERE at < now() - $1 * interval '1 millisecond'
	ORDER BY at LIMIT 1000 FOR UPDATE SKIP LOCKED),
del AS (DELETE FROM sb_.audit a WHERE a.id = ANY(ARRAY(SELECT id FROM c)) RETURNING 1)
SELECT count(*) FROM del WHERE $2::smallint IS NOT NULL`},
	{"old process records", func(o Options) time.Duration { return max(time.Hour, 10*o.HeartbeatWindow) }, `
WITH del AS (DELETE FROM sb_.processes WHERE seen < now() - $1 * interval '1 millisecond' RETURNING 1)
SELECT count(*) FROM del WHERE $2::smallint IS NOT NULL`},
}

// Prune deletes what retention, the dedupe window, kv expiry and history
// retention allow, now, in transactions of at most pruneChunk rows, each
// holding the schema's prune lock (waiting for it if another process is
// pruning). It returns how many records it deleted.
func (q *Queue) Prune(ctx context.Context) (int, error) {
	return q.prune(ctx, true)
}

// prune runs every step; wait says whether to wait for the prune lock
// or to give up this round when another process holds it.
func (q *Queue) prune(ctx context.Context, wait bool) (int, error) {
	total := 0
	for _, st := range pruneSteps {
		keep := st.keep(q.opts)
		if keep <= 0 {
			continue
		}
		for {
			n, got, err := q.pruneBatch(ctx, wait, st.sql, millis(max(keep, time.Millisecond)))
			total += n
			if err != nil {
				return total, fmt.Errorf("prune %s: %w", st.what, err)
			}
			if !got {
				return total, nil // another process is pruning
			}
			if n < pruneChunk {
				break
			}
		}
	}
	n, err := q.pruneEvents(ctx, wait)
	return total + n, err
}

// pruneBatch runs one prune statement in a transaction holding the
// prune lock; got is false when wait is false and the lock was taken.
func (q *Queue) pruneBatch(ctx context.Context, wait bool, text string, keepMS int64) (n int, got bool, err error) {
	err = q.do(ctx, "prune", true, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
			if got, err = q.pruneLock(ctx, tx, wait); err != nil || !got {
				return err
			}
			var c int64
			err := tx.QueryRow(ctx, q.sql(text), keepMS, shard()).Scan(&c)
			n = int(c)
			return err
		})
	})
	return n, got, err
}

func (q *Queue) pruneLock(ctx context.Context, tx pgx.Tx, wait bool) (bool, error) {
	if wait {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, q.class, lockPrune)
		return err == nil, err
	}
	var got bool
	err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, q.class, lockPrune).Scan(&got)
	return got, err
}

// pruneEvents deletes events stored more than Retention ago that have
// no jobs left. Candidates are locked first, then checked for jobs in a
// second statement whose snapshot follows the locks: AddJobs takes a
// key-share lock on the event before adding to it, so either it added
// its jobs before (and the event stays) or it finds the event gone.
func (q *Queue) pruneEvents(ctx context.Context, wait bool) (int, error) {
	if q.opts.Retention <= 0 {
		return 0, nil
	}
	total := 0
	var after int64
	for {
		var n, seen int
		var got bool
		err := q.do(ctx, "prune events", true, func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
				var err error
				if got, err = q.pruneLock(ctx, tx, wait); err != nil || !got {
					return err
				}
				rows, err := tx.Query(ctx, q.sql(`SELECT e.id FROM sb_.events e
					WHERE e.id > $1 AND e.created_at < now() - $2 * interval '1 millisecond'
					AND NOT EXISTS (SELECT 1 FROM sb_.jobs j WHERE j.event_id = e.id)
					ORDER BY e.id LIMIT 1000 FOR UPDATE SKIP LOCKED`), after, millis(q.opts.Retention))
				if err != nil {
					return err
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				if err != nil || len(ids) == 0 {
					seen = 0
					return err
				}
				seen, after = len(ids), ids[len(ids)-1]
				var c int64
				err = tx.QueryRow(ctx, q.sql(`WITH del AS (DELETE FROM sb_.events e WHERE e.id = ANY($1)
					AND NOT EXISTS (SELECT 1 FROM sb_.jobs j WHERE j.event_id = e.id) RETURNING 1),
					cnt AS (`+countsInsert+` SELECT '', 4::smallint, $2::smallint, -count(*) FROM del HAVING count(*) > 0`+countsConflict+`)
					SELECT count(*) FROM del`), ids, shard()).Scan(&c)
				n = int(c)
				return err
			})
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		if !got || seen < pruneChunk {
			return total, nil
		}
	}
}

// pruneLoop prunes every PruneInterval in whichever process gets the
// prune lock first; the others skip that round.
func (q *Queue) pruneLoop(ctx context.Context) {
	t := time.NewTicker(q.opts.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := q.prune(ctx, false); err != nil && ctx.Err() == nil {
			q.log.Warn("prune queue", "err", err)
		} else if n > 0 {
			q.log.Debug("pruned queue", "deleted", n)
		}
	}
}
