package queuetest

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var fenceTests = []test{
	{"StaleAttempt", testFenceStale},
	{"WrongAttempt", testFenceWrongAttempt},
	{"FinishTwice", testFenceFinishTwice},
	{"NotLeased", testFenceNotLeased},
	{"UnknownJob", testFenceUnknown},
}

// testFenceStale: once a job's lease ran out and it was leased again, the
// old attempt can neither start nor finish it; the new one can.
func testFenceStale(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	old := lease(t, q, 1, quota(1, shortLease, "a"))[0].Job
	start(t, q, old)
	// The new lease is long: the checks below must see it running.
	cur := leaseUntil(t, q, ids[0], quota(1, longLease, "a")).Job
	if cur.Attempt != old.Attempt+1 {
		t.Fatalf("re-leased with attempt %d after a started attempt %d expired, want %d", cur.Attempt, old.Attempt, old.Attempt+1)
	}
	wantErr(t, "Start of the stale attempt", q.Start(t.Context(), old.ID, old.Attempt), engine.ErrLeaseLost)
	err := q.Finish(t.Context(), engine.Result{JobID: old.ID, Attempt: old.Attempt, Outcome: engine.Succeeded, StartedAt: time.Now().UTC()})
	wantErr(t, "Finish of the stale attempt", err, engine.ErrLeaseLost)
	if j := wantState(t, q, old.ID, engine.JobRunning); j.Attempt != cur.Attempt {
		t.Fatalf("after stale acks the job runs attempt %d, want %d", j.Attempt, cur.Attempt)
	}
	succeed(t, q, cur)
	wantState(t, q, old.ID, engine.JobDone)
}

// testFenceWrongAttempt: acks naming another attempt than the running one
// are refused and change nothing.
func testFenceWrongAttempt(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	enqueueJobs(t, q, jobsFor("a")...)
	j := lease(t, q, 1, quota(1, longLease, "a"))[0].Job
	wantErr(t, "Start of attempt 2 while 1 runs", q.Start(t.Context(), j.ID, j.Attempt+1), engine.ErrLeaseLost)
	err := q.Finish(t.Context(), engine.Result{JobID: j.ID, Attempt: j.Attempt + 1, Outcome: engine.Failed, StartedAt: time.Now().UTC()})
	wantErr(t, "Finish of attempt 2 while 1 runs", err, engine.ErrLeaseLost)
	if got := wantState(t, q, j.ID, engine.JobRunning); got.Attempt != j.Attempt {
		t.Fatalf("refused acks changed the attempt to %d", got.Attempt)
	}
	succeed(t, q, j)
}

// testFenceFinishTwice: a finished attempt cannot finish again.
func testFenceFinishTwice(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	enqueueJobs(t, q, jobsFor("a")...)
	j := lease(t, q, 1, quota(1, longLease, "a"))[0].Job
	succeed(t, q, j)
	err := q.Finish(t.Context(), engine.Result{JobID: j.ID, Attempt: j.Attempt, Outcome: engine.Failed, StartedAt: time.Now().UTC()})
	wantErr(t, "second Finish of one attempt", err, engine.ErrLeaseLost)
	wantErr(t, "Start after Finish", q.Start(t.Context(), j.ID, j.Attempt), engine.ErrLeaseLost)
	wantState(t, q, j.ID, engine.JobDone)
}

// testFenceNotLeased: a pending job cannot be started or finished.
func testFenceNotLeased(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	wantErr(t, "Start of a pending job", q.Start(t.Context(), ids[0], 1), engine.ErrLeaseLost)
	wantErr(t, "Start of a pending job, attempt 0", q.Start(t.Context(), ids[0], 0), engine.ErrLeaseLost)
	err := q.Finish(t.Context(), engine.Result{JobID: ids[0], Attempt: 1, Outcome: engine.Succeeded, StartedAt: time.Now().UTC()})
	wantErr(t, "Finish of a pending job", err, engine.ErrLeaseLost)
	wantState(t, q, ids[0], engine.JobPending)
}

// testFenceUnknown: Finish of a job that does not exist is ErrNotFound;
// Start of one is refused.
func testFenceUnknown(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	for _, id := range []string{"no-such-job", ids[0] + "0", "0"} {
		err := q.Finish(t.Context(), engine.Result{JobID: id, Attempt: 1, Outcome: engine.Succeeded, StartedAt: time.Now().UTC()})
		wantErr(t, "Finish of unknown job "+id, err, engine.ErrNotFound)
		err = q.Start(t.Context(), id, 1)
		if !errors.Is(err, engine.ErrNotFound) && !errors.Is(err, engine.ErrLeaseLost) {
			t.Fatalf("Start of unknown job %s: err = %v, want ErrNotFound or ErrLeaseLost", id, err)
		}
	}
}
