package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// load enqueues distinct events from several goroutines until stopped and
// records what each call answered and how long it took.
type load struct {
	mu      sync.Mutex
	acked   []string
	unavail int
	other   []error
	slowest time.Duration
	lastOK  time.Time
}

func (l *load) run(ctx context.Context, q *Queue, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				ev := &engine.Event{Name: "x", Source: "load", DeliveryID: fmt.Sprintf("w%d-%d", w, n),
					ReceivedAt: time.Now(), Payload: []byte(`{"n":1}`)}
				began := time.Now()
				id, err := q.Enqueue(context.Background(), ev, []engine.NewJob{{Listener: "a", MaxTries: 3}})
				took := time.Since(began)
				l.mu.Lock()
				l.slowest = max(l.slowest, took)
				switch {
				case err == nil:
					l.acked = append(l.acked, id)
					l.lastOK = time.Now()
				case errors.Is(err, engine.ErrUnavailable):
					l.unavail++
				default:
					l.other = append(l.other, err)
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // a sender backing off
				}
			}
		}()
	}
	return &wg
}

// okSince reports whether a call succeeded after t.
func (l *load) okSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK.After(t)
}

// check fails the test unless every call answered within bound, every
// failure was ErrUnavailable, some calls failed while the servers were
// away, and every acknowledged event is stored with its job.
func (l *load) check(t *testing.T, q *Queue, bound time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%d acknowledged, %d unavailable, slowest answer %s", len(l.acked), l.unavail, l.slowest)
	if len(l.other) > 0 {
		t.Fatalf("%d calls failed with something other than ErrUnavailable, first: %v", len(l.other), l.other[0])
	}
	if l.slowest > bound {
		t.Fatalf("an Enqueue took %s, want every answer within %s (no hangs)", l.slowest, bound)
	}
	if l.unavail == 0 {
		t.Fatal("no Enqueue failed while the server was down")
	}
	for _, id := range l.acked {
		if _, jobs, err := q.GetEvent(t.Context(), id); err != nil || len(jobs) != 1 {
			t.Fatalf("acknowledged event %s after the fault: %d jobs, %v", id, len(jobs), err)
		}
	}
	// A write the server stored whose acknowledgement was lost with the
	// connection was answered ErrUnavailable: stored events may exceed the
	// acknowledged ones by at most the calls answered so.
	st, err := q.Stats(t.Context())
	if err != nil || st.Events < len(l.acked) || st.Events > len(l.acked)+l.unavail {
		t.Fatalf("Stats.Events = %d (%v), want the %d acknowledged, plus at most the %d unavailable",
			st.Events, err, len(l.acked), l.unavail)
	}
}

// waitUntil polls cond every 50ms until it holds or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFault_ServerRestart: the server a process talks to goes away under
// load and comes back: Enqueue answers ErrUnavailable within its timeout
// (never hangs, never succeeds unacknowledged), then everything resumes by
// itself and no acknowledged event is lost.
func TestFault_ServerRestart(t *testing.T) {
	srv := natstest.Run(t, natstest.Options{SyncAlways: true})
	q := openTest(t, Options{URLs: []string{srv.URL()}, Timeout: time.Second, DedupeWindow: time.Hour})
	ctx, stop := context.WithCancel(context.Background())
	var l load
	wg := l.run(ctx, q, 8)
	waitUntil(t, 10*time.Second, "first acknowledgements", func() bool { return l.okSince(time.Time{}) })
	srv.Stop()
	time.Sleep(1500 * time.Millisecond) // the outage
	srv.Start(t)
	back := time.Now()
	waitUntil(t, 30*time.Second, "Enqueue succeeding after the restart", func() bool { return l.okSince(back) })
	stop()
	wg.Wait()
	l.check(t, q, 3*time.Second)
	leaseAll(t, q, len(l.acked))
}

// TestFault_ClusterLeaderLoss: in a three-node cluster with three
// replicas, the node leading the events stream is stopped under load and
// restarted: writes fail fast while a new leader is elected, resume by
// themselves, and nothing acknowledged is lost.
func TestFault_ClusterLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	nodes := natstest.Cluster(t, natstest.Options{})
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL())
	}
	q := openTest(t, Options{URLs: urls, Replicas: 3, Timeout: 2 * time.Second, DedupeWindow: time.Hour})
	if w := q.Warnings(); len(w) != 0 {
		t.Fatalf("three replicas warned: %v", w)
	}
	ctx, stop := context.WithCancel(context.Background())
	var l load
	wg := l.run(ctx, q, 8)
	waitUntil(t, 10*time.Second, "first acknowledgements", func() bool { return l.okSince(time.Time{}) })
	var leader *natstest.Server
	waitUntil(t, 10*time.Second, "a leader of the events stream", func() bool {
		for _, n := range nodes {
			if n.IsStreamLeader(q.n.events) {
				leader = n
				return true
			}
		}
		return false
	})
	t.Logf("stopping %s, leader of %s", leader.Name(), q.n.events)
	leader.Stop()
	time.Sleep(3 * time.Second)
	leader.Start(t)
	back := time.Now()
	waitUntil(t, 30*time.Second, "Enqueue succeeding after the restart", func() bool { return l.okSince(back) })
	stop()
	wg.Wait()
	l.mu.Lock()
	unavail := l.unavail
	l.unavail = max(unavail, 1) // a fast election may fail no call; the bound still holds
	l.mu.Unlock()
	l.check(t, q, 5*time.Second)
	t.Logf("%d calls unavailable during the election", unavail)
	leaseAll(t, q, len(l.acked))
}

// openTest opens a queue under a fresh prefix, closed when the test ends.
func openTest(t *testing.T, o Options) *Queue {
	t.Helper()
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("%s_f%d", runID, time.Now().UnixNano()&0xffff)
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	q, err := Open(t.Context(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return q
}

// leaseAll leases and finishes n jobs of listener "a", proving the worker
// side resumed after the fault.
func leaseAll(t *testing.T, q *Queue, n int) {
	t.Helper()
	done := 0
	waitUntil(t, 60*time.Second, fmt.Sprintf("leasing all %d jobs", n), func() bool {
		ls, err := q.Lease(t.Context(), 256, map[string]engine.Quota{"a": {Max: 256, LeaseFor: time.Minute}})
		if err != nil {
			return false
		}
		for _, l := range ls {
			if err := q.Finish(t.Context(), engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Succeeded}); err != nil {
				t.Fatalf("finish: %v", err)
			}
			done++
		}
		return done >= n
	})
}
