package queuetest

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var crashTests = []test{
	{"StartedCharged", testCrashCharged},
	{"DefaultLimit", testCrashDefaultLimit},
	{"TriesSpent", testCrashTriesSpent},
	{"UnstartedNotCharged", testCrashUnstarted},
	{"Durable", testCrashDurable},
}

// crashLease is the lease of jobs held by a process the test kills: short,
// so that a shared backend takes them back soon, long enough that the
// living process starts them in time. Jobs of a dead process are waited
// for up to ProcessGoneWithin: a shared backend may take them back only
// once the process's heartbeat has lapsed.
const crashLease = time.Second

// runAndCrash leases job id (waiting for it to be taken back from a dead
// process), starts it, and kills the process; it returns the lease and
// the new process's queue.
func runAndCrash(t *testing.T, h Harness, q Queue, id string) (engine.Job, Queue) {
	t.Helper()
	j := leaseWithin(t, q, id, quota(1, crashLease, "a"), ProcessGoneWithin).Job
	start(t, q, j)
	return j, h.Crash(t, q)
}

// waitFailed polls q (leasing, so backends that take jobs back on Lease
// do) until job id has failed; leasing it again fails the test.
func waitFailed(t *testing.T, q Queue, id string) *engine.Job {
	t.Helper()
	eventually(t, ProcessGoneWithin, "job "+id+" failing", func() error {
		if got := lease(t, q, 10, quota(10, crashLease, "a")); len(got) != 0 {
			t.Fatalf("job %s leased again as attempt %d, want it failed", got[0].Job.ID, got[0].Job.Attempt)
		}
		if getJob(t, q, id).State != engine.JobFailed {
			return errNotYet
		}
		return nil
	})
	return getJob(t, q, id)
}

// wantCrash checks that job j was charged crashes crashes, its last error
// a crash of attempt n.
func wantCrash(t *testing.T, j *engine.Job, crashes, n int) {
	t.Helper()
	if j.Crashes != crashes || j.LastError == nil || j.LastError.Kind != engine.KindCrash || j.LastError.Attempt != n {
		t.Fatalf("job %s: crashes %d, last error %+v; want %d crashes, kind %q for attempt %d",
			j.ID, j.Crashes, j.LastError, crashes, engine.KindCrash, n)
	}
}

// testCrashCharged: an attempt running when its process died counts, as a
// crash; at the crash limit the job fails.
func testCrashCharged(t *testing.T, h Harness) {
	q := h.New(t, Options{CrashLimit: 2})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 10})
	crashes(t, h, q, ids[0], 2)
}

// testCrashDefaultLimit: with no crash limit set, the third crash fails
// the job.
func testCrashDefaultLimit(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 10})
	crashes(t, h, q, ids[0], 3)
}

// crashes kills the process running job id limit times, checking after
// each crash that the attempt counted as a crash, and that the last one
// failed the job.
func crashes(t *testing.T, h Harness, q Queue, id string, limit int) {
	t.Helper()
	j := leaseUntil(t, q, id, quota(1, crashLease, "a")).Job
	for n := 1; ; n++ {
		start(t, q, j)
		q = h.Crash(t, q)
		if n == limit {
			wantCrash(t, waitFailed(t, q, id), n, n)
			return
		}
		j = leaseWithin(t, q, id, quota(1, crashLease, "a"), ProcessGoneWithin).Job
		if j.Attempt != n+1 {
			t.Fatalf("after %d crashes the job runs as attempt %d, want %d (crashed attempts count)", n, j.Attempt, n+1)
		}
		wantCrash(t, getJob(t, q, id), n, n)
	}
}

// testCrashTriesSpent: a crash of the last try fails the job.
func testCrashTriesSpent(t *testing.T, h Harness) {
	q := h.New(t, Options{CrashLimit: 5})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	_, q = runAndCrash(t, h, q, ids[0])
	wantCrash(t, waitFailed(t, q, ids[0]), 1, 1)
}

// testCrashUnstarted: a job leased ahead but not started when its process
// died gets its attempt back and is not charged a crash.
func testCrashUnstarted(t *testing.T, h Harness) {
	q := h.New(t, Options{CrashLimit: 1})
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1})
	lease(t, q, 1, quota(1, crashLease, "a"))
	q = h.Crash(t, q)
	again := leaseWithin(t, q, ids[0], quota(1, longLease, "a"), ProcessGoneWithin).Job
	if again.Attempt != 1 {
		t.Fatalf("re-leased as attempt %d, want 1 (an unstarted attempt is given back)", again.Attempt)
	}
	j := getJob(t, q, ids[0])
	if j.Crashes != 0 {
		t.Fatalf("unstarted job charged a crash: crashes %d", j.Crashes)
	}
	// No attempt ran, so none failed: LastError ("why the latest attempt
	// did not succeed") stays as it was, and KindCrash means "the process
	// died while the attempt ran".
	if j.LastError != nil {
		t.Fatalf("unstarted job given last error %+v; no attempt of it ran", *j.LastError)
	}
	// Its start may only not have been written yet: it is Suspect until
	// its next start is recorded.
	if !again.Suspect {
		t.Fatalf("job taken back from a dead process before it started is not suspect: %+v", again)
	}
	start(t, q, again)
	if j := getJob(t, q, ids[0]); j.Suspect {
		t.Fatalf("Start did not clear Suspect: %+v", j)
	}
}

// testCrashDurable: what was acknowledged before the process died is all
// there after.
func testCrashDurable(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	var evIDs []string
	for range 10 {
		evIDs = append(evIDs, enqueue(t, q, newEvent("x", `{"v":1}`), jobsFor("a", "b")...))
	}
	done := lease(t, q, 1, quota(1, longLease, "a"))[0].Job
	succeed(t, q, done)
	if err := q.KVSet(t.Context(), "a", "k", []byte("v"), 0); err != nil {
		t.Fatalf("KVSet: %v", err)
	}
	minute := time.Now().UTC().Truncate(time.Minute)
	if err := q.AddSamples(t.Context(), []engine.Sample{{Minute: minute, Series: "job:a", Count: 7}}); err != nil {
		t.Fatalf("AddSamples: %v", err)
	}
	if err := q.Audit(t.Context(), engine.AuditEntry{At: time.Now().UTC(), Action: "pause", Target: "a", Actor: "cli"}); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	q = h.Crash(t, q)
	page, err := q.ListEvents(t.Context(), engine.EventQuery{})
	if err != nil || !slices.Equal(eventIDs(page.Events), evIDs) {
		t.Fatalf("after a crash ListEvents = %v, %v; want %v", eventIDs(page.Events), err, evIDs)
	}
	jobs, err := q.ListJobs(t.Context(), engine.JobQuery{})
	if err != nil || len(jobs) != 20 {
		t.Fatalf("after a crash ListJobs = %d jobs, %v; want 20", len(jobs), err)
	}
	wantState(t, q, done.ID, engine.JobDone)
	if v, ok, err := q.KVGet(t.Context(), "a", "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("after a crash KVGet = %q, %v, %v; want v", v, ok, err)
	}
	if s, err := q.Samples(t.Context(), minute, minute.Add(time.Minute)); err != nil || len(s) != 1 || s[0].Count != 7 {
		t.Fatalf("after a crash Samples = %+v, %v; want the sample", s, err)
	}
	if a, err := q.ListAudit(t.Context(), 10, time.Time{}); err != nil || len(a) != 1 {
		t.Fatalf("after a crash ListAudit = %+v, %v; want the entry", a, err)
	}
}

func eventIDs(evs []engine.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}
