package queuetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var leaseTests = []test{
	{"Quota", testLeaseQuota},
	{"Max", testLeaseMax},
	{"MaxIsPerCall", testLeaseMaxPerCall},
	{"Nothing", testLeaseNothing},
	{"OldestRunAtFirst", testLeaseOldestFirst},
	{"Delay", testLeaseDelay},
	{"Paused", testLeasePaused},
	{"PausedSurvivesRestart", testLeasePausedRestart},
	{"ReadyOnEnqueue", testReadyEnqueue},
	{"ReadyOnRetry", testReadyRetry},
}

// testLeaseQuota: each listener gets at most its Max; listeners absent
// from the quota are left alone; a claimed job is running with its
// attempt counted, a lease end and its event.
func testLeaseQuota(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for range 5 {
		enqueue(t, q, newEvent("x", `{"k":"v"}`), jobsFor("a", "b", "c")...)
	}
	qt := map[string]engine.Quota{
		"a": {Max: 2, LeaseFor: time.Minute},
		"b": {Max: 3, LeaseFor: 2 * time.Minute},
	}
	before := time.Now()
	leased := lease(t, q, 100, qt)
	after := time.Now()
	count := map[string]int{}
	for _, l := range leased {
		j := l.Job
		count[j.Listener]++
		lf := qt[j.Listener].LeaseFor
		if j.State != engine.JobRunning || j.Attempt != 1 || !within(j.LeaseUntil, before.Add(lf), after.Add(lf), clockTol) {
			t.Errorf("leased job = %+v, want running, attempt 1, lease until now+%s", j, lf)
		}
		if l.Event == nil || l.Event.ID != j.EventID || string(l.Event.Payload) != `{"k":"v"}` {
			t.Errorf("lease of %s carries event %+v, want its event", j.ID, l.Event)
		}
		if s := getJob(t, q, j.ID); s.State != engine.JobRunning || s.Attempt != 1 {
			t.Errorf("stored leased job = %+v, want running attempt 1", s)
		}
	}
	if count["a"] != 2 || count["b"] != 3 || count["c"] != 0 {
		t.Fatalf("leased per listener %v, want a:2 b:3 and none of c (absent from the quota)", count)
	}
	cs, err := q.ListJobs(t.Context(), engine.JobQuery{Listener: "c"})
	if err != nil {
		t.Fatalf("ListJobs: %v", err)
	}
	for _, j := range cs {
		if j.State != engine.JobPending || j.Attempt != 0 {
			t.Errorf("job of a listener absent from the quota = %+v, want untouched", j)
		}
	}
}

// testLeaseMax: max bounds the whole call.
func testLeaseMax(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for range 4 {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("a", "b")...)
	}
	if got := lease(t, q, 3, quota(10, longLease, "a", "b")); len(got) != 3 {
		t.Fatalf("Lease(max 3) claimed %d jobs, want 3", len(got))
	}
}

// testLeaseMaxPerCall: Max bounds one call, not the running jobs.
func testLeaseMaxPerCall(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for range 5 {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	}
	first := lease(t, q, 100, quota(2, longLease, "a"))
	second := lease(t, q, 100, quota(2, longLease, "a"))
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("two Lease calls with Max 2 claimed %d and %d, want 2 and 2", len(first), len(second))
	}
	if slices.ContainsFunc(second, func(l engine.Lease) bool { return slices.Contains(leaseIDs(first), l.Job.ID) }) {
		t.Fatalf("a running job was leased twice: %s then %s", joined(leaseIDs(first)), joined(leaseIDs(second)))
	}
}

// testLeaseNothing: with nothing to claim, or nothing asked for, Lease
// returns no leases and no error.
func testLeaseNothing(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	if got := lease(t, q, 10, quota(10, longLease, "a")); len(got) != 0 {
		t.Fatalf("Lease on an empty queue = %d leases", len(got))
	}
	enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	if got := lease(t, q, 0, quota(10, longLease, "a")); len(got) != 0 {
		t.Fatalf("Lease(max 0) = %d leases", len(got))
	}
	if got := lease(t, q, 10, nil); len(got) != 0 {
		t.Fatalf("Lease(no quota) = %d leases", len(got))
	}
	if got := lease(t, q, 10, quota(0, longLease, "a")); len(got) != 0 {
		t.Fatalf("Lease(quota Max 0) = %d leases", len(got))
	}
}

