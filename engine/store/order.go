package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// Per-key ordering (a listener's order_by). Jobs with an OrderKey are kept
// out of the due index, so Lease never sees them, except for one per
// listener and key: the oldest pending job of the key, while no job of the
// key is running. Two indexes hold the state, keyed by
// orderPrefix(listener, key):
//
//	order   prefix + job id: the key's pending jobs, oldest first
//	orders  prefix → how many of the key's jobs run (one, bar an operator
//	        retrying an older failed job while a newer one runs) and the
//	        id of the job holding the key's due entry
//
// index and unindex keep both exact and mark the key dirty; refreshOrder,
// at the end of each transaction, moves the due entry to where it now
// belongs. A key with nothing pending or running leaves no trace.

// orderRef names one ordering key in a transaction's dirty set.
type orderRef struct{ listener, key string }

// keyState is a key's orders value.
type keyState struct {
	running int
	holder  string // job holding the due entry; "" if none
}

func (t *txn) getKeyState(prefix []byte) (keyState, error) {
	v := t.bucket(bOrderS).Get(prefix)
	if v == nil {
		return keyState{}, nil
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || n > 1<<31 {
		return keyState{}, fmt.Errorf("corrupt ordering state")
	}
	return keyState{running: int(n), holder: string(v[w:])}, nil
}

func (t *txn) putKeyState(prefix []byte, st keyState) error {
	if st.running == 0 && st.holder == "" {
		return t.bucket(bOrderS).Delete(prefix)
	}
	v := binary.AppendUvarint(nil, uint64(st.running))
	return t.bucket(bOrderS).Put(prefix, append(v, st.holder...))
}

// orderPending adds or removes pending job j in its key's list.
func (t *txn) orderPending(j *engine.Job, add bool) error {
	t.orderDirty(j)
	k := append(orderPrefix(j.Listener, j.OrderKey), j.ID...)
	if add {
		return t.bucket(bOrder).Put(k, nil)
	}
	return t.bucket(bOrder).Delete(k)
}

// orderRunning counts running job j in (delta 1) or out (-1) of its key.
func (t *txn) orderRunning(j *engine.Job, delta int) error {
	t.orderDirty(j)
	prefix := orderPrefix(j.Listener, j.OrderKey)
	st, err := t.getKeyState(prefix)
	if err != nil {
		return err
	}
	st.running = max(st.running+delta, 0)
	return t.putKeyState(prefix, st)
}

func (t *txn) orderDirty(j *engine.Job) {
	if t.dirtyKeys == nil {
		t.dirtyKeys = map[orderRef]bool{}
	}
	t.dirtyKeys[orderRef{j.Listener, j.OrderKey}] = true
}

// putDue adds pending job j to its listener's due index.
func (t *txn) putDue(j *engine.Job) error {
	lb, err := t.bucket(bDueL).CreateBucketIfNotExists([]byte(j.Listener))
	if err != nil {
		return err
	}
	t.fx.ready, t.fx.dueTouched = true, true
	return lb.Put(tkey(j.RunAt, j.ID), nil)
}

// deleteDue removes pending job j from the due index (if it is there).
func (t *txn) deleteDue(j *engine.Job) error {
	t.fx.dueTouched = true
	if lb := t.bucket(bDueL).Bucket([]byte(j.Listener)); lb != nil {
		return lb.Delete(tkey(j.RunAt, j.ID))
	}
	return nil
}

// refreshOrder gives each key changed in this transaction its due entry:
// the oldest pending job holds it unless a job of the key is running.
func (t *txn) refreshOrder() error {
	for ref := range t.dirtyKeys {
		if err := t.refreshKey(ref); err != nil {
			return fmt.Errorf("order %s by %q: %w", ref.listener, ref.key, err)
		}
	}
	clear(t.dirtyKeys)
	return nil
}

func (t *txn) refreshKey(ref orderRef) error {
	prefix := orderPrefix(ref.listener, ref.key)
	st, err := t.getKeyState(prefix)
	if err != nil {
		return err
	}
	var want *engine.Job
	if st.running == 0 {
		if k := firstWithPrefix(t.bucket(bOrder), prefix); k != nil {
			j, err := t.getJob(string(k[len(prefix):]))
			if err != nil {
				return err
			}
			if j == nil || j.State != engine.JobPending {
				return fmt.Errorf("index names job %s, which is not pending", k[len(prefix):])
			}
			want = j
		}
	}
	if st.holder != "" && (want == nil || want.ID != st.holder) {
		old, err := t.getJob(st.holder)
		if err != nil {
			return err
		}
		if old != nil && old.State == engine.JobPending {
			if err := t.deleteDue(old); err != nil {
				return err
			}
		}
	}
	next := keyState{running: st.running}
	if want != nil {
		// Put even when want already holds it: a rescheduled job's old
		// entry went with unindex.
		if err := t.putDue(want); err != nil {
			return err
		}
		next.holder = want.ID
	}
	if next == st {
		return nil
	}
	return t.putKeyState(prefix, next)
}

// firstWithPrefix returns the least key of b starting with prefix; nil if
// none. The key is valid only inside the transaction.
func firstWithPrefix(b *bolt.Bucket, prefix []byte) []byte {
	k, _ := b.Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	return k
}
