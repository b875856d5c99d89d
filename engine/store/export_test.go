package store

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// WithCommitHook returns opts with a hook that runs inside every commit;
// an error aborts that commit as a disk failure would.
func WithCommitHook(opts Options, hook func() error) Options {
	opts.testHookBeforeCommit = hook
	return opts
}

// Queued reports how many requests wait for the committer.
func Queued(q *Queue) int { return len(q.reqs) }

// ErrInjected is what FailDirty's op fails with.
var ErrInjected = errors.New("injected failure after a write")

// FailDirty submits an op that writes a marker key and then fails, as an
// op hitting a storage error part-way would.
func FailDirty(ctx context.Context, q *Queue) error {
	return q.submit(ctx, func(t *txn) error {
		if err := t.bucket(bMeta).Put([]byte("dirty"), []byte("x")); err != nil {
			return err
		}
		return ErrInjected
	})
}

// HasDirtyMarker reports whether FailDirty's write survived.
func HasDirtyMarker(q *Queue) bool {
	var found bool
	q.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bMeta).Get([]byte("dirty")) != nil
		return nil
	})
	return found
}
