package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// reclaimSQL takes back running jobs whose lease ended or (sweepSQL)
// whose process is dead (see aliveSQL), charging them as the contract
// says: an attempt that never started is given back, LastError untouched
// (no attempt ran), and a job so taken from a dead process becomes
// Suspect (its start may just not have been written); one that started
// counts, and is a crash (kind crash, Crashes + 1) when its process died
// or a lease overrun (kind lease) when the process lives. It fails a job
// whose tries are spent or whose crashes reach the limit ($1). It
// returns how many jobs went back to pending and how many failed. $2
// heartbeat window (ms), $3 lock class, $4 counts shard, $5 liveness
// grace (ms). Locked rows are skipped: a Finish racing the reclaim wins,
// and the next pass sees what is left.
var reclaimSQL = `
WITH alive AS (` + aliveSQLArgs + `),
exp AS (
	SELECT j.id, (j.owner IS NULL OR j.owner NOT IN (SELECT key FROM alive)) AS dead,
		j.started AND (j.attempt >= j.max_tries OR ((j.owner IS NULL OR j.owner NOT IN (SELECT key FROM alive)) AND j.crashes + 1 >= $1)) AS fail
	FROM sb_.jobs j WHERE j.state = 1 AND j.lease_until < now()
	ORDER BY j.lease_until LIMIT 1000 FOR UPDATE OF j SKIP LOCKED
),` + reclaimTail

// sweepSQL is reclaimSQL for every running job whose process is dead,
// lease ended or not.
var sweepSQL = strings.Replace(reclaimSQL, `WHERE j.state = 1 AND j.lease_until < now()`,
	`WHERE j.state = 1 AND (j.lease_until < now() OR j.owner IS NULL OR j.owner NOT IN (SELECT key FROM alive))`, 1)

// releaseSQL gives back, uncharged, the running jobs of lease statements
// whose answer never reached this process ($2: their tokens, $3: this
// process's key): committed, and unknown to any worker, so never
// started. Their attempt is given back as for any unstarted job; the
// rest of reclaimTail's parameters are $1 (crash limit) and $4 (shard).
var releaseSQL = `
WITH exp AS (
	SELECT j.id, false AS dead, false AS fail FROM sb_.jobs j
	WHERE j.state = 1 AND NOT j.started AND j.owner = $3 AND j.lease_token = ANY($2::bigint[])
	ORDER BY j.id FOR UPDATE OF j SKIP LOCKED
),` + reclaimTail

// aliveSQLArgs is aliveSQL with reclaimSQL's parameter numbers.
var aliveSQLArgs = strings.NewReplacer("$1", "$2", "$2", "$3", "$3", "$5").Replace(aliveSQL)

const reclaimTail = `
upd AS (
	UPDATE sb_.jobs j SET
		state = CASE WHEN f.fail THEN 3 ELSE 0 END,
		attempt = CASE WHEN j.started THEN j.attempt ELSE j.attempt - 1 END,
		crashes = j.crashes + CASE WHEN j.started AND f.dead THEN 1 ELSE 0 END,
		suspect = j.suspect OR (f.dead AND NOT j.started),
		run_at = CASE WHEN f.fail THEN j.run_at ELSE now() END,
		last_error = CASE
			WHEN NOT j.started THEN j.last_error
			WHEN f.dead THEN jsonb_build_object('attempt', j.attempt, 'at', now(), 'kind', 'crash',
				'message', CASE WHEN j.crashes + 1 >= $1 THEN format('crashed the process %s times', j.crashes + 1)
					ELSE 'the process stopped while the job was running' END)
			ELSE jsonb_build_object('attempt', j.attempt, 'at', now(), 'kind', 'lease',
				'message', format('lease expired at %s before the attempt finished',
					to_char(j.lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
		END,
		lease_until = NULL, owner = NULL, started = false, updated_at = now()
	FROM exp f WHERE j.id = f.id AND j.id = ANY(ARRAY(SELECT id FROM exp))
	RETURNING j.listener, j.state
),
cnt AS (` + countsInsert + `
	SELECT listener, state, $4::smallint, sum(d) FROM (
		SELECT listener, 1::smallint AS state, -1 AS d FROM upd
		UNION ALL SELECT listener, state, 1 FROM upd) x
	GROUP BY listener, state ORDER BY listener, state` + countsConflict + `
)
SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 3) FROM upd`

// readReclaim reads reclaimSQL's result and announces the jobs it made
// pending.
func (q *Queue) readReclaim(row pgx.Row) error {
	var pending, failed int64
	if err := row.Scan(&pending, &failed); err != nil {
		return err
	}
	q.failedTotal.Add(uint64(failed))
	if pending > 0 {
		q.wake(time.Now())
	}
	return nil
}

// reclaim takes back what it can now: expired leases, and with sweep the
// jobs of dead processes too.
func (q *Queue) reclaim(ctx context.Context, sweep bool) (int, error) {
	text := reclaimSQL
	if sweep {
		text = sweepSQL
	}
	var n int
	err := q.do(ctx, "take back expired leases", true, func(ctx context.Context) error {
		var pending, failed int64
		err := q.pool.QueryRow(ctx, q.sql(text), q.reclaimArgs()...).Scan(&pending, &failed)
		if err != nil {
			return err
		}
		n = int(pending + failed)
		q.failedTotal.Add(uint64(failed))
		if pending > 0 {
			q.wake(time.Now())
		}
		return nil
	})
	return n, err
}

// reclaimArgs are reclaimSQL's parameters.
func (q *Queue) reclaimArgs() []any {
	return []any{q.opts.CrashLimit, millis(q.opts.HeartbeatWindow), q.class, shard(), millis(2 * q.opts.HeartbeatInterval)}
}
