package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

func TestQueue_Prune(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now, Retention: time.Hour, DedupeWindow: 2 * time.Hour})

	doneEv := enqueue(t, q, &engine.Event{Name: "e", Source: "s", DeliveryID: "d1", Payload: []byte("{}")},
		engine.NewJob{Listener: "a"})
	l := lease(t, q, 1, quota("a"))[0]
	finish(t, q, engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	failedEv, failedJob := failJob(t, q, "b")
	pendingEv := enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "c", RunAt: clk.Now().Add(3 * time.Hour)})
	noJobsEv := enqueue(t, q, event("e", "{}"))
	if err := q.KVSet(ctx, "a", "short", []byte("v"), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := q.KVSet(ctx, "a", "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}

	if n, err := q.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("Prune inside retention deleted %d, %v", n, err)
	}
	clk.Add(90 * time.Minute)
	n, err := q.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// done job + its event + the jobless event + the expired KV entry.
	if n != 4 {
		t.Fatalf("Prune deleted %d, want 4", n)
	}
	tests := []struct {
		name    string
		eventID string
		gone    bool
	}{
		{"done job's event", doneEv, true},
		{"event without jobs", noJobsEv, true},
		{"failed job's event stays", failedEv, false},
		{"pending job's event stays", pendingEv, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := q.GetEvent(ctx, tt.eventID)
			if gone := errors.Is(err, engine.ErrNotFound); gone != tt.gone {
				t.Fatalf("GetEvent err = %v, want gone=%v", err, tt.gone)
			}
		})
	}
	if _, err := q.GetJob(ctx, l.Job.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("done job not pruned: %v", err)
	}
	if j := getJob(t, q, failedJob); j.State != engine.JobFailed {
		t.Fatalf("failed job = %+v", j)
	}
	if _, ok, _ := q.KVGet(ctx, "a", "forever"); !ok {
		t.Fatal("kv entry without ttl pruned")
	}
	// The delivery id is still remembered inside the dedupe window...
	dup := &engine.Event{Name: "e", Source: "s", DeliveryID: "d1", Payload: []byte("{}")}
	if _, err := q.Enqueue(ctx, dup, nil); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("dedupe record pruned with its event: %v", err)
	}
	// ...and pruned after it.
	clk.Add(time.Hour)
	if n, err := q.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune after dedupe window deleted %d, %v; want 1", n, err)
	}
	st, _ := q.Stats(ctx)
	if st.Events != 2 || st.States[engine.JobDone] != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestQueue_Prune_SteadyFileSize shows that with pruning the file stops
// growing under steady load: bbolt reuses the freed pages.
func TestQueue_Prune_SteadyFileSize(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{Retention: time.Nanosecond, DedupeWindow: time.Nanosecond})
	payload := []byte(fmt.Sprintf(`{"pad":%q}`, make([]byte, 1000)))
	round := func(r int) int64 {
		const n = 300
		var wg sync.WaitGroup // concurrent callers share commits: quicker
		for g := range 10 {
			wg.Go(func() {
				for i := g; i < n; i += 10 {
					ev := &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprint(r, "-", i), Payload: payload}
					if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a"}}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for left := n; left > 0; {
			ls := lease(t, q, 100, quota("a"))
			for _, l := range ls {
				wg.Go(func() {
					err := q.Finish(ctx, engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			left -= len(ls)
		}
		if _, err := q.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != 0 || st.States[engine.JobDone] != 0 {
			t.Fatalf("round %d: not pruned: %+v", r, st)
		}
		return st.FileBytes
	}
	var sizes []int64
	for r := range 8 {
		sizes = append(sizes, round(r))
	}
	// After two warm-up rounds the file must stop growing. Each round
	// writes ~300 KiB of events: without pruning the last five rounds
	// would add 1.5 MiB. Freed pages are reused only once no read
	// transaction (a lease reading events, Stats) still sees them, so a
	// loaded machine drifts by some pages; allow up to one round's data.
	const slack = 300 * 1024
	for r := 3; r < len(sizes); r++ {
		if sizes[r] > sizes[2]+slack {
			t.Fatalf("file grew under steady load with pruning: %v", sizes)
		}
	}
	t.Logf("file bytes per round: %v", sizes)
}

func TestQueue_Prune_Periodic(t *testing.T) {
	q := openQueue(t, store.Options{Retention: time.Millisecond}) // prunes every second
	enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a"})
	l := lease(t, q, 1, quota("a"))[0]
	finish(t, q, engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := q.GetJob(context.Background(), l.Job.ID)
		if errors.Is(err, engine.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("background prune did not remove the done job: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
