package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// maxBatch bounds how many requests one commit applies, so a burst cannot
// hold the writer (and every waiting caller) for long.
const maxBatch = 1000

// request is one write waiting for the committer. op runs inside the
// batch's transaction and may run more than once (when a later request in
// the batch fails dirty and the batch is replayed), so it must derive
// everything from the transaction and its captured inputs.
type request struct {
	ctx  context.Context
	op   func(t *txn) error
	err  error
	done chan error // buffered 1: the committer never blocks on an abandoned caller
}

// rejected marks an op error returned before the op wrote anything: the
// batch's other writes stand and commit.
type rejected struct{ err error }

func (r *rejected) Error() string { return r.err.Error() }
func (r *rejected) Unwrap() error { return r.err }

// reject returns err marked as clean (nothing written).
func reject(err error) error { return &rejected{err: err} }

// unreject strips the clean mark from err, for an op that calls another
// op's helper after it has already written.
func unreject(err error) error {
	var rj *rejected
	if errors.As(err, &rj) {
		return fmt.Errorf("%w", rj.err)
	}
	return err
}

// errDirty aborts a batch's transaction after an op failed part-way.
var errDirty = errors.New("op failed after writing")

// txn is one commit's transaction plus what the commit changes outside it.
type txn struct {
	tx  *bolt.Tx
	q   *Queue
	now time.Time
	fx  effects
}

// effects are applied to the Queue's in-memory state only once the
// transaction has committed.
type effects struct {
	ready      bool // pending jobs added or rescheduled
	dueTouched bool // the due index changed: recompute nextDue
	nextDue    time.Time
	enqueued   uint64
	finished   uint64
	failed     uint64
}

func (t *txn) bucket(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// submit queues op for the committer and waits for its answer.
func (q *Queue) submit(ctx context.Context, op func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, op: op, done: make(chan error, 1)}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return engine.ErrClosed
	}
	select {
	case q.reqs <- r:
	case <-ctx.Done():
		q.mu.RUnlock()
		return ctx.Err()
	}
	q.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the one goroutine that writes. It takes every request
// queued since its last commit (up to maxBatch), applies them in one
// transaction (one fsync), then answers each. It closes the DB once the
// request channel is closed and drained.
func (q *Queue) commitLoop() {
	defer close(q.stopped)
	batch := make([]*request, 0, maxBatch)
	for r := range q.reqs {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-q.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		q.commit(batch)
		clear(batch)
	}
	q.closeErr = q.db.Close()
}

// commit applies batch in one transaction. A request whose op fails clean
// gets its own error; one that fails dirty is answered and the batch is
// replayed without it; a failed commit answers everyone with an error
// wrapping engine.ErrUnavailable.
func (q *Queue) commit(batch []*request) {
	live := batch
	for len(live) > 0 {
		dirty := -1
		var fx effects
		err := q.db.Update(func(tx *bolt.Tx) error {
			if q.opts.testHookBeforeCommit != nil {
				if err := q.opts.testHookBeforeCommit(); err != nil {
					return err
				}
			}
			t := &txn{tx: tx, q: q, now: q.now()}
			for i, r := range live {
				r.err = r.ctx.Err()
				if r.err != nil {
					continue
				}
				err := r.op(t)
				var rj *rejected
				switch {
				case err == nil:
				case errors.As(err, &rj):
					r.err = rj.err
				default:
					r.err, dirty = err, i
					return errDirty
				}
			}
			if t.fx.dueTouched {
				t.fx.nextDue = firstDue(tx)
			}
			fx = t.fx
			return nil
		})
		if dirty >= 0 {
			live[dirty].done <- live[dirty].err
			live = append(live[:dirty:dirty], live[dirty+1:]...)
			continue
		}
		if err != nil {
			err = fmt.Errorf("commit: %w: %v", engine.ErrUnavailable, err)
			for _, r := range live {
				r.done <- err
			}
			return
		}
		q.apply(fx)
		for _, r := range live {
			r.done <- r.err
		}
		return
	}
}

// apply publishes a committed transaction's effects.
func (q *Queue) apply(fx effects) {
	if fx.dueTouched {
		q.nextDue.Store(int64(nanos(fx.nextDue)))
	}
	q.enqueued.Add(fx.enqueued)
	q.finished.Add(fx.finished)
	q.failedTotal.Add(fx.failed)
	if fx.ready {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
}

// firstDue returns the earliest RunAt in the due index, zero if none.
func firstDue(tx *bolt.Tx) time.Time {
	k, _ := tx.Bucket(bDue).Cursor().First()
	if k == nil {
		return time.Time{}
	}
	at, _ := splitTkey(k)
	if at.IsZero() {
		return time.Unix(0, 1) // due since forever, but not "none"
	}
	return at
}
