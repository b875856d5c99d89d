package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
	"github.com/switchboard/switchboard/engine/worker"
)

// runFunc lets a test script the listener's behaviour in Go; the queue
// underneath is the real bbolt store.
type runFunc func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error

// generation makes a generation whose every listener runs run.
func generation(run runFunc, listeners ...*engine.Listener) *engine.Generation {
	handlers := map[string]engine.Handler{}
	for _, l := range listeners {
		handlers[l.Name] = boundRun{run, l}
	}
	return engine.NewGeneration(1, engine.NewRoutes(listeners), handlers)
}

// boundRun is a runFunc bound to its listener: an engine.Handler.
type boundRun struct {
	run runFunc
	l   *engine.Listener
}

func (b boundRun) Run(ctx context.Context, inv *engine.Invocation) error { return b.run(ctx, b.l, inv) }

// scriptError is a thrown JS error with its stack, as the script engine
// reports one.
type scriptError struct{ msg, stack string }

func (e *scriptError) Error() string      { return e.msg }
func (e *scriptError) StackTrace() string { return e.stack }

type harness struct {
	path string // the queue's file
	q    *store.Queue
	gen  *engine.Generation
	pool *worker.Pool

	mu       sync.Mutex
	observed []worker.Observation // what the pool told Observe
}

// observations returns what the pool has told Observe so far.
func (h *harness) observations() []worker.Observation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]worker.Observation(nil), h.observed...)
}

func newHarness(t *testing.T, workers int, run runFunc, listeners ...*engine.Listener) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := store.Open(store.Options{Path: path, CrashLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{path: path, q: q, gen: generation(run, listeners...)}
	h.pool = worker.New(worker.Options{
		Queue: q, Current: func() *engine.Generation { return h.gen }, Workers: workers,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Observe: func(o worker.Observation) {
			h.mu.Lock()
			h.observed = append(h.observed, o)
			h.mu.Unlock()
		},
	})
	h.pool.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.pool.Stop(ctx)
		q.Close(ctx)
	})
	return h
}

// submit stores one event with a job per listener that hears "test".
func (h *harness) submit(t *testing.T) string {
	t.Helper()
	id, err := engine.NewRouter(h.q, h.gen).Submit(context.Background(), &engine.Event{Name: "test", Source: "t", Payload: []byte(`{}`)}, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// wait polls the job of listener for event until cond holds.
func (h *harness) wait(t *testing.T, eventID, listener string, cond func(engine.Job) bool) engine.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, jobs, err := h.q.GetEvent(context.Background(), eventID)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Listener == listener && cond(j) {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job of %s never reached the expected state: %+v", listener, jobs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func listener(name string, tries int, timeout time.Duration, backoff ...time.Duration) *engine.Listener {
	if len(backoff) == 0 {
		backoff = []time.Duration{time.Millisecond}
	}
	return &engine.Listener{Name: name, On: []string{"test"}, Tries: tries, Timeout: timeout, Backoff: engine.Backoff{Steps: backoff}}
}

func state(s engine.JobState) func(engine.Job) bool {
	return func(j engine.Job) bool { return j.State == s }
}

func TestPool_RetryThenSucceed(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, 2, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		if calls.Add(1) < 3 {
			return errors.New("flaky")
		}
		return nil
	}, listener("l", 3, time.Second))
	ev := h.submit(t)
	j := h.wait(t, ev, "l", state(engine.JobDone))
	if j.Attempt != 3 || calls.Load() != 3 {
		t.Fatalf("done after attempt %d with %d calls, want 3 and 3", j.Attempt, calls.Load())
	}
}

func TestPool_DeadLetterKeepsErrorAndStack(t *testing.T) {
	h := newHarness(t, 2, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		return &scriptError{"Error: boom", "at handle (scripts/l.js:3:9)"}
	}, listener("l", 3, time.Second))
	ev := h.submit(t)
	j := h.wait(t, ev, "l", state(engine.JobFailed))
	if j.Attempt != 3 || j.LastError == nil || j.LastError.Message != "Error: boom" || j.LastError.Stack != "at handle (scripts/l.js:3:9)" || j.LastError.Kind != "error" {
		t.Fatalf("failed job = %+v, error %+v", j, j.LastError)
	}
}

func TestPool_BackoffSchedulesRetry(t *testing.T) {
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		return errors.New("nope")
	}, listener("l", 3, time.Second, time.Hour, 2*time.Hour))
	before := time.Now()
	ev := h.submit(t)
	j := h.wait(t, ev, "l", func(j engine.Job) bool { return j.State == engine.JobPending && j.Attempt == 1 })
	if j.RunAt.Before(before.Add(time.Hour)) || j.RunAt.After(time.Now().Add(time.Hour)) {
		t.Fatalf("retry scheduled at %s, want one backoff step (1h) after the failure", j.RunAt)
	}
}

