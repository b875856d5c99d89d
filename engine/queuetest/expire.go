package queuetest

import (
	"testing"

	"github.com/switchboard/switchboard/engine"
)

var expireTests = []test{
	{"Started", testExpireStarted},
	{"StartedTriesSpent", testExpireTriesSpent},
	{"Unstarted", testExpireUnstarted},
}

// testExpireStarted: a started attempt whose lease ran out (its process
// alive) is taken back after the lease end, charged, and marked as a lease
// loss.
func testExpireStarted(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	first := lease(t, q, 1, quota(1, shortLease, "a"))[0].Job
	start(t, q, first)
	again := leaseAt(t, q, ids[0], first.LeaseUntil, quota(1, longLease, "a")).Job
	if again.Attempt != 2 {
		t.Fatalf("re-leased as attempt %d after a started attempt expired, want 2 (the attempt counts)", again.Attempt)
	}
	j := getJob(t, q, ids[0])
	if j.LastError == nil || j.LastError.Kind != engine.KindLease || j.LastError.Attempt != 1 || j.Crashes != 0 {
		t.Fatalf("after an expired lease: last error %+v, crashes %d; want kind %q for attempt 1 and no crash",
			j.LastError, j.Crashes, engine.KindLease)
	}
}

// testExpireTriesSpent: an expired started attempt that was the last try
// fails the job instead of running it again.
func testExpireTriesSpent(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	first := lease(t, q, 1, quota(1, shortLease, "a"))[0].Job
	start(t, q, first)
	eventually(t, waitFor, "failing the job whose last try expired", func() error {
		if got := lease(t, q, 10, quota(10, longLease, "a")); len(got) != 0 {
			t.Fatalf("a job whose only try expired was leased again as attempt %d", got[0].Job.Attempt)
		}
		if j := getJob(t, q, ids[0]); j.State != engine.JobFailed {
			return errNotYet
		}
		return nil
	})
	j := getJob(t, q, ids[0])
	if j.LastError == nil || j.LastError.Kind != engine.KindLease || j.Attempt != 1 {
		t.Fatalf("failed job = attempt %d, last error %+v; want attempt 1, kind %q", j.Attempt, j.LastError, engine.KindLease)
	}
}

// testExpireUnstarted: a job leased ahead whose lease ran out before it
// started gets its attempt back and is charged nothing.
func testExpireUnstarted(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	first := lease(t, q, 1, quota(1, shortLease, "a"))[0].Job
	again := leaseAt(t, q, ids[0], first.LeaseUntil, quota(1, longLease, "a")).Job
	if again.Attempt != 1 {
		t.Fatalf("re-leased as attempt %d after an unstarted lease expired, want 1 (given back)", again.Attempt)
	}
	if j := getJob(t, q, ids[0]); j.LastError != nil || j.Crashes != 0 || j.State != engine.JobRunning {
		t.Fatalf("after an unstarted lease expired: %+v; want running again with no error or crash", j)
	}
}
