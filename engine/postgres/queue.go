package postgres

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard/switchboard/engine"
)

var _ engine.Queue = (*Queue)(nil)

// enqueueCommitters is how many enqueue batches one process has in
// flight: while one commits, the next collects and is written (they
// touch different rows, and dedupe records in one order). Starts and
// finishes go to ackPartitions committers by job id, so that a job's
// Start and Finish always share one: two committers taking the same
// job's row (one its Start, the other its Finish) could deadlock.
var enqueueCommitters, ackPartitions = 2, 2

// defaultMaxConns is the pool size when the DSN sets no pool_max_conns:
// enough for the committers, the dispatcher and the admin console.
const defaultMaxConns = 10

// Queue is the PostgreSQL queue: every process that opens the same
// schema shares its events, jobs, limits, kv and history.
type Queue struct {
	opts    Options
	pool    *pgxpool.Pool
	log     *slog.Logger
	class   int32  // advisory lock class of the schema
	channel string // NOTIFY channel of the schema
	key     int32  // this process's key (processes.key, jobs.owner)
	proc    engine.Process

	sqlMu sync.RWMutex
	sqls  map[string]string

	enq  *batcher[*enqOp]
	acks []*batcher[*ackOp] // by job id modulo len(acks)

	ready     chan struct{}
	nextDue   atomic.Int64 // unix nanos of the earliest known future RunAt; 0 = none
	rateWake  atomic.Int64 // unix nanos when a rate-limited listener gets a token; 0 = none
	notifyAt  atomic.Int64 // earliest RunAt not yet announced to other processes; 0 = none
	notifyCh  chan struct{}
	listening atomic.Bool // LISTEN works: no polling needed
	lockLive  bool        // liveness is also judged by the session's advisory lock
	down      atomic.Bool // the last call failed to reach the database

	limitsMu sync.Mutex
	limited  map[string]bool // listeners last leased with a concurrency bound

	orphanMu sync.Mutex
	orphans  []orphan // lease statements whose answer was lost

	enqueued, finished, failedTotal atomic.Uint64
	enqueueStatements               atomic.Uint64 // batches written (tests, bench)

	bgCancel  context.CancelFunc
	bg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	session   *session
}

// Open connects, creates or upgrades the schema (see migrations),
// registers this process, takes back jobs that processes found dead left
// running, and starts the background work: group committers, the
// LISTEN session, heartbeats and (in one process at a time) pruning.
func Open(ctx context.Context, opts Options) (*Queue, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("open postgres queue: parse dsn: %w", err)
	}
	if !strings.Contains(opts.DSN, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.Timeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "switchboard"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres queue: %w", err)
	}
	q := &Queue{
		opts: opts, pool: pool, log: opts.Logger,
		class: lockClass(opts.Schema), channel: channelName(opts.Schema),
		sqls: map[string]string{}, ready: make(chan struct{}, 1), notifyCh: make(chan struct{}, 1),
		limited: map[string]bool{},
	}
	if err := q.start(ctx); err != nil {
		q.kill()
		return nil, fmt.Errorf("open postgres queue (schema %s): %w", opts.Schema, err)
	}
	return q, nil
}

func (q *Queue) start(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, max(30*time.Second, q.opts.Timeout))
	defer cancel()
	if err := migrate(octx, q.pool, q.opts.Schema); err != nil {
		return err
	}
	if err := q.register(octx); err != nil {
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	q.bgCancel = stop
	q.enq = newBatcher(enqueueCommitters, 256, q.runEnqueue)
	for range ackPartitions {
		q.acks = append(q.acks, newBatcher(1, 2048, q.runAcks))
	}
	q.goBG(func() { q.session.loop(bg) })
	q.goBG(func() { q.pollLoop(bg) })
	q.goBG(func() { q.notifyLoop(bg) })
	q.goBG(func() { q.heartbeatLoop(bg) })
	q.goBG(func() { q.pruneLoop(bg) })
	// A restart finds what dead processes left running at once, as the
	// embedded store does when it opens.
	if _, err := q.reclaim(octx, true); err != nil {
		q.log.Warn("take back jobs of dead processes", "err", err)
	}
	q.signal()
	return nil
}

func (q *Queue) goBG(f func()) {
	q.bg.Add(1)
	go func() {
		defer q.bg.Done()
		f()
	}()
}

// newProcessID is unique per process start.
func newProcessID(host string) string {
	b := make([]byte, 6)
	_, _ = crand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// sql returns text with the schema placeholder replaced (memoised).
func (q *Queue) sql(text string) string {
	q.sqlMu.RLock()
	s, ok := q.sqls[text]
	q.sqlMu.RUnlock()
	if ok {
		return s
	}
	s = expand(q.opts.Schema, text)
	q.sqlMu.Lock()
	q.sqls[text] = s
	q.sqlMu.Unlock()
	return s
}

// shard picks the counts row a statement adds to: spreading counter
// updates over rows keeps concurrent commits from queueing on one row.
func shard() int16 { return int16(rand.IntN(16)) }

// Close writes what the committers hold, stops the background work,
// removes this process from the process list and closes the pool. It is
// idempotent and safe when nothing else was called.
func (q *Queue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		q.closeBatchers()
		if q.bgCancel != nil {
			q.bgCancel()
		}
		q.bg.Wait()
		dctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
		defer cancel()
		if _, err := q.pool.Exec(dctx, q.sql(`DELETE FROM sb_.processes WHERE key = $1`), q.key); err != nil && q.key != 0 {
			q.closeErr = fmt.Errorf("close postgres queue: unregister process: %w", err)
		}
		if q.session != nil {
			q.session.close()
		}
		q.pool.Close()
	})
	return q.closeErr
}

// kill stops everything without a word to the database, as kill -9
// would: the process row stays, running jobs stay leased to it.
func (q *Queue) kill() {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		if q.bgCancel != nil {
			q.bgCancel()
		}
		q.bg.Wait()
		if q.session != nil {
			q.session.close()
		}
		q.pool.Close()
		q.closeBatchers()
	})
}

func (q *Queue) closeBatchers() {
	if q.enq != nil {
		q.enq.close()
	}
	for _, a := range q.acks {
		a.close()
	}
}

// ack is the committer of job id's starts and finishes.
func (q *Queue) ack(id int64) *batcher[*ackOp] { return q.acks[id%int64(len(q.acks))] }

func (q *Queue) checkOpen() error {
	if q.closed.Load() {
		return engine.ErrClosed
	}
	return nil
}

// Ping writes this process's heartbeat: nil means the database takes
// writes now.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.checkOpen(); err != nil {
		return fmt.Errorf("ping postgres queue: %w", err)
	}
	return q.do(ctx, "ping postgres queue", true, q.beat)
}