func TestPool_TimeoutIsAFailedAttempt(t *testing.T) {
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		<-ctx.Done() // a script stuck until interrupted
		return ctx.Err()
	}, listener("slow", 2, 20*time.Millisecond))
	ev := h.submit(t)
	j := h.wait(t, ev, "slow", state(engine.JobFailed))
	if j.Attempt != 2 || j.LastError.Kind != "timeout" || j.LastError.Message != "listener timed out after 20ms" {
		t.Fatalf("job = %+v, error %+v", j, j.LastError)
	}
}

func TestPool_SnoozeDoesNotSpendAnAttempt(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		if calls.Add(1) <= 2 {
			return &engine.SnoozeError{After: time.Millisecond}
		}
		if inv.Job.Attempt != 1 {
			return errors.New("snoozes were charged as attempts")
		}
		return nil
	}, listener("l", 1, time.Second))
	ev := h.submit(t)
	h.wait(t, ev, "l", state(engine.JobDone))
}

func TestPool_CancelFailsForGood(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		calls.Add(1)
		return &engine.CancelError{Reason: "not a video"}
	}, listener("l", 5, time.Second))
	ev := h.submit(t)
	j := h.wait(t, ev, "l", state(engine.JobFailed))
	if calls.Load() != 1 || j.LastError.Kind != "cancel" {
		t.Fatalf("cancel ran %d times, error %+v; want 1 run and kind cancel", calls.Load(), j.LastError)
	}
}

// One listener failing, hanging or throwing never blocks or repeats another.
func TestPool_ListenersAreIsolated(t *testing.T) {
	var good atomic.Int32
	h := newHarness(t, 2, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		switch l.Name {
		case "good":
			good.Add(1)
			return nil
		case "hangs":
			<-ctx.Done()
			return ctx.Err()
		}
		return errors.New("always fails")
	}, listener("good", 3, time.Second), listener("bad", 3, time.Second), listener("hangs", 1, 200*time.Millisecond))
	ev := h.submit(t)
	h.wait(t, ev, "good", state(engine.JobDone))
	h.wait(t, ev, "bad", state(engine.JobFailed))
	h.wait(t, ev, "hangs", state(engine.JobFailed))
	if good.Load() != 1 {
		t.Fatalf("the good listener ran %d times, want once", good.Load())
	}
}

func TestPool_ConcurrencyLimit(t *testing.T) {
	var running, peak atomic.Int32
	var mu sync.Mutex
	h := newHarness(t, 4, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		n := running.Add(1)
		mu.Lock()
		if n > peak.Load() {
			peak.Store(n)
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return nil
	}, &engine.Listener{Name: "one", On: []string{"test"}, Tries: 1, Timeout: time.Second, Concurrency: 1})
	var events []string
	for range 8 {
		events = append(events, h.submit(t))
	}
	for _, ev := range events {
		h.wait(t, ev, "one", state(engine.JobDone))
	}
	if peak.Load() != 1 {
		t.Fatalf("peak concurrency %d, want 1", peak.Load())
	}
}

func TestPool_RateLimit(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	h := newHarness(t, 4, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return nil
	}, &engine.Listener{Name: "api", On: []string{"test"}, Tries: 1, Timeout: time.Second, Rate: engine.Rate{N: 2, Per: 200 * time.Millisecond}})
	var events []string
	for range 6 {
		events = append(events, h.submit(t))
	}
	for _, ev := range events {
		h.wait(t, ev, "api", state(engine.JobDone))
	}
	// 6 starts at 2 per 200ms with a burst of 2: the last cannot start
	// before two further intervals have passed.
	if span := starts[5].Sub(starts[0]); span < 350*time.Millisecond {
		t.Fatalf("6 starts took %s; a 2/200ms limit needs at least 400ms (±tolerance)", span)
	}
}

func TestPool_StopInterruptsAndSnoozes(t *testing.T) {
	started := make(chan struct{})
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, listener("l", 3, time.Minute))
	ev := h.submit(t)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.pool.Stop(ctx); err == nil {
		t.Fatal("Stop returned nil although it had to interrupt a job")
	}
	j := h.wait(t, ev, "l", state(engine.JobPending))
	if j.Attempt != 0 || j.LastError != nil {
		t.Fatalf("interrupted job = %+v: shutdown must not charge an attempt", j)
	}
}

