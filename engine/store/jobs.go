package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// getJob reads a job; nil if absent.
func (t *txn) getJob(id string) (*engine.Job, error) {
	return getJob(t.tx, id)
}

func getJob(tx *bolt.Tx, id string) (*engine.Job, error) {
	v := tx.Bucket(bJobs).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	j, err := decodeJob(id, v)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	return j, nil
}

// putJob writes j, replacing old (nil for a new job), and moves it between
// the indexes and counters its states belong to. Every job write goes
// through here so the indexes cannot drift from the jobs.
func (t *txn) putJob(old, j *engine.Job) error {
	if old != nil {
		if err := t.unindex(old); err != nil {
			return err
		}
	}
	data, err := encodeJob(j)
	if err != nil {
		return err
	}
	t.wrote = true
	if err := t.bucket(bJobs).Put([]byte(j.ID), data); err != nil {
		return fmt.Errorf("put job %s: %w", j.ID, err)
	}
	return t.index(j)
}

// deleteJob removes j and every index entry pointing at it.
func (t *txn) deleteJob(j *engine.Job) error {
	if err := t.unindex(j); err != nil {
		return err
	}
	if err := t.bucket(bJobs).Delete([]byte(j.ID)); err != nil {
		return fmt.Errorf("delete job %s: %w", j.ID, err)
	}
	if err := t.bucket(bEvJobs).Delete([]byte(j.EventID + j.ID)); err != nil {
		return fmt.Errorf("delete job %s: %w", j.ID, err)
	}
	return nil
}

func (t *txn) index(j *engine.Job) error {
	if err := t.count(j.Listener, j.State, 1); err != nil {
		return err
	}
	var err error
	switch j.State {
	case engine.JobPending:
		if j.OrderKey != "" {
			// Its key decides whether it is due (refreshOrder).
			err = t.orderPending(j, true)
			break
		}
		err = t.putDue(j)
	case engine.JobRunning:
		t.fx.leaseTouched = true
		err = t.bucket(bLease).Put(tkey(j.LeaseUntil, j.ID), nil)
		if err == nil && j.OrderKey != "" {
			err = t.orderRunning(j, 1)
		}
	case engine.JobDone:
		err = t.bucket(bDone).Put(tkey(j.UpdatedAt, j.ID), nil)
	case engine.JobFailed:
		var fb *bolt.Bucket
		fb, err = t.bucket(bState).CreateBucketIfNotExists([]byte(engine.JobFailed))
		if err == nil {
			err = fb.Put([]byte(j.ID), nil)
		}
	}
	if err != nil {
		return fmt.Errorf("index job %s: %w", j.ID, err)
	}
	return nil
}

func (t *txn) unindex(j *engine.Job) error {
	if err := t.count(j.Listener, j.State, -1); err != nil {
		return err
	}
	var err error
	switch j.State {
	case engine.JobPending:
		err = t.deleteDue(j)
		if err == nil && j.OrderKey != "" {
			err = t.orderPending(j, false)
		}
	case engine.JobRunning:
		// A slot under the listener's concurrency limit is free again.
		t.fx.leaseTouched, t.fx.ready = true, true
		err = t.bucket(bLease).Delete(tkey(j.LeaseUntil, j.ID))
		if err == nil && j.OrderKey != "" {
			err = t.orderRunning(j, -1)
		}
	case engine.JobDone:
		err = t.bucket(bDone).Delete(tkey(j.UpdatedAt, j.ID))
	case engine.JobFailed:
		if fb := t.bucket(bState).Bucket([]byte(engine.JobFailed)); fb != nil {
			err = fb.Delete([]byte(j.ID))
		}
	}
	if err != nil {
		return fmt.Errorf("unindex job %s: %w", j.ID, err)
	}
	return nil
}

// count adds delta to the total and per-listener counters of state.
func (t *txn) count(listener string, state engine.JobState, delta int64) error {
	if err := t.add(totalKey(state), delta); err != nil {
		return err
	}
	return t.add(listenerKey(listener, state), delta)
}

// add adds delta to one counter. Deltas collect in memory and are written
// once per transaction by flushCounts: a batch of a thousand enqueues
// rewrites each counter once, not a thousand times.
func (t *txn) add(key []byte, delta int64) error {
	if t.counts == nil {
		t.counts = make(map[string]int64)
	}
	t.counts[string(key)] += delta
	return nil
}

// flushCounts writes the collected counter deltas, deleting counters that
// reach zero.
func (t *txn) flushCounts() error {
	if len(t.counts) == 0 {
		return nil
	}
	b := t.bucket(bCounts)
	for k, d := range t.counts {
		if d == 0 {
			continue
		}
		key := []byte(k)
		n := int64(counter(b, key)) + d
		var err error
		if n <= 0 {
			err = b.Delete(key)
		} else {
			err = b.Put(key, u64(uint64(n)))
		}
		if err != nil {
			return fmt.Errorf("update counter: %w", err)
		}
	}
	clear(t.counts)
	return nil
}

func counter(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// depth is the number of pending and running jobs, this transaction's
// unflushed changes included.
func (t *txn) depth() int {
	b := t.bucket(bCounts)
	n := int64(counter(b, totalKey(engine.JobPending)) + counter(b, totalKey(engine.JobRunning)))
	n += t.counts[string(totalKey(engine.JobPending))] + t.counts[string(totalKey(engine.JobRunning))]
	return int(max(n, 0))
}

// getEvent reads and decodes an event; nil if absent.
func getEvent(tx *bolt.Tx, id string) (*engine.Event, error) {
	v := tx.Bucket(bEvents).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	return decodeEvent(id, v)
}

// eventJobIDs lists the ids of an event's jobs in creation order.
func eventJobIDs(tx *bolt.Tx, eventID string) []string {
	var ids []string
	prefix := []byte(eventID)
	c := tx.Bucket(bEvJobs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == eventID; k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids
}

// hasJobs reports whether any job of the event remains.
func hasJobs(tx *bolt.Tx, eventID string) bool {
	k, _ := tx.Bucket(bEvJobs).Cursor().Seek([]byte(eventID))
	return k != nil && len(k) > len(eventID) && string(k[:len(eventID)]) == eventID
}

// listenerCount is the number of listener's jobs in state, this
// transaction's unflushed changes included.
func (t *txn) listenerCount(listener string, state engine.JobState) int {
	key := listenerKey(listener, state)
	n := int64(counter(t.bucket(bCounts), key)) + t.counts[string(key)]
	return int(max(n, 0))
}
