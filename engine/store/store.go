package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/internal/startstop"
)

// The queue implements every queue-side interface the engine declares.
var (
	_ engine.Enqueuer = (*Queue)(nil)
	_ engine.Leaser   = (*Queue)(nil)
	_ engine.KV       = (*Queue)(nil)
	_ engine.Queue    = (*Queue)(nil)
)

// Options configures a Queue. Path is required.
type Options struct {
	Path         string        // bbolt file, e.g. data/queue.db; parent directories are created
	DedupeWindow time.Duration // remember delivery ids this long (0 = no dedupe)
	// Retention is how long done jobs, and events with no jobs left, are
	// kept; 0 keeps them forever. Failed jobs stay until forgotten.
	Retention time.Duration
	// MaxDepth refuses Enqueue (ErrUnavailable) while pending+running jobs
	// number at least this many; 0 = unbounded.
	MaxDepth int
	// CrashLimit is how many crash-recoveries a job survives before it is
	// parked as failed; 0 means 3.
	CrashLimit int
	// MinFreeBytes is the free space on the queue's filesystem below which
	// Ping reports the queue unwritable (readiness fails before commits
	// do); 0 means 16 MiB.
	MinFreeBytes int64
	// HistoryRetention is how long per-minute history and the audit list
	// are kept; 0 means 7 days.
	HistoryRetention time.Duration
	Logger           *slog.Logger
	Now              func() time.Time // default time.Now

	// testHookBeforeCommit, if set, runs inside every commit; an error
	// aborts that commit as a disk failure would.
	testHookBeforeCommit func() error
	// noHold commits background-only batches at once (benchmarks).
	noHold bool
}

// Queue is the embedded queue. All writes go through one committer
// goroutine that group-commits whatever is queued (one fsync per batch, no
// fixed wait); reads run in their own read-only transactions.
type Queue struct {
	opts Options
	db   *bolt.DB
	now  func() time.Time
	log  *slog.Logger

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *request

	stopped  chan struct{} // closed when the committer has closed the DB
	closeErr error         // set by the committer before stopped closes

	stopPrune context.CancelFunc
	pruneDone chan struct{}
	life      startstop.Once
	health    health

	// limiters are the listeners' rate buckets; only the committer
	// touches them (lease ops), so they need no lock.
	limiters map[string]*listenerRate
	self     engine.Process // this process, for Processes

	ready       chan struct{}
	nextDue     atomic.Int64 // nanos of the earliest pending RunAt; 0 = none
	firstLease  atomic.Int64 // nanos of the earliest lease end; 0 = none
	enqueued    atomic.Uint64
	finished    atomic.Uint64
	failedTotal atomic.Uint64
}

// Open opens (creating if needed) the queue file, recovers jobs a dead
// process left running, and starts the committer and the periodic pruner.
// It fails fast, rather than waiting, if another process holds the file.
func Open(opts Options) (*Queue, error) {
	if opts.Path == "" {
		return nil, errors.New("open queue: no path")
	}
	if opts.CrashLimit <= 0 {
		opts.CrashLimit = 3
	}
	if opts.MinFreeBytes <= 0 {
		opts.MinFreeBytes = defaultMinFree
	}
	if opts.HistoryRetention <= 0 {
		opts.HistoryRetention = 7 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o755); err != nil {
		return nil, fmt.Errorf("open queue: %w", err)
	}
	db, err := bolt.Open(opts.Path, 0o600, boltOptions())
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open queue %s: file is in use by another process", opts.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", opts.Path, err)
	}
	q := &Queue{
		opts: opts, db: db, now: opts.Now, log: opts.Logger,
		reqs:    make(chan *request, maxBatch),
		stopped: make(chan struct{}),
		ready:   make(chan struct{}, 1),
		self:    newProcess(opts.Now()),
	}
	go q.commitLoop()
	if err := q.recover(context.Background()); err != nil {
		if !isWriteError(err) {
			q.Close(context.Background())
			return nil, fmt.Errorf("open queue %s: %w", opts.Path, err)
		}
		// A full or failing disk: come up anyway (webhooks get 503, the
		// admin API reads) and keep trying; nothing is leased meanwhile.
		q.log.Error("recover running jobs; retrying until the disk takes writes", "err", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.stopPrune, q.pruneDone = cancel, make(chan struct{})
	go q.maintain(ctx)
	return q, nil
}

// boltOptions trade a slower open for cheaper commits: the freelist is not
// written on every commit but rebuilt by scanning the file on open
// (NoFreelistSync, with the map freelist that frees and allocates in O(1)),
// and the file is mapped large from the start so growth does not remap
// (which waits for every reader) as often. Every commit still fsyncs.
func boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout:         time.Second,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 256 << 20,
	}
}

// dropLegacyIndexes deletes the indexes earlier versions kept (see
// legacyBuckets); the indexes that replace them were always written too.
func dropLegacyIndexes(tx *bolt.Tx) error {
	for _, name := range legacyBuckets {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return fmt.Errorf("drop legacy index %s: %w", name, err)
		}
	}
	states := tx.Bucket(bState)
	for _, s := range legacyStateBuckets {
		if err := states.DeleteBucket([]byte(s)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return fmt.Errorf("drop legacy index state/%s: %w", s, err)
		}
	}
	return nil
}

// Close stops the pruner, lets the committer finish what is queued, and
// closes the file. It is idempotent; later calls wait for the same end.
func (q *Queue) Close(ctx context.Context) error {
	return q.life.Stop(func(bool) error {
		if q.stopPrune != nil {
			q.stopPrune()
			<-q.pruneDone
		}
		q.mu.Lock()
		q.closed = true
		close(q.reqs)
		q.mu.Unlock()
		select {
		case <-q.stopped:
			if q.closeErr != nil {
				return fmt.Errorf("close queue: %w", q.closeErr)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("close queue: %w", ctx.Err())
		}
	})
}

// Ready receives a value (coalesced) after a commit that added or
// rescheduled pending jobs.
func (q *Queue) Ready() <-chan struct{} { return q.ready }

// NextDue returns the earliest RunAt of a pending job, zero if none.
func (q *Queue) NextDue() time.Time { return fromNanos(uint64(q.nextDue.Load())) }

// maintain finishes a recovery that could not be written at Open, then
// runs Prune every min(Retention/10, 1m), but not more often than once a
// second.
func (q *Queue) maintain(ctx context.Context) {
	defer close(q.pruneDone)
	for !q.health.recovered.Load() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		if err := q.recover(ctx); err == nil {
			q.log.Info("recovered the running jobs left by the stopped process")
		}
	}
	every := time.Minute
	if r := q.opts.Retention / 10; r > 0 && r < every {
		every = max(r, time.Second)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, err := q.Prune(ctx); err != nil && ctx.Err() == nil {
				q.log.Error("prune queue", "err", err)
			} else if n > 0 {
				q.log.Debug("pruned queue", "deleted", n)
			}
		}
	}
}
