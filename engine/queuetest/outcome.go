package queuetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var outcomeTests = []test{
	{"Succeeded", testOutcomeSucceeded},
	{"Retry", testOutcomeRetry},
	{"Failed", testOutcomeFailed},
	{"Snoozed", testOutcomeSnoozed},
	{"Interrupted", testOutcomeInterrupted},
	{"Returned", testOutcomeReturned},
	{"AttemptsBounded", testOutcomeAttemptsBounded},
}

// attempt starts j (unless the outcome is Returned, which never ran) and
// finishes it with outcome; the result is returned for comparison.
func attempt(t *testing.T, q Queue, j engine.Job, o engine.Outcome, runAt time.Time, msg string) engine.Result {
	t.Helper()
	res := engine.Result{JobID: j.ID, Attempt: j.Attempt, Outcome: o, RunAt: runAt}
	if o != engine.Returned {
		start(t, q, j)
		res.StartedAt = time.Now().UTC().Add(-123 * time.Millisecond)
		res.Duration = 123456789 * time.Nanosecond
	}
	if msg != "" {
		res.Err = &engine.JobError{
			Attempt: j.Attempt, At: time.Now().UTC(), Kind: engine.KindError,
			Message: msg, Stack: "at handle (listener.js:3:9)",
		}
		if o == engine.Interrupted {
			res.Err.Kind = engine.KindInterrupted
		}
	}
	finish(t, q, res)
	return res
}

// checkAttempt compares a recorded attempt with the result it came from.
func checkAttempt(got engine.Attempt, res engine.Result) error {
	d := got.Duration - res.Duration
	if got.N != res.Attempt || got.Outcome != res.Outcome || !near(got.StartedAt, res.StartedAt, callerTol) ||
		d > callerTol || d < -callerTol {
		return fmt.Errorf("attempt = {N:%d %s at %s for %s}, want {N:%d %s at %s for %s}",
			got.N, got.Outcome, got.StartedAt, got.Duration, res.Attempt, res.Outcome, res.StartedAt, res.Duration)
	}
	if err := sameError(got.Error, res.Err); err != nil {
		return fmt.Errorf("attempt %d: %w", got.N, err)
	}
	return nil
}

// checkAttempts compares a job's Attempts with the results, oldest first.
func checkAttempts(t *testing.T, j *engine.Job, results ...engine.Result) {
	t.Helper()
	if len(j.Attempts) != len(results) {
		t.Fatalf("job %s records %d attempts, want %d: %+v", j.ID, len(j.Attempts), len(results), j.Attempts)
	}
	for i, res := range results {
		if err := checkAttempt(j.Attempts[i], res); err != nil {
			t.Fatalf("job %s: %v", j.ID, err)
		}
	}
}

func leaseA(t *testing.T, q Queue) engine.Job {
	t.Helper()
	ls := lease(t, q, 1, quota(1, longLease, "a"))
	if len(ls) != 1 {
		t.Fatalf("Lease claimed %d jobs of a, want 1", len(ls))
	}
	return ls[0].Job
}

// testOutcomeSucceeded: a success makes the job done and clears the
// error of an earlier failed attempt; both attempts are recorded.
func testOutcomeSucceeded(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	before := stats(t, q).Finished
	r1 := attempt(t, q, leaseA(t, q), engine.Retry, time.Now().UTC(), "first try failed")
	r2 := attempt(t, q, leaseUntil(t, q, ids[0], quota(1, longLease, "a")).Job, engine.Succeeded, time.Time{}, "")
	j := wantState(t, q, ids[0], engine.JobDone)
	if j.LastError != nil || j.Attempt != 2 {
		t.Fatalf("done job = attempt %d, last error %+v; want attempt 2 and no error", j.Attempt, j.LastError)
	}
	checkAttempts(t, j, r1, r2)
	if after := stats(t, q).Finished; after < before+1 {
		t.Fatalf("Stats.Finished went from %d to %d after a success", before, after)
	}
}

