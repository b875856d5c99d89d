package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openQueue opens a queue in a temp dir (unless opts.Path is set) and
// closes it when the test ends.
func openQueue(t testing.TB, opts store.Options) *store.Queue {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "data", "queue.db")
	}
	q, err := store.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := q.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

func event(name, payload string) *engine.Event {
	return &engine.Event{Name: name, Source: "test", Payload: []byte(payload)}
}

func enqueue(t testing.TB, q *store.Queue, ev *engine.Event, jobs ...engine.NewJob) string {
	t.Helper()
	id, err := q.Enqueue(context.Background(), ev, jobs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return id
}

func lease(t testing.TB, q *store.Queue, max int, quota map[string]engine.Quota) []engine.Lease {
	t.Helper()
	ls, err := q.Lease(context.Background(), max, quota)
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	return ls
}

func quota(listeners ...string) map[string]engine.Quota {
	m := map[string]engine.Quota{}
	for _, l := range listeners {
		m[l] = engine.Quota{Max: 100, LeaseFor: time.Minute}
	}
	return m
}

func getJob(t testing.TB, q *store.Queue, id string) *engine.Job {
	t.Helper()
	j, err := q.GetJob(context.Background(), id)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	return j
}

func finish(t testing.TB, q *store.Queue, res engine.Result) {
	t.Helper()
	if err := q.Finish(context.Background(), res); err != nil {
		t.Fatalf("Finish: %v", err)
	}
}

// start marks j's attempt as begun, as a worker does before running it.
func start(t testing.TB, q *store.Queue, j engine.Job) {
	t.Helper()
	if err := q.Start(context.Background(), j.ID, j.Attempt); err != nil {
		t.Fatalf("Start: %v", err)
	}
}
