package queuetest

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var statsTests = []test{
	{"Empty", testStatsEmpty},
	{"Counts", testStatsCounts},
	{"Ping", testPing},
	{"CloseIdempotent", testCloseIdempotent},
}

// nonZero drops zero counts, which a backend may or may not report.
func nonZero(m map[engine.JobState]int) map[engine.JobState]int {
	out := map[engine.JobState]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func checkCounts(s engine.Stats, states map[engine.JobState]int, listeners map[string]map[engine.JobState]int, events int) error {
	if got := nonZero(s.States); !maps.Equal(got, states) {
		return fmt.Errorf("Stats.States = %v, want %v", got, states)
	}
	got := map[string]map[engine.JobState]int{}
	for l, m := range s.Listeners {
		if nz := nonZero(m); len(nz) > 0 {
			got[l] = nz
		}
	}
	if !maps.EqualFunc(got, listeners, maps.Equal) {
		return fmt.Errorf("Stats.Listeners = %v, want %v", got, listeners)
	}
	if s.Events != events {
		return fmt.Errorf("Stats.Events = %d, want %d", s.Events, events)
	}
	return nil
}

// testStatsEmpty: a new queue counts nothing.
func testStatsEmpty(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	s := stats(t, q)
	if err := checkCounts(s, map[engine.JobState]int{}, map[string]map[engine.JobState]int{}, 0); err != nil {
		t.Fatal(err)
	}
	if !s.OldestDue.IsZero() || len(s.OldestDueBy) != 0 || len(s.Paused) != 0 {
		t.Fatalf("empty queue: oldest due %s, by listener %v, paused %v; want none", s.OldestDue, s.OldestDueBy, s.Paused)
	}
}

// testStatsCounts: Stats counts jobs per state and per listener and
// events, and gives the oldest due pending job overall and per listener.
func testStatsCounts(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	now := time.Now().UTC()
	enqueue(t, q, newEvent("x", `{}`),
		engine.NewJob{Listener: "a", MaxTries: 1, RunAt: now.Add(-10 * time.Second)},
		engine.NewJob{Listener: "b", MaxTries: 1, RunAt: now.Add(-20 * time.Second)},
		engine.NewJob{Listener: "c", MaxTries: 1, RunAt: now.Add(time.Hour)},
	)
	enqueue(t, q, newEvent("x", `{}`),
		engine.NewJob{Listener: "a", MaxTries: 1, RunAt: now.Add(-2 * time.Second)},
		engine.NewJob{Listener: "p", MaxTries: 1, RunAt: now.Add(-30 * time.Second)},
		engine.NewJob{Listener: "d", MaxTries: 1},
		engine.NewJob{Listener: "e", MaxTries: 1},
	)
	enqueue(t, q, newEvent("x", `{}`))
	for _, j := range leaseN(t, q, "d", 1) {
		succeed(t, q, j)
	}
	for _, j := range leaseN(t, q, "e", 1) {
		fail(t, q, j, "broken")
	}
	leaseN(t, q, "b", 1)
	if err := q.SetPaused(t.Context(), "p", true); err != nil {
		t.Fatalf("SetPaused: %v", err)
	}
	s := stats(t, q)
	err := checkCounts(s,
		map[engine.JobState]int{engine.JobPending: 4, engine.JobRunning: 1, engine.JobDone: 1, engine.JobFailed: 1},
		map[string]map[engine.JobState]int{
			"a": {engine.JobPending: 2}, "b": {engine.JobRunning: 1}, "c": {engine.JobPending: 1},
			"p": {engine.JobPending: 1}, "d": {engine.JobDone: 1}, "e": {engine.JobFailed: 1},
		}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Paused["p"]; !ok || len(s.Paused) != 1 {
		t.Fatalf("Stats.Paused = %v, want p", s.Paused)
	}
	// The paused listener's job is pending and due: it counts as waiting.
	if !near(s.OldestDue, now.Add(-30*time.Second), callerTol) {
		t.Fatalf("Stats.OldestDue = %s, want the RunAt of the oldest due pending job, %s", s.OldestDue, now.Add(-30*time.Second))
	}
	if len(s.OldestDueBy) != 2 || !near(s.OldestDueBy["a"], now.Add(-10*time.Second), callerTol) ||
		!near(s.OldestDueBy["p"], now.Add(-30*time.Second), callerTol) {
		t.Fatalf("Stats.OldestDueBy = %v, want a at %s and p at %s (c is not due, b is running)",
			s.OldestDueBy, now.Add(-10*time.Second), now.Add(-30*time.Second))
	}
	if s.Enqueued == 0 {
		t.Fatal("Stats.Enqueued = 0 after this process enqueued")
	}
}

// testPing: an open queue takes writes; a closed one says it does not.
func testPing(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	if err := q.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := q.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Ping(t.Context()); err == nil {
		t.Fatal("Ping of a closed queue = nil, want an error")
	}
	if _, err := q.Enqueue(t.Context(), newEvent("x", `{}`), nil); err == nil {
		t.Fatal("Enqueue into a closed queue = nil error")
	}
}

// testCloseIdempotent: Close is safe on a queue nothing used, and twice.
func testCloseIdempotent(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	for i := range 2 {
		if err := q.Close(t.Context()); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}
