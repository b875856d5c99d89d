package queuetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var limitTests = []test{
	{"Concurrency", testConcurrency},
	{"ConcurrencyWorkers", testConcurrencyWorkers},
	{"Rate", testRate},
}

// testConcurrency: a listener never has more than Concurrency jobs
// running (leased ones included), whatever Max asks; other listeners are
// not bound by it.
func testConcurrency(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for range 6 {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("c", "free")...)
	}
	qt := map[string]engine.Quota{
		"c":    {Max: 10, LeaseFor: longLease, Concurrency: 2},
		"free": {Max: 10, LeaseFor: longLease},
	}
	first := lease(t, q, 100, qt)
	count := map[string]int{}
	var running []engine.Job
	for _, l := range first {
		count[l.Job.Listener]++
		if l.Job.Listener == "c" {
			running = append(running, l.Job)
		}
	}
	if count["c"] != 2 || count["free"] != 6 {
		t.Fatalf("first Lease claimed %v, want c:2 (its concurrency) and free:6", count)
	}
	if got := lease(t, q, 100, qt); len(got) != 0 {
		t.Fatalf("with 2 of c running (concurrency 2), Lease claimed %s", joined(leaseIDs(got)))
	}
	succeed(t, q, running[0])
	if got := lease(t, q, 100, qt); len(got) != 1 || got[0].Job.Listener != "c" {
		t.Fatalf("after one of c finished, Lease claimed %s, want one job of c", joined(leaseIDs(got)))
	}
	// A job handed back unrun frees its slot too.
	finish(t, q, engine.Result{JobID: running[1].ID, Attempt: running[1].Attempt, Outcome: engine.Returned, RunAt: time.Now().UTC()})
	if got := lease(t, q, 100, qt); len(got) != 1 {
		t.Fatalf("after one of c was returned, Lease claimed %d, want 1", len(got))
	}
}

// testConcurrencyWorkers: many workers of one process leasing at once
// never exceed Concurrency.
func testConcurrencyWorkers(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	const total, limit = 24, 2
	for range total {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("c")...)
	}
	qt := map[string]engine.Quota{"c": {Max: 1, LeaseFor: longLease, Concurrency: limit}}
	var c inflight
	work(t, []Queue{q}, 6, qt, total, 5*time.Millisecond, c.observe)
	if c.peak > limit {
		t.Fatalf("%d jobs of a listener with concurrency %d ran at once", c.peak, limit)
	}
}

// rateCall is one Lease call of a rate test: when it began and returned
// (bounding when the backend claimed) and how many it claimed.
type rateCall struct {
	begin, end time.Time
	claimed    int
}

// rateLoop leases from q with qt until total jobs of listener are claimed
// or waitFor passes, recording every call that claimed something.
func rateLoop(t *testing.T, q Queue, qt map[string]engine.Quota, listener string, claimed func(int) int) []rateCall {
	var calls []rateCall
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		begin := time.Now()
		ls, err := q.Lease(t.Context(), 100, qt)
		end := time.Now()
		if err != nil {
			t.Errorf("Lease: %v", err)
			return calls
		}
		n := 0
		for _, l := range ls {
			if l.Job.Listener == listener {
				n++
			}
		}
		if n > 0 {
			calls = append(calls, rateCall{begin, end, n})
		}
		if claimed(n) <= 0 {
			return calls
		}
		time.Sleep(10 * time.Millisecond)
	}
	return calls
}

// checkRate fails the test if any stretch of calls claimed more than a
// token bucket of burst r.N refilling r.N per r.Per allows: from the
// start of call i to the end of call j, at most N + N·(end−start)/Per.
// (The bound allows for backends whose clocks are a server's: each claim
// happened between its call's begin and end.)
func checkRate(t *testing.T, calls []rateCall, r engine.Rate) {
	t.Helper()
	slices.SortFunc(calls, func(a, b rateCall) int { return a.begin.Compare(b.begin) })
	const skew = 10 * time.Millisecond
	for i := range calls {
		for j := range calls {
			if calls[j].end.Before(calls[i].begin) {
				continue
			}
			sum := 0
			for _, k := range calls {
				if !k.begin.Before(calls[i].begin) && !k.end.After(calls[j].end) {
					sum += k.claimed
				}
			}
			span := calls[j].end.Sub(calls[i].begin) + skew
			allowed := float64(r.N) + float64(r.N)*float64(span)/float64(r.Per)
			if float64(sum) > allowed {
				t.Fatalf("%d claims in %s with rate %d per %s (at most %.1f allowed); calls: %s",
					sum, span, r.N, r.Per, allowed, fmtCalls(calls))
			}
		}
	}
}

func fmtCalls(calls []rateCall) string {
	if len(calls) == 0 {
		return "none"
	}
	s, t0 := "", calls[0].begin
	for _, c := range calls {
		s += fmt.Sprintf("[+%s..+%s: %d] ", c.begin.Sub(t0).Round(time.Millisecond), c.end.Sub(t0).Round(time.Millisecond), c.claimed)
	}
	return s
}

// testRate: a listener's claims follow its Rate across Lease calls (a
// burst of N, then N per Per); other listeners are not held back, and
// every job is claimed in the end.
func testRate(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	const total = 16
	r := engine.Rate{N: 4, Per: 600 * time.Millisecond}
	for range total {
		enqueue(t, q, newEvent("x", `{}`), jobsFor("r", "free")...)
	}
	qt := map[string]engine.Quota{
		"r":    {Max: 100, LeaseFor: longLease, Rate: r},
		"free": {Max: 100, LeaseFor: longLease},
	}
	begin := time.Now()
	first := lease(t, q, 100, qt)
	end := time.Now()
	count := map[string]int{}
	for _, l := range first {
		count[l.Job.Listener]++
	}
	if count["r"] != r.N || count["free"] != total {
		t.Fatalf("first Lease claimed %v, want r:%d (the burst) and free:%d", count, r.N, total)
	}
	left := total - r.N
	var mu sync.Mutex
	calls := rateLoop(t, q, qt, "r", func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		left -= n
		return left
	})
	if left > 0 {
		t.Fatalf("%d jobs of a rate-limited listener never leased within %s", left, waitFor)
	}
	checkRate(t, append(calls, rateCall{begin, end, r.N}), r)
}
