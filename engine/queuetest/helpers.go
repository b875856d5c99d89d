package queuetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Durations the suite works with. They are real time: a backend whose
// clocks live in a server is tested as it runs.
const (
	// shortLease is the lease of tests that wait for leases to expire.
	shortLease = 300 * time.Millisecond
	// longLease is the lease of tests that must not see one expire.
	longLease = 5 * time.Minute
	// window is the dedupe window and retention of the tests that wait
	// for one to pass.
	window = time.Second
	// waitFor bounds a poll for something the backend does by itself
	// soon (a lease taken back, a TTL expiring, a Ready signal).
	waitFor = 10 * time.Second
	// ProcessGoneWithin is how soon after its process is killed a queue
	// must stop listing it in Processes. Backends state their own
	// heartbeat window (a few seconds); this bound is generous so the
	// suite stays meaningful without knowing it.
	ProcessGoneWithin = 30 * time.Second
	// pollEvery is how often a poll retries.
	pollEvery = 20 * time.Millisecond
	// callerTol is how far a time the caller gave may move in storage
	// (PostgreSQL keeps microseconds, some stores milliseconds).
	callerTol = time.Millisecond
	// clockTol is how far a time the backend stamps may be from the
	// test's clock (a server clock on the same machine, rounding).
	clockTol = 500 * time.Millisecond
)

// eventually polls cond until it returns nil, failing the test with the
// last error once within has passed.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, within, err)
		}
		time.Sleep(pollEvery)
	}
}

// newEvent returns an event of source "test" received now.
func newEvent(name, payload string) *engine.Event {
	return &engine.Event{
		Name: name, Source: "test", ReceivedAt: time.Now().UTC(),
		Payload: []byte(payload),
	}
}

// jobsFor asks for one job per listener, three tries each.
func jobsFor(listeners ...string) []engine.NewJob {
	out := make([]engine.NewJob, len(listeners))
	for i, l := range listeners {
		out[i] = engine.NewJob{Listener: l, MaxTries: 3}
	}
	return out
}

func enqueue(t testing.TB, q Queue, ev *engine.Event, jobs ...engine.NewJob) string {
	t.Helper()
	id, err := q.Enqueue(t.Context(), ev, jobs)
	if err != nil {
		t.Fatalf("Enqueue %s: %v", ev.Name, err)
	}
	return id
}

// enqueueJobs stores one event with jobs and returns the jobs' ids in the
// order asked for.
func enqueueJobs(t testing.TB, q Queue, jobs ...engine.NewJob) []string {
	t.Helper()
	id := enqueue(t, q, newEvent("thing.happened", `{"n":1}`), jobs...)
	_, got := getEvent(t, q, id)
	if len(got) != len(jobs) {
		t.Fatalf("event %s has %d jobs, enqueued %d", id, len(got), len(jobs))
	}
	ids := make([]string, len(got))
	for i, j := range got {
		ids[i] = j.ID
	}
	return ids
}

// quota grants each listener max claims of lease for.
func quota(max int, leaseFor time.Duration, listeners ...string) map[string]engine.Quota {
	m := make(map[string]engine.Quota, len(listeners))
	for _, l := range listeners {
		m[l] = engine.Quota{Max: max, LeaseFor: leaseFor}
	}
	return m
}

func lease(t testing.TB, q Queue, max int, qt map[string]engine.Quota) []engine.Lease {
	t.Helper()
	ls, err := q.Lease(t.Context(), max, qt)
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	return ls
}

// leaseUntil leases for qt until a lease of job id comes back, and
// returns it. Any other job it claims fails the test, so callers lease
// only listeners whose jobs they expect.
func leaseUntil(t testing.TB, q Queue, id string, qt map[string]engine.Quota) engine.Lease {
	t.Helper()
	return leaseWithin(t, q, id, qt, waitFor)
}

// leaseWithin is leaseUntil with its own deadline.
func leaseWithin(t testing.TB, q Queue, id string, qt map[string]engine.Quota, within time.Duration) engine.Lease {
	t.Helper()
	var got engine.Lease
	eventually(t, within, "lease job "+id, func() error {
		for _, l := range lease(t, q, 100, qt) {
			if l.Job.ID != id {
				t.Fatalf("leased job %s (%s), waiting for %s", l.Job.ID, l.Job.Listener, id)
			}
			got = l
			return nil
		}
		return errors.New("not leased yet")
	})
	return got
}

// leaseIDs returns the ids of leases, in the order given.
func leaseIDs(ls []engine.Lease) []string {
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.Job.ID
	}
	return ids
}

func start(t testing.TB, q Queue, j engine.Job) {
	t.Helper()
	if err := q.Start(t.Context(), j.ID, j.Attempt); err != nil {
		t.Fatalf("Start %s attempt %d: %v", j.ID, j.Attempt, err)
	}
}

func finish(t testing.TB, q Queue, res engine.Result) {
	t.Helper()
	if err := q.Finish(t.Context(), res); err != nil {
		t.Fatalf("Finish %s attempt %d (%s): %v", res.JobID, res.Attempt, res.Outcome, err)
	}
}

