package queuetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var enqueueTests = []test{
	{"EventAndJobs", testEnqueueEventAndJobs},
	{"NotRetained", testEnqueueNotRetained},
	{"NoJobs", testEnqueueNoJobs},
	{"IDsSortByCreation", testEnqueueIDOrder},
	{"PayloadExact", testEnqueuePayloadExact},
	{"RunAt", testEnqueueRunAt},
	{"Dedupe", testEnqueueDedupe},
	{"DedupeWindowPasses", testEnqueueDedupeWindow},
	{"DedupeOff", testEnqueueDedupeOff},
	{"DedupeConcurrent", testEnqueueDedupeConcurrent},
	{"MaxDepth", testEnqueueMaxDepth},
}

// testEnqueueEventAndJobs: one call stores the event and every job.
func testEnqueueEventAndJobs(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	parent := enqueue(t, q, newEvent("upstream", `{}`))
	ev := &engine.Event{
		Name: "media.processed", Source: "ittybit", DeliveryID: "evt_1",
		ReceivedAt: time.Now().UTC().Add(-time.Second),
		Headers:    map[string]string{"Content-Type": "application/json", "X-Trace": "abc"},
		Payload:    []byte(`{"data":{"id":"task_1"}}`), Parent: parent,
	}
	before := time.Now()
	id, err := q.Enqueue(t.Context(), ev, []engine.NewJob{
		{Listener: "a", MaxTries: 3},
		{Listener: "b", MaxTries: 1, OrderKey: "task_1"},
		{Listener: "c", MaxTries: 5},
	})
	after := time.Now()
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if id == "" || ev.ID != id {
		t.Fatalf("Enqueue returned %q and set ev.ID = %q; want the same non-empty id", id, ev.ID)
	}
	got, jobs := getEvent(t, q, id)
	if got.ID != id || got.Name != ev.Name || got.Source != ev.Source || got.DeliveryID != ev.DeliveryID ||
		!near(got.ReceivedAt, ev.ReceivedAt, callerTol) || !bytes.Equal(got.Payload, ev.Payload) ||
		got.Parent != parent {
		t.Fatalf("stored event = %+v, want %+v", got, ev)
	}
	if got.Headers["Content-Type"] != "application/json" || got.Headers["X-Trace"] != "abc" || len(got.Headers) != 2 {
		t.Fatalf("stored headers = %v, want %v", got.Headers, ev.Headers)
	}
	want := []struct {
		listener string
		tries    int
		key      string
	}{{"a", 3, ""}, {"b", 1, "task_1"}, {"c", 5, ""}}
	if len(jobs) != len(want) {
		t.Fatalf("event has %d jobs, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		w := want[i]
		if j.ID == "" || j.EventID != id || j.Listener != w.listener || j.MaxTries != w.tries ||
			j.OrderKey != w.key || j.State != engine.JobPending || j.Attempt != 0 || j.Crashes != 0 ||
			j.LastError != nil || len(j.Attempts) != 0 {
			t.Errorf("job %d = %+v, want a fresh pending job of %s with %d tries, key %q", i, j, w.listener, w.tries, w.key)
		}
		if !within(j.CreatedAt, before, after, clockTol) || !within(j.RunAt, before, after, clockTol) {
			t.Errorf("job %d created %s, due %s; want both between %s and %s", i, j.CreatedAt, j.RunAt, before, after)
		}
	}
	listed, err := q.ListJobs(t.Context(), engine.JobQuery{EventID: id})
	if err != nil || len(listed) != 3 {
		t.Fatalf("ListJobs(event) = %d jobs, %v; want 3", len(listed), err)
	}
}

// testEnqueueNotRetained: changing the event after Enqueue changes
// nothing stored.
func testEnqueueNotRetained(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	payload := []byte(`{"a":"original"}`)
	ev := newEvent("x", "")
	ev.Payload = payload
	ev.Headers = map[string]string{"H": "1"}
	jobs := jobsFor("a")
	id := enqueue(t, q, ev, jobs...)
	copy(payload, `{"a":"CHANGED!!"}`)
	ev.Headers["H"] = "2"
	ev.Name = "changed"
	jobs[0].Listener = "changed"
	got, stored := getEvent(t, q, id)
	if string(got.Payload) != `{"a":"original"}` || got.Headers["H"] != "1" || got.Name != "x" {
		t.Fatalf("stored event changed with the caller's copy: %+v", got)
	}
	if stored[0].Listener != "a" {
		t.Fatalf("stored job changed with the caller's copy: %+v", stored[0])
	}
}

// testEnqueueNoJobs: an event no listener hears is stored anyway.
func testEnqueueNoJobs(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	id := enqueue(t, q, newEvent("nobody.listens", `{}`))
	got, jobs := getEvent(t, q, id)
	if got.ID != id || len(jobs) != 0 {
		t.Fatalf("GetEvent = %+v with %d jobs, want the event and none", got, len(jobs))
	}
	page, err := q.ListEvents(t.Context(), engine.EventQuery{})
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != id {
		t.Fatalf("ListEvents = %+v, %v; want the job-less event", page, err)
	}
}

// testEnqueueIDOrder: event and job ids sort (as strings) in the order
// they were created, across events.
func testEnqueueIDOrder(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	var evIDs, jobIDs []string
	for range 25 {
		evIDs = append(evIDs, enqueue(t, q, newEvent("x", `{}`), jobsFor("a", "b")...))
		_, jobs := getEvent(t, q, evIDs[len(evIDs)-1])
		for _, j := range jobs {
			jobIDs = append(jobIDs, j.ID)
		}
	}
	for _, ids := range [][]string{evIDs, jobIDs} {
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("id %q created after %q does not sort after it: %s", ids[i], ids[i-1], joined(ids))
			}
		}
	}
	_, jobs := getEvent(t, q, evIDs[0])
	if jobs[0].Listener != "a" || jobs[1].Listener != "b" {
		t.Fatalf("GetEvent jobs = %+v, want them in creation order", jobs)
	}
}

