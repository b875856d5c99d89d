package queuetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// The tests of limits that hold across processes sharing one queue. They
// skip for backends that serve one process (Harness.Peer returns nil).
var clusterTests = []test{
	{"SharedQueue", testClusterShared},
	{"Dedupe", testClusterDedupe},
	{"Concurrency", testClusterConcurrency},
	{"Rate", testClusterRate},
	{"Order", testClusterOrder},
	{"Paused", testClusterPaused},
	{"KV", testClusterKV},
	{"History", testClusterHistory},
	{"Processes", testClusterProcesses},
	{"Fence", testClusterFence},
	{"CrashTakenBack", testClusterCrash},
}

// enqueueAtOnce sends mk's event through every queue from perQueue
// goroutines each, all released at once.
func enqueueAtOnce(t *testing.T, queues []Queue, perQueue int, mk func() *engine.Event) ([]string, []error) {
	t.Helper()
	n := len(queues) * perQueue
	ids, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ids[i], errs[i] = queues[i%len(queues)].Enqueue(t.Context(), mk(), jobsFor("a"))
		}()
	}
	close(gate)
	wg.Wait()
	return ids, errs
}

// checkOneEvent fails the test unless exactly one Enqueue stored the
// event, the others were told it is a duplicate of it, and one event and
// one job are stored.
func checkOneEvent(t *testing.T, q Queue, ids []string, errs []error) {
	t.Helper()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner != "":
			t.Fatalf("two concurrent deliveries of one id were both stored: %s and %s", winner, ids[i])
		case err == nil:
			winner = ids[i]
		case !errors.Is(err, engine.ErrDuplicate):
			t.Fatalf("concurrent delivery: %v, want ErrDuplicate", err)
		}
	}
	if winner == "" {
		t.Fatal("no concurrent delivery was stored")
	}
	for i, err := range errs {
		if err != nil && ids[i] != winner {
			t.Fatalf("duplicate answered with id %q, want the stored %q", ids[i], winner)
		}
	}
	page, err := q.ListEvents(t.Context(), engine.EventQuery{})
	jobs, jerr := q.ListJobs(t.Context(), engine.JobQuery{})
	if err != nil || jerr != nil || len(page.Events) != 1 || len(jobs) != 1 {
		t.Fatalf("stored %d events (%v) and %d jobs (%v), want 1 and 1", len(page.Events), err, len(jobs), jerr)
	}
}

// testClusterShared: what one process stores and does, the other sees
// and can act on; Ready fires in one for jobs the other added.
func testClusterShared(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	drainReady(q)
	ids := enqueueJobs(t, p, jobsFor("a")...)
	waitReady(t, q, "an Enqueue in another process")
	l := leaseUntil(t, q, ids[0], quota(1, longLease, "a"))
	if l.Event == nil || string(l.Event.Payload) != `{"n":1}` {
		t.Fatalf("lease of a job another process stored carries event %+v", l.Event)
	}
	wantState(t, p, ids[0], engine.JobRunning)
	succeed(t, q, l.Job)
	wantState(t, p, ids[0], engine.JobDone)
	if s := stats(t, p); s.States[engine.JobDone] != 1 || s.Events != 1 {
		t.Fatalf("the other process's Stats = %+v, want one done job and one event", s)
	}
	if err := q.Audit(t.Context(), engine.AuditEntry{At: time.Now().UTC(), Action: "retry", Target: ids[0], Actor: "cli"}); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if a, err := p.ListAudit(t.Context(), 10, time.Time{}); err != nil || len(a) != 1 {
		t.Fatalf("the other process's ListAudit = %+v, %v; want the entry", a, err)
	}
}

// testClusterDedupe: one delivery sent to three processes at once is
// stored once.
func testClusterDedupe(t *testing.T, h Harness) {
	q := h.New(t, Options{DedupeWindow: time.Hour})
	p := peer(t, h, q)
	ids, errs := enqueueAtOnce(t, []Queue{q, p, peer(t, h, q)}, 4, func() *engine.Event { return dupEvent("s", "same") })
	checkOneEvent(t, p, ids, errs)
}

// testClusterConcurrency: workers of two processes never run more of a
// listener's jobs at once than its Concurrency.
func testClusterConcurrency(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	const total, limit = 30, 2
	for range total {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("c")...)
	}
	qt := map[string]engine.Quota{"c": {Max: 1, LeaseFor: longLease, Concurrency: limit}}
	var c inflight
	work(t, []Queue{q, p}, 3, qt, total, 5*time.Millisecond, c.observe)
	if c.peak > limit {
		t.Fatalf("%d jobs of a listener with concurrency %d ran at once across two processes", c.peak, limit)
	}
}

// testClusterRate: two processes leasing at once together keep a
// listener's Rate.
func testClusterRate(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	const total = 16
	r := engine.Rate{N: 4, Per: 600 * time.Millisecond}
	for range total {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("r")...)
	}
	qt := map[string]engine.Quota{"r": {Max: 100, LeaseFor: longLease, Rate: r}}
	var (
		mu    sync.Mutex
		left  = total
		calls []rateCall
		wg    sync.WaitGroup
	)
	claimed := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		left -= n
		return left
	}
	for _, qu := range []Queue{q, p} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := rateLoop(t, qu, qt, "r", claimed)
			mu.Lock()
			calls = append(calls, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if left > 0 {
		t.Fatalf("%d jobs of a rate-limited listener never leased within %s", left, waitFor)
	}
	checkRate(t, calls, r)
}

