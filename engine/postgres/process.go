package postgres

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// aliveSQL selects the keys of the live processes: a heartbeat within
// the window, and, for a process that holds a liveness lock, either that
// lock still held by its session or a heartbeat within the grace (two
// heartbeat intervals). A process killed outright loses its session, and
// with it the lock, at once, so it is known dead a grace after its last
// heartbeat rather than a window; one that lost only its session goes on
// beating and stays alive; one cut off from the database is dead once
// the window passes. Right after the server itself restarted every
// session is new, so for a window's length only heartbeats count.
// Parameters: $1 window (ms), $2 lock class, $3 grace (ms).
const aliveSQL = `SELECT p.key FROM sb_.processes p
	WHERE p.seen > now() - $1 * interval '1 millisecond'
	AND (NOT p.locked
		OR p.seen > now() - $3 * interval '1 millisecond'
		OR pg_postmaster_start_time() > now() - $1 * interval '1 millisecond'
		OR EXISTS (SELECT 1 FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $2::int::oid AND l.objid = p.key::oid))`

// aliveArgs are aliveSQL's parameters.
func (q *Queue) aliveArgs() []any {
	return []any{millis(q.opts.HeartbeatWindow), q.class, millis(2 * q.opts.HeartbeatInterval)}
}

// register takes a process key, opens the LISTEN session (which holds
// the liveness lock) and records the process.
func (q *Queue) register(ctx context.Context) error {
	if err := q.pool.QueryRow(ctx, q.sql(`SELECT nextval('sb_.processes_key_seq')::int`)).Scan(&q.key); err != nil {
		return fmt.Errorf("allocate a process key: %w", err)
	}
	host, _ := os.Hostname()
	q.proc = engine.Process{ID: newProcessID(host), Host: host, PID: os.Getpid()}
	q.session = &session{q: q}
	if err := q.session.open(ctx, true); err != nil {
		return err
	}
	err := q.pool.QueryRow(ctx, q.sql(`INSERT INTO sb_.processes (key, id, host, pid, started, seen, locked)
		VALUES ($1, $2, $3, $4, now(), now(), $5) RETURNING started`),
		q.key, q.proc.ID, cleanText(host), q.proc.PID, q.lockLive).Scan(&q.proc.Started)
	if err != nil {
		return fmt.Errorf("register process: %w", err)
	}
	q.proc.Started = utc(q.proc.Started)
	return nil
}

// beat records a heartbeat; a row pruned while this process was cut off
// is written again.
func (q *Queue) beat(ctx context.Context) error {
	tag, err := q.pool.Exec(ctx, q.sql(`UPDATE sb_.processes SET seen = now() WHERE key = $1`), q.key)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	_, err = q.pool.Exec(ctx, q.sql(`INSERT INTO sb_.processes (key, id, host, pid, started, seen, locked)
		VALUES ($1, $2, $3, $4, $5, now(), $6) ON CONFLICT (key) DO UPDATE SET seen = now()`),
		q.key, q.proc.ID, cleanText(q.proc.Host), q.proc.PID, q.proc.Started, q.lockLive)
	return err
}

// heartbeatLoop beats every HeartbeatInterval and takes back the jobs of
// processes found dead.
func (q *Queue) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(q.opts.HeartbeatInterval)
	defer t.Stop()
	var lastErr time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := q.do(ctx, "heartbeat", true, q.beat)
		if err == nil {
			_, err = q.reclaim(ctx, true)
		}
		if err != nil && ctx.Err() == nil && time.Since(lastErr) > 10*time.Second {
			q.log.Warn("postgres queue heartbeat", "err", err)
			lastErr = time.Now()
		}
	}
}

// Processes lists the live processes (see aliveSQL): a process killed
// outright disappears two heartbeat intervals after its last heartbeat,
// one cut off from the database after HeartbeatWindow.
func (q *Queue) Processes(ctx context.Context) ([]engine.Process, error) {
	var out []engine.Process
	err := q.do(ctx, "list processes", true, func(ctx context.Context) error {
		out = out[:0]
		rows, err := q.pool.Query(ctx, q.sql(`SELECT id, host, pid, started, seen FROM sb_.processes
			WHERE key IN (`+aliveSQL+`) ORDER BY started, id`), q.aliveArgs()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p engine.Process
			var pid int32
			if err := rows.Scan(&p.ID, &p.Host, &pid, &p.Started, &p.Seen); err != nil {
				return err
			}
			p.PID, p.Started, p.Seen = int(pid), utc(p.Started), utc(p.Seen)
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// Ready receives a value (coalesced) when jobs may have become claimable
// anywhere: after this process's own writes at once, after other
// processes' through NOTIFY, and every PollInterval while NOTIFY does not
// reach this process.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

func (q *Queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// NextDue is the earliest future RunAt this process knows of (from its
// last lease, its own writes and other processes' notifications), or
// when a rate-limited listener next gets a token, whichever is sooner.
func (q *Queue) NextDue() time.Time {
	a, b := q.nextDue.Load(), q.rateWake.Load()
	if a == 0 || (b != 0 && b < a) {
		a = b
	}
	if a == 0 {
		return time.Time{}
	}
	return time.Unix(0, a)
}

// lowerMin stores at in v if it is earlier than what v holds.
func lowerMin(v interface {
	Load() int64
	CompareAndSwap(old, new int64) bool
}, at int64) {
	for {
		cur := v.Load()
		if cur != 0 && cur <= at {
			return
		}
		if v.CompareAndSwap(cur, at) {
			return
		}
	}
}

// wake announces that jobs become claimable at at (zero: now): to this
// process's workers at once, to the others through NOTIFY.
func (q *Queue) wake(at time.Time) {
	now := time.Now()
	if at.IsZero() || at.Before(now) {
		at = now
	}
	if at.After(now) {
		lowerMin(&q.nextDue, at.UnixNano())
	}
	q.signal()
	lowerMin(&q.notifyAt, at.UnixNano())
	select {
	case q.notifyCh <- struct{}{}:
	default:
	}
}

// notifyGap spaces this process's NOTIFYs: everything announced within
// it goes out as one, so a busy process wakes the others' dispatchers a
// few hundred times a second at most, not once per commit.
const notifyGap = 3 * time.Millisecond

func (q *Queue) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.notifyCh:
		}
		at := q.notifyAt.Swap(0)
		if at == 0 {
			continue
		}
		payload := fmt.Sprintf("%d", at/int64(time.Millisecond))
		if _, err := q.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, q.channel, payload); err != nil && ctx.Err() == nil {
			q.log.Debug("notify other processes", "err", err) // they poll meanwhile
		}
		t := time.NewTimer(notifyGap)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// pollLoop stands in for NOTIFY while it does not reach this process.
func (q *Queue) pollLoop(ctx context.Context) {
	t := time.NewTicker(q.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !q.listening.Load() {
				q.signal()
			}
		}
	}
}