// payloads are bodies whose bytes a decoder-and-encoder round trip
// would change.
var payloads = []string{
	`{"b":1,"a":2}`,
	"{ \"spaced\" :\t[1, 2 ,3 ]\r\n}\n",
	`{"escaped":"caf\u00e9 \ud83d\ude00 \/ \"q\""}`,
	`{"raw":"café 😀 ✓"}`,
	`{"big":12345678901234567890123,"float":1.50,"exp":1E+3,"neg":-0}`,
	`{"dup":1,"dup":2}`,
	`[1,"two",null,true]`,
	`"just a string"`,
	`{"deep":{"a":{"b":{"c":[{"d":"e"}]}}}}`,
}

// testEnqueuePayloadExact: payload bytes come back exactly as given, from
// GetEvent, ListEvents and Lease.
func testEnqueuePayloadExact(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := map[string]string{}
	for _, p := range payloads {
		ids[enqueue(t, q, newEvent("x", p), jobsFor("a")...)] = p
	}
	for id, p := range ids {
		if ev, _ := getEvent(t, q, id); string(ev.Payload) != p {
			t.Errorf("GetEvent payload = %q, want %q byte for byte", ev.Payload, p)
		}
	}
	page, err := q.ListEvents(t.Context(), engine.EventQuery{Limit: 100})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	for _, ev := range page.Events {
		if string(ev.Payload) != ids[ev.ID] {
			t.Errorf("ListEvents payload = %q, want %q byte for byte", ev.Payload, ids[ev.ID])
		}
	}
	leased := lease(t, q, 100, quota(100, longLease, "a"))
	if len(leased) != len(payloads) {
		t.Fatalf("leased %d jobs, want %d", len(leased), len(payloads))
	}
	for _, l := range leased {
		if l.Event == nil || l.Event.ID != l.Job.EventID {
			t.Fatalf("lease of %s carries event %+v, want event %s", l.Job.ID, l.Event, l.Job.EventID)
		}
		if string(l.Event.Payload) != ids[l.Event.ID] {
			t.Errorf("leased event payload = %q, want %q byte for byte", l.Event.Payload, ids[l.Event.ID])
		}
	}
}

// testEnqueueRunAt: a job asked to run later keeps its RunAt.
func testEnqueueRunAt(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Millisecond)
	ids := enqueueJobs(t, q, engine.NewJob{Listener: "a", MaxTries: 1, RunAt: at})
	if j := getJob(t, q, ids[0]); !near(j.RunAt, at, callerTol) || j.State != engine.JobPending {
		t.Fatalf("job = %+v, want pending with RunAt %s", j, at)
	}
}

func dupEvent(source, delivery string) *engine.Event {
	ev := newEvent("x", `{}`)
	ev.Source, ev.DeliveryID = source, delivery
	return ev
}

