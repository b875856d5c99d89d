package store

import (
	"context"
	"errors"
	"time"

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

// AddLegacyIndexes writes, into the closed queue file at path, the indexes
// earlier versions kept, each holding one stale entry.
func AddLegacyIndexes(path string) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		due, err := tx.CreateBucketIfNotExists([]byte("due"))
		if err != nil {
			return err
		}
		if err := due.Put(tkey(time.Unix(1, 0), "job_stale"), []byte("a")); err != nil {
			return err
		}
		for _, s := range legacyStateBuckets {
			b, err := tx.Bucket(bState).CreateBucketIfNotExists([]byte(s))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("job_stale"), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// LegacyIndexesLeft reports which of those indexes exist in q.
func LegacyIndexesLeft(q *Queue) []string {
	var left []string
	q.db.View(func(tx *bolt.Tx) error {
		for _, name := range legacyBuckets {
			if tx.Bucket(name) != nil {
				left = append(left, string(name))
			}
		}
		for _, s := range legacyStateBuckets {
			if tx.Bucket(bState).Bucket([]byte(s)) != nil {
				left = append(left, "state/"+string(s))
			}
		}
		return nil
	})
	return left
}

// CorruptJob overwrites job id's record with bytes no version wrote.
func CorruptJob(ctx context.Context, q *Queue, id string) error {
	return q.submit(ctx, func(t *txn) error {
		return t.bucket(bJobs).Put([]byte(id), []byte{0x7f, 0, 1, 2})
	})
}
