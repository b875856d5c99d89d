package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bounds on KV names, well under bbolt's key limit.
const (
	maxNamespace = 255
	maxKey       = 1024
)

func checkKV(ns, key string) error {
	switch {
	case ns == "" || len(ns) > maxNamespace:
		return fmt.Errorf("namespace must be 1 to %d bytes", maxNamespace)
	case key == "" || len(key) > maxKey:
		return fmt.Errorf("key must be 1 to %d bytes", maxKey)
	}
	return nil
}

// KVGet returns the value stored under ns/key and true, or false if it is
// absent or expired. It reads without going through the committer.
func (q *Queue) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if err := checkKV(ns, key); err != nil {
		return nil, false, fmt.Errorf("kv get: %w", err)
	}
	now := q.now()
	var out []byte
	var found bool
	err := q.db.View(func(tx *bolt.Tx) error {
		nb := tx.Bucket(bKV).Bucket([]byte(ns))
		if nb == nil {
			return nil
		}
		v := nb.Get([]byte(key))
		if len(v) < 8 {
			return nil
		}
		if exp := binary.BigEndian.Uint64(v); exp != 0 && !fromNanos(exp).After(now) {
			return nil
		}
		out, found = append([]byte{}, v[8:]...), true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("kv get %s/%s: %w", ns, key, err)
	}
	return out, found, nil
}

// KVSet durably stores value under ns/key; ttl 0 keeps it until deleted.
// value is copied before KVSet returns.
func (q *Queue) KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error {
	if err := checkKV(ns, key); err != nil {
		return fmt.Errorf("kv set: %w", err)
	}
	if ttl < 0 {
		return fmt.Errorf("kv set %s/%s: negative ttl", ns, key)
	}
	val := make([]byte, 8+len(value))
	copy(val[8:], value)
	err := q.submit(ctx, func(t *txn) error {
		nb, err := t.bucket(bKV).CreateBucketIfNotExists([]byte(ns))
		if err != nil {
			return fmt.Errorf("create namespace: %w", err)
		}
		if err := t.dropKVExpiry(nb, ns, key); err != nil {
			return err
		}
		var exp time.Time
		if ttl > 0 {
			exp = t.now.Add(ttl)
			if err := t.bucket(bKVExp).Put(kvIndexKey(exp, ns, key), nil); err != nil {
				return fmt.Errorf("put expiry: %w", err)
			}
		}
		// The committer may replay this op, so fill a fresh copy each time.
		v := append([]byte(nil), val...)
		binary.BigEndian.PutUint64(v, nanos(exp))
		return nb.Put([]byte(key), v)
	})
	if err != nil {
		return fmt.Errorf("kv set %s/%s: %w", ns, key, err)
	}
	return nil
}

// KVDelete removes ns/key; absent keys are not an error.
func (q *Queue) KVDelete(ctx context.Context, ns, key string) error {
	if err := checkKV(ns, key); err != nil {
		return fmt.Errorf("kv delete: %w", err)
	}
	err := q.submit(ctx, func(t *txn) error {
		nb := t.bucket(bKV).Bucket([]byte(ns))
		if nb == nil {
			return nil
		}
		if err := t.dropKVExpiry(nb, ns, key); err != nil {
			return err
		}
		return nb.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("kv delete %s/%s: %w", ns, key, err)
	}
	return nil
}

// dropKVExpiry removes the expiry index entry of the current value, if any.
func (t *txn) dropKVExpiry(nb *bolt.Bucket, ns, key string) error {
	v := nb.Get([]byte(key))
	if len(v) < 8 {
		return nil
	}
	exp := binary.BigEndian.Uint64(v)
	if exp == 0 {
		return nil
	}
	if err := t.bucket(bKVExp).Delete(kvIndexKey(fromNanos(exp), ns, key)); err != nil {
		return fmt.Errorf("drop expiry: %w", err)
	}
	return nil
}
