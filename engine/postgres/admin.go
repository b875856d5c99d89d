package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard/switchboard/engine"
)

// ListJobs returns the jobs jq selects, in id order (newest first with
// jq.Newest).
func (q *Queue) ListJobs(ctx context.Context, jq engine.JobQuery) ([]engine.Job, error) {
	where, args := []string{"true"}, []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if jq.State != "" {
		code, ok := stateCode(jq.State)
		if !ok {
			return nil, fmt.Errorf("list jobs: unknown state %q", jq.State)
		}
		where = append(where, "j.state = "+arg(code))
	}
	if jq.Listener != "" {
		where = append(where, "j.listener = "+arg(jq.Listener))
	}
	if jq.EventID != "" {
		id, ok := parseID(eventPrefix, jq.EventID)
		if !ok {
			return nil, nil
		}
		where = append(where, "j.event_id = "+arg(id))
	}
	if jq.ErrorContains != "" {
		where = append(where, "strpos(lower(j.last_error->>'message'), lower("+arg(jq.ErrorContains)+")) > 0")
	}
	dir := "ASC"
	if jq.Newest {
		dir = "DESC"
	}
	if jq.After != "" {
		id, ok := parseID(jobPrefix, jq.After)
		if !ok {
			return nil, fmt.Errorf("list jobs: after %q is not a job id", jq.After)
		}
		cmp := ">"
		if jq.Newest {
			cmp = "<"
		}
		where = append(where, "j.id "+cmp+" "+arg(id))
	}
	text := `SELECT ` + jobCols + ` FROM sb_.jobs j WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY j.id ` + dir + ` LIMIT ` + arg(clampLimit(jq.Limit))
	var out []engine.Job
	err := q.do(ctx, "list jobs", true, func(ctx context.Context) error {
		var err error
		out, err = collectJobs(q.pool.Query(ctx, q.sql(text), args...))
		return err
	})
	return out, err
}

// GetJob returns one job, or an error wrapping ErrNotFound.
func (q *Queue) GetJob(ctx context.Context, id string) (*engine.Job, error) {
	what := "get job " + id
	key, ok := parseID(jobPrefix, id)
	if !ok {
		return nil, fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	var j engine.Job
	err := q.do(ctx, what, true, func(ctx context.Context) error {
		var r jobRow
		err := q.pool.QueryRow(ctx, q.sql(`SELECT `+jobCols+` FROM sb_.jobs j WHERE j.id = $1`), key).Scan(r.dest()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		j, err = r.job()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// failedSQL selects, locked, up to 1000 failed jobs matching $1 (listener,
// ” = any) and $2 (error text, ” = any); $3 restricts to one id (0 =
// any). retrySQL and forgetSQL act on them.
const failedSQL = `
WITH c AS (
	SELECT j.id FROM sb_.jobs j WHERE j.state = 3
	AND ($1 = '' OR j.listener = $1)
	AND ($2 = '' OR strpos(lower(j.last_error->>'message'), lower($2)) > 0)
	AND ($3::bigint = 0 OR j.id = $3::bigint)
	ORDER BY j.id LIMIT 1000 FOR UPDATE SKIP LOCKED
),`

const retrySQL = failedSQL + `
upd AS (
	UPDATE sb_.jobs j SET state = 0, attempt = 0, crashes = 0, run_at = now(), updated_at = now()
	FROM c WHERE j.id = c.id AND j.id = ANY(ARRAY(SELECT id FROM c)) RETURNING j.listener
),
cnt AS (` + countsInsert + `
	SELECT listener, state, $4::smallint, sum(d) FROM (
		SELECT listener, 3::smallint AS state, -1 AS d FROM upd
		UNION ALL SELECT listener, 0::smallint, 1 FROM upd) x
	GROUP BY listener, state ORDER BY listener, state` + countsConflict + `
)
SELECT count(*) FROM upd`

const forgetSQL = failedSQL + `
del AS (DELETE FROM sb_.jobs j WHERE j.id = ANY(ARRAY(SELECT id FROM c)) RETURNING j.listener),
cnt AS (` + countsInsert + `
	SELECT listener, 3::smallint, $4::smallint, -count(*) FROM del GROUP BY listener ORDER BY 1` + countsConflict + `
)
SELECT count(*) FROM del`

// RetryJob makes a failed job pending again, due now, with fresh tries.
// A job that has not failed wraps ErrConflict; an unknown one ErrNotFound.
func (q *Queue) RetryJob(ctx context.Context, id string) error {
	return q.oneFailed(ctx, "retry job "+id, retrySQL, id)
}

// ForgetJob deletes a failed job; errors as RetryJob.
func (q *Queue) ForgetJob(ctx context.Context, id string) error {
	return q.oneFailed(ctx, "forget job "+id, forgetSQL, id)
}

func (q *Queue) oneFailed(ctx context.Context, what, text, id string) error {
	key, ok := parseID(jobPrefix, id)
	if !ok {
		return fmt.Errorf("%s: %w", what, engine.ErrNotFound)
	}
	n, err := q.eachFailed(ctx, what, text, "", "", key)
	if err != nil || n == 1 {
		return err
	}
	j, err := q.GetJob(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: job has not failed: it is %s", what, engine.ErrConflict, j.State)
}

// RetryFailed retries every failed job f selects, 1000 per transaction,
// and returns how many.
func (q *Queue) RetryFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	return q.eachFailed(ctx, "retry failed jobs", retrySQL, f.Listener, f.ErrorContains, 0)
}

// FlushFailed deletes every failed job f selects, 1000 per transaction,
// and returns how many.
func (q *Queue) FlushFailed(ctx context.Context, f engine.JobFilter) (int, error) {
	return q.eachFailed(ctx, "flush failed jobs", forgetSQL, f.Listener, f.ErrorContains, 0)
}

func (q *Queue) eachFailed(ctx context.Context, what, text, listener, contains string, id int64) (int, error) {
	total := 0
	defer func() {
		if total > 0 && text == retrySQL {
			q.wake(time.Time{})
		}
	}()
	for {
		var n int64
		err := q.do(ctx, what, true, func(ctx context.Context) error {
			return q.pool.QueryRow(ctx, q.sql(text), listener, contains, id, shard()).Scan(&n)
		})
		total += int(n)
		if err != nil {
			return total, err
		}
		if n == 0 || id != 0 {
			return total, nil
		}
	}
}

// SetPaused pauses or resumes a listener for every process, durably.
func (q *Queue) SetPaused(ctx context.Context, listener string, paused bool) error {
	what := "resume listener " + listener
	if paused {
		what = "pause listener " + listener
	}
	err := q.do(ctx, what, true, func(ctx context.Context) error {
		_, err := q.pool.Exec(ctx, q.sql(`INSERT INTO sb_.listeners AS l (name, paused_at)
			VALUES ($1, CASE WHEN $2 THEN now() END)
			ON CONFLICT (name) DO UPDATE SET paused_at = CASE WHEN $2 THEN coalesce(l.paused_at, now()) END`),
			cleanText(listener), paused)
		return err
	})
	if err == nil && !paused {
		q.wake(time.Time{})
	}
	return err
}