// testClusterOrder: workers of two processes keep every key's jobs one at
// a time and in order.
func testClusterOrder(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	byKey, total := orderFixture(t, q, 3, 6, 4)
	c := newOrderCheck(byKey)
	work(t, []Queue{q, p}, 3, quota(1, longLease, "o"), total, 3*time.Millisecond, c.observe)
	if c.err != nil {
		t.Fatal(c.err)
	}
}

// testClusterPaused: a pause set in one process holds in the other, and a
// resume there wakes the first.
func testClusterPaused(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	if err := q.SetPaused(t.Context(), "a", true); err != nil {
		t.Fatalf("SetPaused: %v", err)
	}
	ids := enqueueJobs(t, q, jobsFor("a")...)
	if got := lease(t, p, 10, quota(10, longLease, "a")); len(got) != 0 {
		t.Fatalf("the other process leased a paused listener's job %s", got[0].Job.ID)
	}
	if _, ok := stats(t, p).Paused["a"]; !ok {
		t.Fatal("the other process's Stats does not show the pause")
	}
	drainReady(q)
	if err := p.SetPaused(t.Context(), "a", false); err != nil {
		t.Fatalf("SetPaused(false): %v", err)
	}
	waitReady(t, q, "a resume in another process")
	leaseUntil(t, q, ids[0], quota(10, longLease, "a"))
}

// testClusterKV: kv is one store for every process.
func testClusterKV(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	kvSet(t, q, "a", "k", []byte("v"), 0)
	wantKV(t, p, "a", "k", []byte("v"))
	kvSet(t, p, "a", "k", []byte("w"), 300*time.Millisecond)
	wantKV(t, q, "a", "k", []byte("w"))
	eventually(t, waitFor, "kv expiry seen by the other process", func() error {
		if _, ok := kvGet(t, q, "a", "k"); ok {
			return errNotYet
		}
		return nil
	})
	kvSet(t, q, "a", "d", []byte("v"), 0)
	if err := p.KVDelete(t.Context(), "a", "d"); err != nil {
		t.Fatalf("KVDelete: %v", err)
	}
	wantKV(t, q, "a", "d", nil)
}

// testClusterHistory: samples of one (Minute, Series) from two processes
// add up.
func testClusterHistory(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	m0, m1, _ := historyMinutes()
	var wg sync.WaitGroup
	for _, qu := range []Queue{q, p, q, p} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := qu.AddSamples(t.Context(), []engine.Sample{{Minute: m0, Series: "job:a", Count: 1, Runtime: hist(time.Millisecond)}}); err != nil {
				t.Errorf("AddSamples: %v", err)
			}
		}()
	}
	wg.Wait()
	for _, qu := range []Queue{q, p} {
		wantSamples(t, samples(t, qu, m0, m1), engine.Sample{Minute: m0, Series: "job:a", Count: 4,
			Runtime: hist(time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond)})
	}
}

// testClusterProcesses: each process lists both.
func testClusterProcesses(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	for _, qu := range []Queue{q, p} {
		eventually(t, waitFor, "both processes listed", func() error {
			ids := processIDs(processes(t, qu))
			if len(ids) != 2 || ids[0] == ids[1] {
				return errors.New("listed " + joined(ids))
			}
			return nil
		})
	}
	for _, pr := range processes(t, q) {
		if err := describesUs(pr); err != nil {
			t.Fatal(err)
		}
	}
}

// testClusterFence: once another process re-leased a job whose lease ran
// out, the first cannot finish it.
func testClusterFence(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	p := peer(t, h, q)
	ids := enqueueJobs(t, q, jobsFor("a")...)
	old := lease(t, q, 1, quota(1, shortLease, "a"))[0].Job
	start(t, q, old)
	cur := leaseUntil(t, p, ids[0], quota(1, longLease, "a")).Job
	err := q.Finish(t.Context(), engine.Result{JobID: old.ID, Attempt: old.Attempt, Outcome: engine.Succeeded, StartedAt: time.Now().UTC()})
	wantErr(t, "Finish of a stale attempt after another process re-leased the job", err, engine.ErrLeaseLost)
	succeed(t, p, cur)
	wantState(t, q, ids[0], engine.JobDone)
}

// testClusterCrash: a job running in a process that died is taken back by
// another, charged as a crash.
func testClusterCrash(t *testing.T, h Harness) {
	q := h.New(t, Options{CrashLimit: 3})
	p := peer(t, h, q)
	ids := enqueueJobs(t, q, jobsFor("a")...)
	j := lease(t, q, 1, quota(1, crashLease, "a"))[0].Job
	start(t, q, j)
	h.Crash(t, q)
	again := leaseWithin(t, p, ids[0], quota(1, longLease, "a"), ProcessGoneWithin).Job
	if again.Attempt != 2 {
		t.Fatalf("taken back by another process as attempt %d, want 2", again.Attempt)
	}
	wantCrash(t, getJob(t, p, ids[0]), 1, 1)
}
