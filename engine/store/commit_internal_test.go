package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard/switchboard/engine"
)

func txID(t *testing.T, q *Queue) int {
	t.Helper()
	var id int
	if err := q.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// A Lease that claims nothing must not cost a commit (an fsync), whether
// it is answered from memory or rolled back by the committer.
func TestLease_NothingClaimed_NoCommit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	q, err := Open(Options{Path: filepath.Join(t.TempDir(), "q.db"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, &engine.Event{Name: "e", Source: "s", Payload: []byte(`{}`)},
		[]engine.NewJob{{Listener: "a"}, {Listener: "later", RunAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		quota map[string]engine.Quota
	}{
		{"due job of another listener", map[string]engine.Quota{"b": {Max: 1, LeaseFor: time.Minute}}},
		{"job not yet due", map[string]engine.Quota{"later": {Max: 1, LeaseFor: time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := txID(t, q)
			ls, err := q.Lease(ctx, 1, tt.quota)
			if err != nil || len(ls) != 0 {
				t.Fatalf("Lease = %d, %v; want none", len(ls), err)
			}
			if after := txID(t, q); after != before {
				t.Errorf("txid %d → %d: an empty lease committed", before, after)
			}
		})
	}
	ls, err := q.Lease(ctx, 1, map[string]engine.Quota{"a": {Max: 1, LeaseFor: time.Minute}})
	if err != nil || len(ls) != 1 || ls[0].Event == nil || string(ls[0].Event.Payload) != `{}` {
		t.Fatalf("Lease = %+v, %v; want one job with its event", ls, err)
	}
}

// With nothing due and no lease held, Lease answers without the committer.
func TestLease_NothingDue_FastPath(t *testing.T) {
	q, err := Open(Options{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	if q.mayLease() {
		t.Fatal("mayLease on an empty queue")
	}
	if _, err := q.Enqueue(context.Background(), &engine.Event{Name: "e", Source: "s"}, []engine.NewJob{{Listener: "a"}}); err != nil {
		t.Fatal(err)
	}
	if !q.mayLease() {
		t.Fatal("mayLease false with a job due")
	}
}

// TestCommit_PanickingOpFails: an op that panics inside the committer
// fails alone, its writes rolled back; the webhooks committed in the same
// round are stored, and the queue goes on working (issue 12: bbolt's
// safelyCall).
func TestCommit_PanickingOpFails(t *testing.T) {
	q, err := Open(Options{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	ctx := context.Background()
	const others = 16
	var wg sync.WaitGroup
	ids := make([]string, others)
	errs := make([]error, others)
	var panicErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		panicErr = q.submit(ctx, func(t *txn) error {
			b, err := t.tx.CreateBucketIfNotExists([]byte("panic-test"))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("k"), []byte("v")); err != nil {
				return err
			}
			t.wrote = true
			panic("boom")
		})
	}()
	for i := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = q.Enqueue(ctx, &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprint(i), Payload: []byte(`{}`)},
				[]engine.NewJob{{Listener: "a"}})
		}()
	}
	wg.Wait()
	if panicErr == nil || !strings.Contains(panicErr.Error(), "store operation panicked: boom") {
		t.Fatalf("the panicking op returned %v, want the panic as its error", panicErr)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("enqueue %d beside the panicking op: %v", i, err)
		}
		if _, _, err := q.GetEvent(ctx, ids[i]); err != nil {
			t.Fatalf("event %s enqueued beside the panicking op: %v", ids[i], err)
		}
	}
	if err := q.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("panic-test")) != nil {
			return errors.New("the panicking op's bucket was committed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, &engine.Event{Name: "e", Source: "s", DeliveryID: "after", Payload: []byte(`{}`)},
		[]engine.NewJob{{Listener: "a"}}); err != nil {
		t.Fatalf("enqueue after the panic: %v", err)
	}
}