// succeed starts and finishes a leased job as a worker whose run
// succeeded.
func succeed(t testing.TB, q Queue, j engine.Job) {
	t.Helper()
	start(t, q, j)
	finish(t, q, engine.Result{
		JobID: j.ID, Attempt: j.Attempt, Outcome: engine.Succeeded,
		StartedAt: time.Now().UTC(), Duration: time.Millisecond,
	})
}

// fail starts a leased job and fails it for good with message msg.
func fail(t testing.TB, q Queue, j engine.Job, msg string) {
	t.Helper()
	start(t, q, j)
	now := time.Now().UTC()
	finish(t, q, engine.Result{
		JobID: j.ID, Attempt: j.Attempt, Outcome: engine.Failed, StartedAt: now,
		Duration: time.Millisecond,
		Err:      &engine.JobError{Attempt: j.Attempt, At: now, Kind: engine.KindError, Message: msg},
	})
}

func getJob(t testing.TB, q Queue, id string) *engine.Job {
	t.Helper()
	j, err := q.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob %s: %v", id, err)
	}
	return j
}

func getEvent(t testing.TB, q Queue, id string) (*engine.Event, []engine.Job) {
	t.Helper()
	ev, jobs, err := q.GetEvent(t.Context(), id)
	if err != nil {
		t.Fatalf("GetEvent %s: %v", id, err)
	}
	return ev, jobs
}

func stats(t testing.TB, q Queue) engine.Stats {
	t.Helper()
	s, err := q.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

// wantState fails the test unless job id is in state.
func wantState(t testing.TB, q Queue, id string, state engine.JobState) *engine.Job {
	t.Helper()
	j := getJob(t, q, id)
	if j.State != state {
		t.Fatalf("job %s is %s, want %s (attempt %d, last error %+v)", id, j.State, state, j.Attempt, j.LastError)
	}
	return j
}

// wantErr fails the test unless err wraps target.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want one wrapping %q", what, err, target)
	}
}

// drainReady empties q's Ready channel so a later signal is a new one.
func drainReady(q Queue) {
	for {
		select {
		case <-q.Ready():
		default:
			return
		}
	}
}

// waitReady fails the test unless q's Ready fires within waitFor.
func waitReady(t testing.TB, q Queue, after string) {
	t.Helper()
	select {
	case <-q.Ready():
	case <-time.After(waitFor):
		t.Fatalf("Ready did not fire within %s after %s", waitFor, after)
	}
}

// near reports whether got is within tol of want.
func near(got, want time.Time, tol time.Duration) bool {
	d := got.Sub(want)
	return d <= tol && d >= -tol
}

// within reports whether got lies in [lo-tol, hi+tol].
func within(got, lo, hi time.Time, tol time.Duration) bool {
	return !got.Before(lo.Add(-tol)) && !got.After(hi.Add(tol))
}

// sameError compares what a backend stored of a JobError with what was
// given, allowing for the stored time's precision.
func sameError(got, want *engine.JobError) error {
	switch {
	case got == nil && want == nil:
		return nil
	case got == nil || want == nil:
		return fmt.Errorf("error = %+v, want %+v", got, want)
	case got.Kind != want.Kind || got.Message != want.Message || got.Stack != want.Stack ||
		got.Attempt != want.Attempt || !near(got.At, want.At, callerTol):
		return fmt.Errorf("error = %+v, want %+v", *got, *want)
	}
	return nil
}

// joined is a short form of an id list for failure messages.
func joined(ids []string) string { return "[" + strings.Join(ids, " ") + "]" }

// leaseAt polls Lease until job id, due at at, comes back, and fails the
// test if a call that returned before at (less the clock tolerance)
// claimed it: a job must not run before it is due.
func leaseAt(t testing.TB, q Queue, id string, at time.Time, qt map[string]engine.Quota) engine.Lease {
	t.Helper()
	var got engine.Lease
	eventually(t, waitFor+time.Until(at), "lease job "+id+" due at "+at.String(), func() error {
		ls := lease(t, q, 100, qt)
		returned := time.Now()
		for _, l := range ls {
			if l.Job.ID != id {
				t.Fatalf("leased job %s (%s), waiting for %s", l.Job.ID, l.Job.Listener, id)
			}
			if returned.Before(at.Add(-clockTol)) {
				t.Fatalf("job %s due at %s was leased by %s", id, at, returned)
			}
			got = l
			return nil
		}
		return errNotYet
	})
	return got
}

// leaseN leases jobs of listener until it holds n of them (polling a
// little: a backend may hand out fewer per call), and returns them by id.
func leaseN(t testing.TB, q Queue, listener string, n int) map[string]engine.Job {
	t.Helper()
	held := make(map[string]engine.Job, n)
	eventually(t, waitFor, fmt.Sprintf("leasing %d jobs of %s", n, listener), func() error {
		for _, l := range lease(t, q, n-len(held), quota(n-len(held), longLease, listener)) {
			held[l.Job.ID] = l.Job
		}
		if len(held) < n {
			return fmt.Errorf("holding %d", len(held))
		}
		return nil
	})
	return held
}
