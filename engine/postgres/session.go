package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// channelName is the schema's NOTIFY channel; long schema names are
// hashed to stay within PostgreSQL's 63-byte identifiers.
func channelName(schema string) string {
	ch := "switchboard_ready_" + schema
	if len(ch) > 63 {
		sum := sha256.Sum256([]byte(schema))
		ch = "switchboard_ready_" + hex.EncodeToString(sum[:12])
	}
	return ch
}

// session is this process's own connection, outside the pool: it holds
// the advisory lock that tells the others this process is alive, and it
// LISTENs for the jobs they add.
type session struct {
	q    *Queue
	mu   sync.Mutex
	conn *pgx.Conn
	dead atomic.Bool // closed, or LISTEN does not reach us: poll, never reconnect
	// hold keeps a lost session from reconnecting while set (tests).
	hold atomic.Bool
}

// probeWait is how long Open waits for its own NOTIFY to come back
// before concluding that a pooler in transaction mode is in between.
const probeWait = 2 * time.Second

// open connects, takes the liveness lock and LISTENs. first (at Open)
// also checks that a notification comes back; if none does, the session
// is given up and the process polls every PollInterval instead, and
// only heartbeats tell the others it is alive.
func (s *session) open(ctx context.Context, first bool) error {
	q := s.q
	conn, err := pgx.ConnectConfig(ctx, q.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect the listen session: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, q.class, q.key).Scan(&locked); err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("take the process lock: %w", err)
	}
	if !locked {
		conn.Close(context.Background())
		return fmt.Errorf("take the process lock: key %d is held by another session", q.key)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{q.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", q.channel, err)
	}
	if first {
		ok, err := s.probe(ctx, conn)
		if err != nil {
			conn.Close(context.Background())
			return err
		}
		if !ok {
			q.log.Warn("notifications do not reach this process (a pooler in transaction mode?); polling instead, and liveness rests on heartbeats alone",
				"poll_interval", q.opts.PollInterval, "heartbeat_window", q.opts.HeartbeatWindow)
			conn.Close(context.Background())
			s.dead.Store(true)
			return nil
		}
		q.lockLive = true
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	q.listening.Store(true)
	return nil
}

// probe sends a notification to ourselves through the pool and waits for
// it on conn.
func (s *session) probe(ctx context.Context, conn *pgx.Conn) (bool, error) {
	q := s.q
	token := "probe:" + q.proc.ID
	if _, err := q.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, q.channel, token); err != nil {
		return false, fmt.Errorf("notify %s: %w", q.channel, err)
	}
	pctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(pctx)
		if err != nil {
			if pctx.Err() != nil && ctx.Err() == nil {
				return false, nil
			}
			return false, fmt.Errorf("wait for the probe notification: %w", err)
		}
		if n.Payload == token {
			return true, nil
		}
		q.onNotify(n.Payload)
	}
}

// loop waits for notifications; when the connection fails it polls
// (pollLoop) and reconnects with backoff, and wakes the workers once it
// is back, for what it may have missed.
func (s *session) loop(ctx context.Context) {
	q := s.q
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil && !s.dead.Load() {
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		if conn == nil {
			if s.hold.Load() {
				sleep(ctx, 10*time.Millisecond)
				continue
			}
			if err := s.open(ctx, false); err != nil {
				if ctx.Err() == nil {
					q.log.Debug("reconnect the listen session", "err", err, "retry_in", backoff)
				}
				sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			q.signal()
			continue
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			q.listening.Store(false)
			if ctx.Err() == nil {
				q.log.Warn("listen session lost; polling until it is back", "err", err)
			}
			s.drop()
			q.signal()
			continue
		}
		q.onNotify(n.Payload)
	}
}

func (s *session) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
}

// close drops the connection, releasing the liveness lock.
func (s *session) close() {
	s.dead.Store(true)
	s.drop()
}

// onNotify handles one notification: its payload is the earliest RunAt
// (unix ms) of the jobs the sender made claimable.
func (q *Queue) onNotify(payload string) {
	if ms, err := strconv.ParseInt(payload, 10, 64); err == nil {
		if at := ms * int64(time.Millisecond); at > time.Now().UnixNano() {
			lowerMin(&q.nextDue, at)
		}
	}
	q.signal()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
