package store

import (
	"bytes"
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

// A batch of only background writes (leases, outcomes, pruning) waits up to
// holdFor for an ingest request to share its fsync, but only while ingest
// is active (one committed within ingestActive): otherwise every request
// arriving during the background commit would wait a whole commit more.
// Workers do not wait for outcomes, and a lease delayed by holdFor delays
// one job start by as much, so no caller waits long for it.
const (
	holdFor      = time.Millisecond
	ingestActive = 20 * time.Millisecond
)

// request is one write waiting for the committer. op runs inside the
// batch's transaction and may run more than once (when a later request in
// the batch fails dirty and the batch is replayed), so it must derive
// everything from the transaction and its captured inputs.
type request struct {
	ctx  context.Context
	op   func(t *txn) error
	err  error
	done chan error // buffered 1: the committer never blocks on an abandoned caller
	// ingest marks a request a webhook sender waits for: a batch holding
	// one commits at once, while one holding only background writes
	// (leases, outcomes, pruning) may wait briefly for one to ride along.
	ingest bool
	// mayBeClean marks an op that sets t.wrote itself when it writes; a
	// batch in which nothing wrote is rolled back instead of committed
	// (no fsync).
	mayBeClean bool
	// probe marks Ping's write: its success says little about whether
	// real writes succeed (see health).
	probe bool
}

func newRequest(ctx context.Context, op func(t *txn) error) *request {
	return &request{ctx: ctx, op: op, done: make(chan error, 1)}
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

// errNoWrite rolls back a batch in which nothing wrote: nothing to fsync.
var errNoWrite = errors.New("nothing written")

// txn is one commit's transaction plus what the commit changes outside it.
type txn struct {
	tx     *bolt.Tx
	q      *Queue
	now    time.Time
	fx     effects
	counts map[string]int64 // counter deltas, written by flushCounts
	wrote  bool             // something was written (see request.mayBeClean)
	// dirtyKeys are the ordering keys whose due entry refreshOrder must
	// place before the commit.
	dirtyKeys map[orderRef]bool
}

// effects are applied to the Queue's in-memory state only once the
// transaction has committed.
type effects struct {
	ready      bool // pending jobs added or rescheduled
	dueTouched bool // the due index changed: recompute nextDue
	nextDue    time.Time
	// leaseTouched: the lease index changed: recompute firstLease.
	leaseTouched bool
	firstLease   time.Time
	enqueued     uint64
	finished     uint64
	failed       uint64
}

// appendOnly names the buckets whose keys only grow (sequence ids, or a
// time prefix): filling their pages fully leaves fewer, fuller pages, since
// nothing is ever inserted before a full page's keys.
var appendOnly = map[string]bool{
	string(bEvents): true, string(bEvTime): true, string(bEvJobs): true,
	string(bJobs): true, string(bDone): true, string(bDedupeT): true,
}

// appendFill is the FillPercent of appendOnly buckets.
const appendFill = 0.95

func (t *txn) bucket(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if appendOnly[string(name)] {
		b.FillPercent = appendFill
	}
	return b
}

// submit queues op for the committer and waits for its answer.
func (q *Queue) submit(ctx context.Context, op func(t *txn) error) error {
	return q.send(newRequest(ctx, op))
}

// send queues r for the committer and waits for its answer.
func (q *Queue) send(r *request) error {
	ctx := r.ctx
	if err := ctx.Err(); err != nil {
		return err
	}
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
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	var lastIngest time.Time
	for r := range q.reqs {
		batch = q.collect(append(batch[:0], r), nil)
		if !q.opts.noHold && !hasIngest(batch) && time.Since(lastIngest) < ingestActive {
			hold.Reset(holdFor)
			batch = q.collect(batch, hold.C)
			hold.Stop()
		}
		if hasIngest(batch) {
			lastIngest = time.Now()
		}
		q.commit(batch)
		clear(batch)
	}
	q.closeErr = q.db.Close()
}

// collect appends queued requests to batch, up to maxBatch. With wait nil
// it takes only those already queued; otherwise it also waits for more
// until wait fires or an ingest request arrives, then takes what is queued
// behind that one.
func (q *Queue) collect(batch []*request, wait <-chan time.Time) []*request {
	for len(batch) < maxBatch {
		var r *request
		ok := false
		if wait == nil {
			select {
			case r, ok = <-q.reqs:
			default:
			}
		} else {
			select {
			case r, ok = <-q.reqs:
			case <-wait:
			}
		}
		if !ok {
			return batch // none queued, the wait is over, or the queue closed
		}
		batch = append(batch, r)
		if r.ingest {
			wait = nil
		}
	}
	return batch
}

func hasIngest(batch []*request) bool {
	for _, r := range batch {
		if r.ingest {
			return true
		}
	}
	return false
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
				if !r.mayBeClean {
					t.wrote = true
				}
				err := safelyCall(r.op, t)
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
			if !t.wrote {
				return errNoWrite
			}
			if err := t.finishTxn(); err != nil {
				return err
			}
			fx = t.fx
			return nil
		})
		wrote := !errors.Is(err, errNoWrite)
		if !wrote {
			err = nil
		}
		if dirty >= 0 {
			live[dirty].done <- live[dirty].err
			live = append(live[:dirty:dirty], live[dirty+1:]...)
			continue
		}
		if err != nil {
			q.health.commitFailed(q.now(), err)
			err = fmt.Errorf("commit: %w: %v", engine.ErrUnavailable, err)
			for _, r := range live {
				r.done <- err
			}
			return
		}
		if wrote && !onlyProbes(live) {
			q.health.committed()
		}
		q.apply(fx)
		for _, r := range live {
			r.done <- r.err
		}
		return
	}
}

