package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

// Per-key ordering (a listener's order_by). Jobs with an OrderKey are kept
// out of the due index, so Lease never sees them, except for one per
// listener and key: the oldest pending job of the key, while no job of the
// key is running. Three indexes hold the state, all keyed by
// orderPrefix(listener, key):
//
//	order   prefix + job id: the key's pending jobs, oldest first
//	orderr  prefix + job id: the key's running jobs (one, bar an operator
//	        retrying an older failed job while a newer one runs)
//	orderd  prefix → the id of the job holding the key's due entry
//
// index and unindex keep order and orderr exact and mark the key dirty;
// refreshOrder, at the end of each transaction, moves the due entry to
// where it now belongs. A key with nothing pending or running leaves no
// trace.

// orderRef names one ordering key in a transaction's dirty set.
type orderRef struct{ listener, key string }

func (t *txn) orderPut(bucket []byte, j *engine.Job) error {
	t.orderDirty(j)
	return t.bucket(bucket).Put(append(orderPrefix(j.Listener, j.OrderKey), j.ID...), nil)
}

func (t *txn) orderDelete(bucket []byte, j *engine.Job) error {
	t.orderDirty(j)
	return t.bucket(bucket).Delete(append(orderPrefix(j.Listener, j.OrderKey), j.ID...))
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
	var want *engine.Job
	if !hasPrefix(t.bucket(bOrderR), prefix) {
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
	holders := t.bucket(bOrderD)
	if cur := holders.Get(prefix); cur != nil && (want == nil || want.ID != string(cur)) {
		old, err := t.getJob(string(cur))
		if err != nil {
			return err
		}
		if old != nil && old.State == engine.JobPending {
			if err := t.deleteDue(old); err != nil {
				return err
			}
		}
	}
	if want == nil {
		return holders.Delete(prefix)
	}
	if err := t.putDue(want); err != nil {
		return err
	}
	return holders.Put(prefix, []byte(want.ID))
}

func hasPrefix(b *bolt.Bucket, prefix []byte) bool {
	return firstWithPrefix(b, prefix) != nil
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
