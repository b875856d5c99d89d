package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
)

// TestRestart_UnderLoad stops a private PostgreSQL server under load, as
// a crash would (immediate: no checkpoint, the WAL replayed at start),
// keeps it down, and starts it again. While it is down every Enqueue
// fails within the call bound with ErrUnavailable (503, never a hang),
// Ping fails (/readyz 503), and the worker loop's Lease calls fail; once
// it is back everything resumes by itself, every acknowledged event is
// there with its jobs, and every job is worked off.
func TestRestart_UnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a private PostgreSQL server")
	}
	srv := postgrestest.Start(t)
	const callBound = 2 * time.Second
	q, err := Open(context.Background(), Options{DSN: srv.DSN(), Schema: "restart", DedupeWindow: time.Hour,
		Timeout: callBound, PollInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, HeartbeatWindow: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())

	ld := &restartLoad{q: q}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); ld.enqueue(ctx, w) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); ld.work(ctx) }()

	// A crash first (immediate: no checkpoint, the WAL replayed at start),
	// then what pg_ctlcluster restart does (fast).
	for _, mode := range []string{"immediate", "fast"} {
		ld.waitAcked(t, ld.ackedCount()+200)
		srv.Stop(mode)
		ld.downTo.Store(0)
		ld.downFrom.Store(time.Now().UnixNano()) // calls that begin from now on find it down
		pingErr := q.Ping(context.Background())
		time.Sleep(2 * time.Second)
		ld.downTo.Store(time.Now().UnixNano()) // and calls that end before now
		ld.mu.Lock()
		failedDown, ackedDown := ld.failedDown, ld.ackedDown
		ld.failedDown, ld.ackedDown = 0, 0
		ld.mu.Unlock()
		srv.StartServer()
		if pingErr == nil {
			t.Errorf("%s stop: Ping succeeded while the server was down", mode)
		}
		if failedDown == 0 {
			t.Errorf("%s stop: no Enqueue failed while the server was down", mode)
		}
		if ackedDown > 0 {
			t.Errorf("%s stop: %d events acknowledged while the server was down", mode, ackedDown)
		}
		recovered := time.Now()
		ld.waitAcked(t, ld.ackedCount()+200)
		t.Logf("%s stop: %d enqueues failed while down; accepted again %s after the server was back",
			mode, failedDown, time.Since(recovered).Round(time.Millisecond))
		waitFor(t, 15*time.Second, "Ping after the restart", func() bool { return q.Ping(context.Background()) == nil })
	}
	// A server that stops answering: connections hang rather than fail.
	ld.waitAcked(t, ld.ackedCount()+200)
	srv.Freeze()
	ld.downTo.Store(0)
	ld.downFrom.Store(time.Now().UnixNano())
	time.Sleep(3 * callBound)
	ld.downTo.Store(time.Now().UnixNano())
	srv.Thaw()
	ld.mu.Lock()
	frozenFailed, frozenAcked := ld.failedDown, ld.ackedDown
	ld.mu.Unlock()
	if frozenFailed == 0 || frozenAcked > 0 {
		t.Errorf("frozen server: %d enqueues failed, %d acknowledged; want failures only", frozenFailed, frozenAcked)
	}
	ld.waitAcked(t, ld.ackedCount()+200)
	t.Logf("frozen server: %d enqueues failed, each within the bound", frozenFailed)
	stop()
	wg.Wait()

	ld.mu.Lock()
	defer ld.mu.Unlock()
	t.Logf("the slowest failing Enqueue took %s", ld.slowest.Round(time.Millisecond))
	if ld.slowest > callBound+time.Second {
		t.Errorf("the slowest failing Enqueue took %s, want at most %s", ld.slowest, callBound+time.Second)
	}
	for _, err := range ld.badErrs {
		t.Errorf("an Enqueue failed without ErrUnavailable: %v", err)
	}
	for id := range ld.acked {
		if _, jobs, err := q.GetEvent(context.Background(), id); err != nil || len(jobs) != 1 {
			t.Fatalf("acknowledged event %s after the restart: %d jobs, %v", id, len(jobs), err)
		}
	}
	drainAll(t, q)
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.States[engine.JobDone] < len(ld.acked) || st.States[engine.JobPending]+st.States[engine.JobRunning] != 0 {
		t.Fatalf("after the restart: %v for %d acknowledged events; want every job done", st.States, len(ld.acked))
	}
	if !q.listening.Load() {
		t.Error("the LISTEN session did not come back")
	}
	t.Logf("%d events acknowledged, all stored and worked off", len(ld.acked))
}

// restartLoad is the load of TestRestart_UnderLoad and what it saw.
type restartLoad struct {
	q                *Queue
	downFrom, downTo atomic.Int64 // unix nanos the server was down between; 0 unknown

	mu         sync.Mutex
	acked      map[string]bool
	failedDown int
	ackedDown  int
	slowest    time.Duration // of a failing call
	badErrs    []error
}

func (l *restartLoad) enqueue(ctx context.Context, w int) {
	for i := 0; ctx.Err() == nil; i++ {
		ev := &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprintf("%d-%d", w, i), Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
		began := time.Now()
		id, err := l.q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "l", MaxTries: 5}})
		took := time.Since(began)
		from, to := l.downFrom.Load(), l.downTo.Load()
		wasDown := from != 0 && began.UnixNano() > from && (to == 0 || time.Now().UnixNano() < to)
		l.mu.Lock()
		if l.acked == nil {
			l.acked = map[string]bool{}
		}
		switch {
		case err == nil:
			l.acked[id] = true
			if wasDown {
				l.ackedDown++
			}
		case ctx.Err() != nil:
		default:
			if wasDown {
				l.failedDown++
			}
			l.slowest = max(l.slowest, took)
			if !errors.Is(err, engine.ErrUnavailable) && len(l.badErrs) < 5 {
				l.badErrs = append(l.badErrs, err)
			}
		}
		l.mu.Unlock()
		if err != nil {
			time.Sleep(20 * time.Millisecond) // a sender's retry
		}
	}
}

// work leases and finishes jobs as the worker pool does, backing off
// after a failed Lease.
func (l *restartLoad) work(ctx context.Context) {
	for ctx.Err() == nil {
		if err := workOnce(ctx, l.q); err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// workOnce leases up to 50 jobs of listener l and finishes them all.
func workOnce(ctx context.Context, q *Queue) error {
	ls, err := q.Lease(ctx, 50, map[string]engine.Quota{"l": {Max: 50, LeaseFor: 5 * time.Second}})
	if err != nil {
		return err
	}
	if len(ls) == 0 {
		select {
		case <-ctx.Done():
		case <-q.Ready():
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	}
	for _, le := range ls {
		_ = q.Start(ctx, le.Job.ID, le.Job.Attempt)
		_ = q.Finish(ctx, engine.Result{JobID: le.Job.ID, Attempt: le.Job.Attempt, Outcome: engine.Succeeded, StartedAt: time.Now()})
	}
	return nil
}

func (l *restartLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *restartLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d acknowledged events", n), func() bool { return l.ackedCount() >= n })
}

// drainAll works off every pending job (lost Finishes leave jobs running
// until their lease ends, and they come back).
func drainAll(t *testing.T, q *Queue) {
	t.Helper()
	waitFor(t, 60*time.Second, "every job done", func() bool {
		_ = workOnce(context.Background(), q)
		st, err := q.Stats(context.Background())
		return err == nil && st.States[engine.JobPending]+st.States[engine.JobRunning] == 0
	})
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
