package queuetest

import (
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// workEvent is what a simulated worker reports: a job it leased (after
// Lease returned) or one it is about to finish (before Finish is called),
// so a job is "in flight" between the two from the queue's point of view
// as well as the test's.
type workEvent struct {
	leased bool
	job    engine.Job
	queue  int // index of the queue in the work call
}

// work runs workers goroutines per queue, each leasing one job at a time
// with qt, holding it for hold and finishing it as succeeded, until total
// jobs have finished. hook sees every lease and finish, under a lock. It
// fails the test if the jobs are not all done within waitFor.
func work(t *testing.T, queues []Queue, workers int, qt map[string]engine.Quota, total int, hold time.Duration, hook func(workEvent)) {
	t.Helper()
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(waitFor)
	finished := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done >= total
	}
	report := func(e workEvent) {
		mu.Lock()
		defer mu.Unlock()
		hook(e)
		if !e.leased {
			done++
		}
	}
	worker := func(qi int, q Queue) {
		defer wg.Done()
		for !finished() && time.Now().Before(deadline) {
			ls, err := q.Lease(t.Context(), 1, qt)
			if err != nil {
				t.Errorf("queue %d: Lease: %v", qi, err)
				return
			}
			if len(ls) == 0 {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			j := ls[0].Job
			report(workEvent{leased: true, job: j, queue: qi})
			if err := q.Start(t.Context(), j.ID, j.Attempt); err != nil {
				t.Errorf("queue %d: Start %s: %v", qi, j.ID, err)
				return
			}
			time.Sleep(hold)
			report(workEvent{job: j, queue: qi})
			err = q.Finish(t.Context(), engine.Result{
				JobID: j.ID, Attempt: j.Attempt, Outcome: engine.Succeeded,
				StartedAt: time.Now().UTC(), Duration: hold,
			})
			if err != nil {
				t.Errorf("queue %d: Finish %s: %v", qi, j.ID, err)
				return
			}
		}
	}
	for qi, q := range queues {
		for range workers {
			wg.Add(1)
			go worker(qi, q)
		}
	}
	wg.Wait()
	if !finished() {
		t.Fatalf("workers finished %d of %d jobs within %s", done, total, waitFor)
	}
}

// inflight counts a listener's jobs between lease and finish and keeps
// the highest count seen.
type inflight struct {
	now, peak int
}

func (c *inflight) observe(e workEvent) {
	if e.leased {
		c.now++
		c.peak = max(c.peak, c.now)
	} else {
		c.now--
	}
}