// testEnqueueDedupe: the same delivery id from one source within the
// window is refused with the first event's id; from another source, or
// with no delivery id, it is a new event.
func testEnqueueDedupe(t *testing.T, h Harness) {
	q := h.New(t, Options{DedupeWindow: time.Hour})
	first := enqueue(t, q, dupEvent("s1", "d1"), jobsFor("a")...)
	id, err := q.Enqueue(t.Context(), dupEvent("s1", "d1"), jobsFor("a", "b"))
	wantErr(t, "second delivery of d1", err, engine.ErrDuplicate)
	if id != first {
		t.Fatalf("duplicate returned id %q, want the first event's %q", id, first)
	}
	other := enqueue(t, q, dupEvent("s2", "d1"), jobsFor("a")...)
	none1 := enqueue(t, q, dupEvent("s1", ""), jobsFor("a")...)
	none2 := enqueue(t, q, dupEvent("s1", ""), jobsFor("a")...)
	if other == first || none1 == none2 {
		t.Fatalf("distinct deliveries got the same id: %s %s %s %s", first, other, none1, none2)
	}
	page, err := q.ListEvents(t.Context(), engine.EventQuery{})
	if err != nil || len(page.Events) != 4 {
		t.Fatalf("ListEvents = %d events, %v; want 4 (the duplicate stores nothing)", len(page.Events), err)
	}
	jobs, err := q.ListJobs(t.Context(), engine.JobQuery{})
	if err != nil || len(jobs) != 4 {
		t.Fatalf("ListJobs = %d jobs, %v; want 4 (the duplicate stores no job)", len(jobs), err)
	}
	byDelivery, err := q.ListEvents(t.Context(), engine.EventQuery{Source: "s1", DeliveryID: "d1"})
	if err != nil || len(byDelivery.Events) != 1 || byDelivery.Events[0].ID != first {
		t.Fatalf("ListEvents(s1, d1) = %+v, %v; want only %s", byDelivery, err, first)
	}
}

// testEnqueueDedupeWindowPasses: once the window has passed, the same
// delivery id is a new event.
func testEnqueueDedupeWindow(t *testing.T, h Harness) {
	q := h.New(t, Options{DedupeWindow: window})
	first := enqueue(t, q, dupEvent("s", "d"))
	if _, err := q.Enqueue(t.Context(), dupEvent("s", "d"), nil); !errors.Is(err, engine.ErrDuplicate) {
		t.Fatalf("redelivery within the window: err = %v, want ErrDuplicate", err)
	}
	time.Sleep(window) // let the real-time window pass
	var second string
	eventually(t, waitFor, "delivery after the window", func() error {
		id, err := q.Enqueue(t.Context(), dupEvent("s", "d"), nil)
		second = id
		return err
	})
	if second == first {
		t.Fatalf("delivery after the window got the first id %s", first)
	}
}

// testEnqueueDedupeOff: with no window, nothing is a duplicate.
func testEnqueueDedupeOff(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	a := enqueue(t, q, dupEvent("s", "d"))
	b := enqueue(t, q, dupEvent("s", "d"))
	if a == b {
		t.Fatalf("two events share id %s", a)
	}
}

// testEnqueueDedupeConcurrent: the same delivery sent many times at once
// yields one event.
func testEnqueueDedupeConcurrent(t *testing.T, h Harness) {
	q := h.New(t, Options{DedupeWindow: time.Hour})
	ids, errs := enqueueAtOnce(t, []Queue{q}, 8, func() *engine.Event { return dupEvent("s", "same") })
	checkOneEvent(t, q, ids, errs)
}

// testEnqueueMaxDepth: at max_depth pending and running jobs, Enqueue
// stores nothing and says the queue is unavailable; it accepts again
// once a job is done.
func testEnqueueMaxDepth(t *testing.T, h Harness) {
	q := h.New(t, Options{MaxDepth: 2})
	enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	enqueue(t, q, newEvent("x", `{}`), jobsFor("a")...)
	id, err := q.Enqueue(t.Context(), newEvent("refused", `{}`), jobsFor("a"))
	wantErr(t, "Enqueue at max depth", err, engine.ErrUnavailable)
	if id != "" {
		t.Errorf("refused Enqueue returned id %q, want none", id)
	}
	page, _ := q.ListEvents(t.Context(), engine.EventQuery{})
	jobs, _ := q.ListJobs(t.Context(), engine.JobQuery{})
	if len(page.Events) != 2 || len(jobs) != 2 {
		t.Fatalf("after a refused Enqueue: %d events, %d jobs; want 2 and 2", len(page.Events), len(jobs))
	}
	// Running jobs count towards the depth too.
	leased := lease(t, q, 1, quota(1, longLease, "a"))
	if _, err := q.Enqueue(t.Context(), newEvent("refused", `{}`), jobsFor("a")); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Enqueue with one job running, one pending: err = %v, want ErrUnavailable", err)
	}
	succeed(t, q, leased[0].Job)
	eventually(t, waitFor, "Enqueue below max depth", func() error {
		_, err := q.Enqueue(t.Context(), newEvent("accepted", `{}`), jobsFor("a"))
		return err
	})
	// Replay is an operator's request: max_depth does not apply.
	if _, err := q.AddJobs(t.Context(), page.Events[0].ID, jobsFor("b")); err != nil {
		t.Fatalf("AddJobs at max depth: %v (max_depth must not apply)", err)
	}
	page, err = q.ListEvents(t.Context(), engine.EventQuery{})
	if err != nil || slices.ContainsFunc(page.Events, func(e engine.Event) bool { return e.Name == "refused" }) {
		t.Fatalf("ListEvents = %+v, %v: a refused event was stored", page.Events, err)
	}
}
