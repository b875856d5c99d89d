package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
	"github.com/switchboard/switchboard/engine/worker"
)

// failingFinish is the real queue whose Finish fails (as a full disk
// makes every commit fail) until healed.
type failingFinish struct {
	*store.Queue
	healed   atomic.Bool
	refusals atomic.Int32
}

func (f *failingFinish) Finish(ctx context.Context, res engine.Result) error {
	if !f.healed.Load() {
		f.refusals.Add(1)
		return fmt.Errorf("commit: %w: write: no space left on device", engine.ErrUnavailable)
	}
	return f.Queue.Finish(ctx, res)
}

// An outcome that cannot be written is retried until it lands: the job
// is not run again when the disk recovers, and nothing new is leased
// while outcomes wait.
func TestPool_OutcomeRetriedUntilItLands(t *testing.T) {
	q, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "queue.db")})
	if err != nil {
		t.Fatal(err)
	}
	fq := &failingFinish{Queue: q}
	var runs atomic.Int32
	gen := generation(func(context.Context, *engine.Listener, *engine.Invocation) error {
		runs.Add(1)
		return nil
	}, listener("l", 3, time.Second))
	pool := worker.New(worker.Options{Queue: fq, Current: func() *engine.Generation { return gen }, Workers: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pool.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool.Stop(ctx)
		q.Close(ctx)
	})
	h := &harness{q: q, gen: gen, pool: pool}
	first := h.submit(t)
	deadline := time.Now().Add(5 * time.Second)
	for fq.refusals.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the outcome was not retried")
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := h.submit(t)
	time.Sleep(100 * time.Millisecond) // would be enough to lease and run the second job
	if n := runs.Load(); n != 1 {
		t.Fatalf("listener ran %d times while an outcome waited to be written; want 1 (no new leases)", n)
	}
	fq.healed.Store(true)
	h.wait(t, first, "l", state(engine.JobDone))
	h.wait(t, second, "l", state(engine.JobDone))
	if n := runs.Load(); n != 2 {
		t.Fatalf("listener ran %d times, want 2: the first job must not run again", n)
	}
}