// testLeaseOldestFirst: jobs are claimed oldest RunAt first, across
// listeners, whatever order they were created in.
func testLeaseOldestFirst(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	now := time.Now().UTC()
	ids := enqueueJobs(t, q,
		engine.NewJob{Listener: "a", MaxTries: 1, RunAt: now.Add(-1 * time.Second)},
		engine.NewJob{Listener: "b", MaxTries: 1, RunAt: now.Add(-3 * time.Second)},
		engine.NewJob{Listener: "a", MaxTries: 1, RunAt: now.Add(-2 * time.Second)},
	)
	want := []string{ids[1], ids[2], ids[0]}
	var got []string
	for range 3 {
		got = append(got, leaseIDs(lease(t, q, 1, quota(10, longLease, "a", "b")))...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("leased %s one at a time, want %s (oldest RunAt first)", joined(got), joined(want))
	}
}

// testLeaseDelay: a job due later is not claimed before its RunAt, and
// is claimed once it is due.
func testLeaseDelay(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	at := time.Now().UTC().Add(700 * time.Millisecond)
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1, RunAt: at})
	if due := q.NextDue(); !due.IsZero() && due.After(at.Add(callerTol)) {
		t.Errorf("NextDue = %s, later than the pending job's RunAt %s", due, at)
	}
	if l := leaseAt(t, q, ids[0], at, quota(10, longLease, "a")); l.Job.Attempt != 1 {
		t.Fatalf("delayed job leased with attempt %d, want 1", l.Job.Attempt)
	}
}

// testLeasePaused: a paused listener's jobs are stored but not claimed;
// once resumed they are, and Ready says so.
func testLeasePaused(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	before := time.Now()
	if err := q.SetPaused(t.Context(), "a", true); err != nil {
		t.Fatalf("SetPaused(a, true): %v", err)
	}
	ids := enqueueJobs(t, q, jobsFor("a", "b")...)
	got := lease(t, q, 10, quota(10, longLease, "a", "b"))
	if !slices.Equal(leaseIDs(got), ids[1:]) {
		t.Fatalf("leased %s with a paused, want only b's job %s", joined(leaseIDs(got)), ids[1])
	}
	since, ok := stats(t, q).Paused["a"]
	if !ok || !within(since, before, time.Now(), clockTol) {
		t.Fatalf("Stats.Paused = %v, want a paused since about %s", stats(t, q).Paused, before)
	}
	if err := q.SetPaused(t.Context(), "a", true); err != nil {
		t.Fatalf("pausing a paused listener: %v", err)
	}
	if again := stats(t, q).Paused["a"]; !near(again, since, callerTol) {
		t.Fatalf("pausing again moved the pause from %s to %s; it must change nothing", since, again)
	}
	if len(lease(t, q, 10, quota(10, longLease, "a"))) != 0 {
		t.Fatal("a paused listener's job was leased")
	}
	drainReady(q)
	if err := q.SetPaused(t.Context(), "a", false); err != nil {
		t.Fatalf("SetPaused(a, false): %v", err)
	}
	waitReady(t, q, "resuming a listener with a pending job")
	if _, ok := stats(t, q).Paused["a"]; ok {
		t.Fatal("Stats.Paused still lists a after resume")
	}
	leaseUntil(t, q, ids[0], quota(10, longLease, "a"))
	if err := q.SetPaused(t.Context(), "never-paused", false); err != nil {
		t.Fatalf("resuming a running listener: %v", err)
	}
}

// testLeasePausedRestart: a pause is stored durably.
func testLeasePausedRestart(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	if err := q.SetPaused(t.Context(), "a", true); err != nil {
		t.Fatalf("SetPaused: %v", err)
	}
	ids := enqueueJobs(t, q, jobsFor("a")...)
	q = h.Crash(t, q)
	if _, ok := stats(t, q).Paused["a"]; !ok {
		t.Fatal("the pause of a did not survive a restart")
	}
	if got := lease(t, q, 10, quota(10, longLease, "a")); len(got) != 0 {
		t.Fatalf("after a restart a paused listener's job was leased: %s", joined(leaseIDs(got)))
	}
	if err := q.SetPaused(t.Context(), "a", false); err != nil {
		t.Fatalf("SetPaused(false): %v", err)
	}
	leaseUntil(t, q, ids[0], quota(10, longLease, "a"))
}

// testReadyEnqueue: Ready fires when a job is added.
func testReadyEnqueue(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	drainReady(q)
	enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	waitReady(t, q, "Enqueue")
	id := enqueue(t, q, newEvent("x", `{}`))
	drainReady(q)
	if _, err := q.AddJobs(t.Context(), id, jobsFor("b")); err != nil {
		t.Fatalf("AddJobs: %v", err)
	}
	waitReady(t, q, "AddJobs")
}

// testReadyRetry: Ready fires when a job is rescheduled.
func testReadyRetry(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	enqueueJobs(t, q, jobsFor("a")...)
	l := lease(t, q, 1, quota(1, longLease, "a"))[0]
	start(t, q, l.Job)
	drainReady(q)
	now := time.Now().UTC()
	finish(t, q, engine.Result{
		JobID: l.Job.ID, Attempt: 1, Outcome: engine.Retry, RunAt: now, StartedAt: now,
		Err: &engine.JobError{Attempt: 1, At: now, Kind: engine.KindError, Message: "again"},
	})
	waitReady(t, q, "a Retry due now")
}

// errNotYet is what polls return while waiting.
var errNotYet = errors.New("not yet")
