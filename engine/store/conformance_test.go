package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/engine/queuetest"
	"github.com/switchboard/switchboard/engine/store"
)

// TestConformance runs the queue conformance suite against the bbolt
// store, each test on its own file.
func TestConformance(t *testing.T) {
	queuetest.Run(t, &boltHarness{})
}

// boltHarness opens bbolt queues for the suite. A crash is a Close: a
// closed queue finishes nothing and leaves its running jobs running in
// the file, as a killed process does, and the next Open recovers them.
type boltHarness struct {
	mu    sync.Mutex
	opens map[*store.Queue]opened // how each open queue was opened
}

type opened struct {
	path string
	opts queuetest.Options
}

func (h *boltHarness) New(t testing.TB, opts queuetest.Options) queuetest.Queue {
	t.Helper()
	return h.open(t, filepath.Join(t.TempDir(), "queue.db"), opts)
}

func (h *boltHarness) Crash(t testing.TB, q queuetest.Queue) queuetest.Queue {
	t.Helper()
	h.mu.Lock()
	o, ok := h.opens[q.(*store.Queue)]
	h.mu.Unlock()
	if !ok {
		t.Fatal("Crash of a queue this harness did not open")
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatalf("close before reopening: %v", err)
	}
	return h.open(t, o.path, o.opts)
}

// Peer is nil: a bbolt file serves one process.
func (h *boltHarness) Peer(testing.TB, queuetest.Queue) queuetest.Queue { return nil }

func (h *boltHarness) open(t testing.TB, path string, opts queuetest.Options) queuetest.Queue {
	t.Helper()
	q, err := store.Open(store.Options{
		Path:             path,
		DedupeWindow:     opts.DedupeWindow,
		Retention:        opts.Retention,
		HistoryRetention: opts.HistoryRetention,
		MaxDepth:         opts.MaxDepth,
		CrashLimit:       opts.CrashLimit,
	})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	h.mu.Lock()
	if h.opens == nil {
		h.opens = map[*store.Queue]opened{}
	}
	h.opens[q] = opened{path, opts}
	h.mu.Unlock()
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("close %s: %v", path, err)
		}
		h.mu.Lock()
		delete(h.opens, q)
		h.mu.Unlock()
	})
	return q
}
