package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// Whether the queue can take writes, as /readyz reports it. A full disk is
// the case to get right: bbolt reuses freed pages, so a tiny probe write
// can succeed while every real commit fails. Ping therefore also fails
// while the filesystem has less than MinFreeBytes free, and for
// failureMemory after any commit failed; and nothing is leased until the
// jobs a dead process left running have been recovered.

// failureMemory is how long a failed commit keeps Ping failing.
const failureMemory = 10 * time.Second

// defaultMinFree is Options.MinFreeBytes's default: a few large batches.
const defaultMinFree = 16 << 20

// health is the queue's knowledge of its own writability.
type health struct {
	recovered atomic.Bool
	mu        sync.Mutex
	failedAt  time.Time // last commit that failed; zero once a real write landed after it
	failure   error
	recoverer error // why recovery has not landed yet
}

func (h *health) commitFailed(at time.Time, err error) {
	h.mu.Lock()
	h.failedAt, h.failure = at, err
	h.mu.Unlock()
}

// committed notes a commit that wrote more than a probe.
func (h *health) committed() {
	h.mu.Lock()
	h.failedAt, h.failure = time.Time{}, nil
	h.mu.Unlock()
}

// problem says why the queue cannot take writes now, nil if it can.
func (h *health) problem(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.recovered.Load() {
		return fmt.Errorf("%w: the jobs a stopped process left running are not recovered yet: %v",
			engine.ErrUnavailable, h.recoverer)
	}
	if !h.failedAt.IsZero() && now.Sub(h.failedAt) < failureMemory {
		return fmt.Errorf("%w: a write failed %s ago: %v", engine.ErrUnavailable,
			now.Sub(h.failedAt).Round(time.Second), h.failure)
	}
	return nil
}

// pingKey is rewritten by Ping.
var pingKey = []byte("ping")

// Ping returns nil if the queue can take writes now: recovery has landed,
// no commit failed in the last few seconds, the filesystem has room, and
// a tiny durable write through the committer succeeds.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.health.problem(q.now()); err != nil {
		return fmt.Errorf("ping queue: %w", err)
	}
	if free, ok := freeBytes(q.opts.Path); ok && free < uint64(q.opts.MinFreeBytes) {
		return fmt.Errorf("ping queue: %w: %d KiB free on the queue's filesystem (min_free %d KiB)",
			engine.ErrUnavailable, free>>10, q.opts.MinFreeBytes>>10)
	}
	r := newRequest(ctx, func(t *txn) error {
		if err := t.bucket(bMeta).Put(pingKey, u64(nanos(t.now))); err != nil {
			return fmt.Errorf("write ping: %w", err)
		}
		return nil
	})
	r.probe = true
	if err := q.send(r); err != nil {
		return fmt.Errorf("ping queue: %w", err)
	}
	return nil
}

// recover creates the buckets and takes back every job a dead process
// left running: to pending (or to failed once it has crashed CrashLimit
// times); a job that was leased but had not started gets its attempt back.
// It runs through the committer, before anything is leased.
func (q *Queue) recover(ctx context.Context) error {
	err := q.submit(ctx, func(t *txn) error {
		for _, name := range allBuckets {
			if _, err := t.tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := dropLegacyIndexes(t.tx); err != nil {
			return err
		}
		var ids []string
		t.tx.Bucket(bLease).ForEach(func(k, _ []byte) error {
			_, id := splitTkey(k)
			ids = append(ids, id)
			return nil
		})
		failed := t.fx.failed // jobs parked by recovery are not this run's failures
		for _, id := range ids {
			// This process is the only one using the file: whatever was
			// running belonged to a process that died.
			if err := t.takeBack(id, engine.KindCrash); err != nil {
				return err
			}
		}
		t.fx.failed = failed
		t.fx.dueTouched, t.fx.leaseTouched, t.fx.ready = true, true, true
		return nil
	})
	if err != nil {
		err = fmt.Errorf("recover running jobs: %w", err)
		q.health.mu.Lock()
		q.health.recoverer = err
		q.health.mu.Unlock()
		return err
	}
	q.health.recovered.Store(true)
	return nil
}

// isWriteError reports whether err is the disk refusing a write (full,
// read-only, failing), which recovery can outlast, rather than a broken
// file.
func isWriteError(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) || errors.Is(err, bolt.ErrDatabaseReadOnly)
}