// finishTxn writes what the batch's ops deferred and computes the effects
// that depend on the final state.
func (t *txn) finishTxn() error {
	if err := t.refreshOrder(); err != nil {
		return err
	}
	if err := t.flushCounts(); err != nil {
		return err
	}
	if t.fx.dueTouched {
		t.fx.nextDue = firstDue(t.tx)
	}
	if t.fx.leaseTouched {
		t.fx.firstLease = firstLease(t.tx)
	}
	return nil
}

// apply publishes a committed transaction's effects.
func (q *Queue) apply(fx effects) {
	if fx.dueTouched {
		q.nextDue.Store(int64(nanos(fx.nextDue)))
	}
	if fx.leaseTouched {
		q.firstLease.Store(int64(nanos(fx.firstLease)))
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

// firstDue returns the earliest RunAt in the due indexes, zero if none:
// the least first key over the listeners' indexes.
func firstDue(tx *bolt.Tx) time.Time {
	var first []byte
	due := tx.Bucket(bDueL)
	c := due.Cursor()
	for name, v := c.First(); name != nil; name, v = c.Next() {
		if v != nil {
			continue // not a listener bucket
		}
		k, _ := due.Bucket(name).Cursor().First()
		if k != nil && (first == nil || bytes.Compare(k, first) < 0) {
			first = k
		}
	}
	return keyTime(first)
}

// firstLease returns the earliest lease end of a running job, zero if none.
func firstLease(tx *bolt.Tx) time.Time {
	k, _ := tx.Bucket(bLease).Cursor().First()
	return keyTime(k)
}

// keyTime is the time of tkey k, or zero for no key. A key at the zero
// time maps to the earliest non-zero time: it exists, so it is not "none".
func keyTime(k []byte) time.Time {
	if k == nil {
		return time.Time{}
	}
	at, _ := splitTkey(k)
	if at.IsZero() {
		return time.Unix(0, 1)
	}
	return at
}

// safelyCall runs op, turning a panic into an error: the request that
// panicked fails (its writes are rolled back with the batch, which is
// replayed without it) and the committer, and the process, live on. As
// bbolt's own safelyCall does for DB.Batch.
func safelyCall(op func(t *txn) error, t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store operation panicked: %v", p)
		}
	}()
	return op(t)
}

func onlyProbes(batch []*request) bool {
	for _, r := range batch {
		if !r.probe {
			return false
		}
	}
	return true
}
