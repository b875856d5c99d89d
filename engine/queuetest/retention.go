package queuetest

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var retentionTests = []test{
	{"Prune", testPrune},
	{"KeepForever", testPruneKeepForever},
	{"History", testPruneHistory},
}

func prune(t *testing.T, q Queue) {
	t.Helper()
	if _, err := q.Prune(t.Context()); err != nil {
		t.Fatalf("Prune: %v", err)
	}
}

func gone(t *testing.T, q Queue, what string, err error) {
	t.Helper()
	wantErr(t, what+" after Prune", err, engine.ErrNotFound)
}

// testPrune: past the retention, done jobs go and then events left with
// no job; past the window, dedupe records and expired kv go; failed and
// pending jobs, their events and anything recent stay.
func testPrune(t *testing.T, h Harness) {
	q := h.New(t, Options{Retention: window, DedupeWindow: window})
	doneEv := enqueue(t, q, dupEvent("s", "old-delivery"), jobsFor("a")...)
	mixedEv := enqueue(t, q, newEvent("x", `{}`), jobsFor("a", "f", "p")...)
	emptyEv := enqueue(t, q, newEvent("x", `{}`))
	for _, j := range leaseN(t, q, "a", 2) {
		succeed(t, q, j)
	}
	for _, j := range leaseN(t, q, "f", 1) {
		fail(t, q, j, "broken")
	}
	if err := q.KVSet(t.Context(), "a", "short", []byte("v"), 200*time.Millisecond); err != nil {
		t.Fatalf("KVSet: %v", err)
	}
	if err := q.KVSet(t.Context(), "a", "kept", []byte("v"), 0); err != nil {
		t.Fatalf("KVSet: %v", err)
	}
	_, mixed := getEvent(t, q, mixedEv)
	time.Sleep(window + 100*time.Millisecond) // let the real-time retention pass
	recentEv := enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	recent := leaseN(t, q, "a", 1)
	for _, j := range recent {
		succeed(t, q, j)
	}
	prune(t, q)

	_, _, err := q.GetEvent(t.Context(), doneEv)
	gone(t, q, "event whose only job was done", err)
	_, _, err = q.GetEvent(t.Context(), emptyEv)
	gone(t, q, "event with no jobs", err)
	_, err = q.GetJob(t.Context(), mixed[0].ID)
	gone(t, q, "done job", err)
	ev, jobs := getEvent(t, q, mixedEv)
	if ev.ID != mixedEv || len(jobs) != 2 || jobs[0].ID != mixed[1].ID || jobs[1].ID != mixed[2].ID {
		t.Fatalf("after Prune the event with a failed and a pending job has %+v, want those two", jobs)
	}
	wantState(t, q, mixed[1].ID, engine.JobFailed)
	wantState(t, q, mixed[2].ID, engine.JobPending)
	for id := range recent {
		wantState(t, q, id, engine.JobDone)
	}
	getEvent(t, q, recentEv)
	if _, err := q.Enqueue(t.Context(), dupEvent("s", "old-delivery"), nil); errors.Is(err, engine.ErrDuplicate) {
		t.Fatal("a delivery id older than the window is still a duplicate after Prune")
	} else if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if _, ok, err := q.KVGet(t.Context(), "a", "short"); err != nil || ok {
		t.Fatalf("expired kv after Prune: found %v, %v", ok, err)
	}
	if _, ok, err := q.KVGet(t.Context(), "a", "kept"); err != nil || !ok {
		t.Fatalf("kv without ttl after Prune: found %v, %v; want kept", ok, err)
	}
	if s := stats(t, q); s.Events != 3 {
		t.Fatalf("Stats.Events = %d after Prune, want 3 (mixed, recent, the new delivery)", s.Events)
	}
}

// testPruneKeepForever: with no retention, done jobs and their events
// stay.
func testPruneKeepForever(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := enqueueJobs(t, q, jobsFor("a")...)
	succeed(t, q, leaseA(t, q))
	empty := enqueue(t, q, newEvent("x", `{}`))
	prune(t, q)
	wantState(t, q, ids[0], engine.JobDone)
	getEvent(t, q, empty)
}

// testPruneHistory: history samples and audit entries older than the
// history retention go; newer ones stay.
func testPruneHistory(t *testing.T, h Harness) {
	q := h.New(t, Options{HistoryRetention: time.Hour})
	now := time.Now().UTC()
	old, fresh := now.Add(-2*time.Hour).Truncate(time.Minute), now.Add(-5*time.Minute).Truncate(time.Minute)
	err := q.AddSamples(t.Context(), []engine.Sample{
		{Minute: old, Series: "job:a", Count: 1},
		{Minute: fresh, Series: "job:a", Count: 2},
	})
	if err != nil {
		t.Fatalf("AddSamples: %v", err)
	}
	for _, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Minute)} {
		if err := q.Audit(t.Context(), engine.AuditEntry{At: at, Action: "retry", Target: "j", Count: 1, Actor: "cli"}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	prune(t, q)
	s, err := q.Samples(t.Context(), now.Add(-3*time.Hour), now.Add(time.Minute))
	if err != nil || len(s) != 1 || !s[0].Minute.Equal(fresh) {
		t.Fatalf("Samples after Prune = %+v, %v; want only the sample of %s", s, err, fresh)
	}
	a, err := q.ListAudit(t.Context(), 10, time.Time{})
	if err != nil || len(a) != 1 || !near(a[0].At, now.Add(-time.Minute), callerTol) {
		t.Fatalf("ListAudit after Prune = %+v, %v; want only the recent entry", a, err)
	}
}