// testOutcomeRetry: a retry leaves the job pending until RunAt with the
// attempt counted and the error kept; then it is leased as attempt 2.
func testOutcomeRetry(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	runAt := time.Now().UTC().Add(500 * time.Millisecond)
	res := attempt(t, q, leaseA(t, q), engine.Retry, runAt, "boom")
	j := wantState(t, q, ids[0], engine.JobPending)
	if j.Attempt != 1 || !near(j.RunAt, runAt, callerTol) {
		t.Fatalf("retried job = attempt %d due %s, want attempt 1 due %s", j.Attempt, j.RunAt, runAt)
	}
	if err := sameError(j.LastError, res.Err); err != nil {
		t.Fatalf("retried job's last error: %v", err)
	}
	checkAttempts(t, j, res)
	if next := leaseAt(t, q, ids[0], runAt, quota(1, longLease, "a")).Job; next.Attempt != 2 {
		t.Fatalf("after backoff leased attempt %d, want attempt 2", next.Attempt)
	}
}

// testOutcomeFailed: a failure for good parks the job as failed with its
// error.
func testOutcomeFailed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	before := stats(t, q).FailedTotal
	res := attempt(t, q, leaseA(t, q), engine.Failed, time.Time{}, "cancelled: no such media")
	j := wantState(t, q, ids[0], engine.JobFailed)
	if err := sameError(j.LastError, res.Err); err != nil {
		t.Fatalf("failed job's last error: %v", err)
	}
	checkAttempts(t, j, res)
	if got := lease(t, q, 1, quota(1, longLease, "a")); len(got) != 0 {
		t.Fatal("a failed job was leased")
	}
	if after := stats(t, q).FailedTotal; after < before+1 {
		t.Fatalf("Stats.FailedTotal went from %d to %d after a failure", before, after)
	}
}

// givenBack checks a job an outcome left pending at runAt with its
// attempt unspent, and leases it again as attempt 1.
func givenBack(t *testing.T, q Queue, id string, runAt time.Time) *engine.Job {
	t.Helper()
	j := wantState(t, q, id, engine.JobPending)
	if j.Attempt != 0 || !near(j.RunAt, runAt, callerTol) {
		t.Fatalf("job = attempt %d due %s, want attempt 0 (given back) due %s", j.Attempt, j.RunAt, runAt)
	}
	if next := leaseAt(t, q, id, runAt, quota(1, longLease, "a")).Job; next.Attempt != 1 {
		t.Fatalf("leased again as attempt %d, want attempt 1 (the attempt was given back)", next.Attempt)
	}
	return j
}

// testOutcomeSnoozed: a snooze runs again at RunAt without spending the
// attempt, and is recorded.
func testOutcomeSnoozed(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	res := attempt(t, q, leaseA(t, q), engine.Snoozed, time.Now().UTC().Add(400*time.Millisecond), "")
	j := givenBack(t, q, ids[0], res.RunAt)
	checkAttempts(t, j, res)
}

// testOutcomeInterrupted: an attempt stopped by shutdown runs again
// without spending the attempt, and is recorded with why.
func testOutcomeInterrupted(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	res := attempt(t, q, leaseA(t, q), engine.Interrupted, time.Now().UTC(), "interrupted by shutdown")
	j := givenBack(t, q, ids[0], res.RunAt)
	checkAttempts(t, j, res)
}

// testOutcomeReturned: a job handed back unrun is pending at RunAt with
// its attempt unspent, and appears nowhere: not in Attempts, not in the
// finished or failed counts.
func testOutcomeReturned(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	before := stats(t, q)
	res := attempt(t, q, leaseA(t, q), engine.Returned, time.Now().UTC().Add(200*time.Millisecond), "")
	j := givenBack(t, q, ids[0], res.RunAt)
	if len(j.Attempts) != 0 || j.LastError != nil {
		t.Fatalf("returned job records attempts %+v, last error %+v; want none", j.Attempts, j.LastError)
	}
	after := stats(t, q)
	if after.Finished != before.Finished || after.FailedTotal != before.FailedTotal {
		t.Fatalf("a returned job changed Finished %d→%d, FailedTotal %d→%d", before.Finished, after.Finished,
			before.FailedTotal, after.FailedTotal)
	}
}

// testOutcomeAttemptsBounded: a job keeps its latest MaxAttemptsKept
// attempts.
func testOutcomeAttemptsBounded(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	const runs = engine.MaxAttemptsKept + 3
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: runs + 1})
	var results []engine.Result
	for range runs {
		j := leaseUntil(t, q, ids[0], quota(1, longLease, "a")).Job
		results = append(results, attempt(t, q, j, engine.Retry, time.Now().UTC(), fmt.Sprintf("failure %d", j.Attempt)))
	}
	j := getJob(t, q, ids[0])
	checkAttempts(t, j, results[runs-engine.MaxAttemptsKept:]...)
}