// A prefetched job whose lease can no longer cover its timeout (here: the
// pool's clock runs half an hour ahead of the queue's, so 31 minutes of a
// 1h01m lease are left for a 1h timeout) is handed back unrun,
// without spending its attempt.
func TestPool_ShortLeaseHandedBackUnrun(t *testing.T) {
	q, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "queue.db")})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	gen := generation(func(context.Context, *engine.Listener, *engine.Invocation) error { calls.Add(1); return nil },
		listener("l", 3, time.Hour))
	pool := worker.New(worker.Options{
		Queue: q, Current: func() *engine.Generation { return gen }, Workers: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Now().Add(30 * time.Minute) },
	})
	h := &harness{q: q, gen: gen, pool: pool}
	pool.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool.Stop(ctx)
		q.Close(ctx)
	})
	ev := h.submit(t)
	j := h.wait(t, ev, "l", func(j engine.Job) bool { return j.State == engine.JobPending && j.UpdatedAt.After(j.CreatedAt) })
	if j.Attempt != 0 || calls.Load() != 0 {
		t.Fatalf("job = %+v after %d runs; want it pending, unrun, attempt 0", j, calls.Load())
	}
}

// On Stop, a running job finishes but jobs leased ahead and not started go
// back to pending unrun, their attempt not spent.
func TestPool_StopHandsBackPrefetched(t *testing.T) {
	g := newGated(0) // a fast first job: the pool prefetches after fast jobs
	h := newHarness(t, 1, g.run, listener("l", 3, time.Minute))
	h.wait(t, h.submit(t), "l", state(engine.JobDone))
	started, release, calls := g.started, g.release, &g.calls
	first := h.submit(t)
	<-started
	var rest []string
	for range 3 {
		rest = append(rest, h.submit(t))
	}
	for _, ev := range rest {
		h.wait(t, ev, "l", state(engine.JobRunning)) // leased into the prefetch buffer
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- h.pool.Stop(ctx)
	}()
	time.Sleep(20 * time.Millisecond) // let Stop end leasing before the worker frees up
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	h.wait(t, first, "l", state(engine.JobDone))
	for _, ev := range rest {
		j := h.wait(t, ev, "l", state(engine.JobPending))
		if j.Attempt != 0 || j.LastError != nil || len(j.Attempts) != 0 {
			t.Fatalf("prefetched job = %+v: want pending, attempt 0, no attempts recorded", j)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("listener ran %d times; only the warm-up and the job already running should have", n)
	}
	// Handed back unrun is not an attempt: metrics never hear of it.
	if obs := h.observations(); len(obs) != 2 || obs[0].Outcome != engine.Succeeded || obs[1].Outcome != engine.Succeeded {
		t.Fatalf("observed %+v, want the two attempts that ran, both succeeded", obs)
	}
}

// A retry's start is durable before its script runs: if the process dies
// during the attempt (here: the queue is closed under it, leaving it
// running as a dead process would), recovery charges the crash.
func TestPool_RetryStartDurableBeforeRun(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, 1, func(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
		if inv.Job.Attempt == 1 {
			return errors.New("flaky")
		}
		close(started)
		<-release
		return nil
	}, listener("l", 3, time.Minute))
	defer close(release)
	ev := h.submit(t)
	<-started
	ctx := context.Background()
	if err := h.q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := store.Open(store.Options{Path: h.path, CrashLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(ctx)
	_, jobs, err := q.GetEvent(ctx, ev)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("GetEvent: %v, %d jobs", err, len(jobs))
	}
	if j := jobs[0]; j.State != engine.JobPending || j.Attempt != 2 || j.Crashes != 1 {
		t.Fatalf("after the crash the job = %+v; want pending, attempt 2 charged, 1 crash", j)
	}
}

// Jobs slower than prefetchWait are not leased ahead: with one worker,
// only the job it runs is running; the rest stay pending.
func TestPool_SlowJobsNotPrefetched(t *testing.T) {
	g := newGated(30 * time.Millisecond) // sets the pace: slower than prefetchWait
	h := newHarness(t, 1, g.run, listener("l", 3, time.Minute))
	h.wait(t, h.submit(t), "l", state(engine.JobDone))
	started, release := g.started, g.release
	for range 4 {
		h.submit(t)
	}
	<-started
	time.Sleep(50 * time.Millisecond) // time for a lease ahead, were one coming
	st, err := h.q.Stats(context.Background())
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if st.States[engine.JobRunning] != 1 || st.States[engine.JobPending] != 3 {
		t.Fatalf("states %v while one slow job runs; want 1 running, 3 pending", st.States)
	}
}

// gated is a listener whose first attempt takes warmUp (setting the pool's
// pace) and whose later attempts announce themselves on started and block
// until release is closed or their context ends.
type gated struct {
	warmUp           time.Duration
	calls            atomic.Int32
	started, release chan struct{}
}

func newGated(warmUp time.Duration) *gated {
	return &gated{warmUp: warmUp, started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (g *gated) run(ctx context.Context, l *engine.Listener, inv *engine.Invocation) error {
	if g.calls.Add(1) == 1 {
		time.Sleep(g.warmUp)
		return nil
	}
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return nil
}
