package queuetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

var eventTests = []test{
	{"PagingOldestFirst", testEventsOldestFirst},
	{"PagingNewestFirst", testEventsNewestFirst},
	{"DefaultLimit", testEventsDefaultLimit},
	{"SourceAndDelivery", testEventsSourceDelivery},
	{"PayloadField", testEventsField},
	{"FilteredPaging", testEventsFilteredPaging},
	{"ScanBound", testEventsScanBound},
	{"GetUnknown", testEventsGetUnknown},
	{"AddJobs", testEventsAddJobs},
}

// collect follows q's pages until Next is empty, checking that no page
// exceeds its limit, and returns every event with the pages it took.
func collect(t *testing.T, qu Queue, q engine.EventQuery, maxPages int) ([]engine.Event, int) {
	t.Helper()
	limit := engine.PageSize(q.Limit)
	var all []engine.Event
	for pages := 1; ; pages++ {
		page, err := qu.ListEvents(t.Context(), q)
		if err != nil {
			t.Fatalf("ListEvents(%+v): %v", q, err)
		}
		if len(page.Events) > limit {
			t.Fatalf("ListEvents(%+v) returned %d events, over its limit %d", q, len(page.Events), limit)
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			return all, pages
		}
		if page.Next == q.After || pages >= maxPages {
			t.Fatalf("ListEvents(%+v): cursor %q after %d pages does not advance", q, page.Next, pages)
		}
		q.After = page.Next
	}
}

// storeEvents stores n events; payload(i) and source(i) shape event i.
func storeEvents(t *testing.T, q Queue, n int, source func(int) string, payload func(int) string) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ev := newEvent("x", payload(i))
		ev.Source = source(i)
		ev.DeliveryID = fmt.Sprintf("d%d", i)
		ids[i] = enqueue(t, q, ev)
	}
	return ids
}

func anySource(int) string { return "test" }

func indexPayload(i int) string { return fmt.Sprintf(`{"i":%d}`, i) }

func wantIDs(t *testing.T, what string, got []engine.Event, want []string) {
	t.Helper()
	if ids := eventIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("%s = %s, want %s", what, joined(ids), joined(want))
	}
}

// testEventsOldestFirst: the default order is oldest first, in pages of
// Limit joined by Next, the last page without one.
func testEventsOldestFirst(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := storeEvents(t, q, 7, anySource, indexPayload)
	page, err := q.ListEvents(t.Context(), engine.EventQuery{Limit: 3})
	if err != nil || page.Next == "" {
		t.Fatalf("first page = %+v, %v; want 3 events and a Next", page, err)
	}
	wantIDs(t, "first page", page.Events, ids[:3])
	all, pages := collect(t, q, engine.EventQuery{Limit: 3}, 10)
	wantIDs(t, "all pages", all, ids)
	if pages != 3 {
		t.Fatalf("7 events in pages of 3 took %d pages, want 3", pages)
	}
	for i, ev := range all {
		if ev.Source != "test" || ev.DeliveryID != fmt.Sprintf("d%d", i) || string(ev.Payload) != indexPayload(i) {
			t.Fatalf("listed event %d = %+v, want what was stored", i, ev)
		}
	}
}

// testEventsNewestFirst: Newest reverses the order, paging included.
func testEventsNewestFirst(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := storeEvents(t, q, 7, anySource, indexPayload)
	slices.Reverse(ids)
	all, pages := collect(t, q, engine.EventQuery{Limit: 3, Newest: true}, 10)
	wantIDs(t, "newest first", all, ids)
	if pages != 3 {
		t.Fatalf("7 events in pages of 3 took %d pages, want 3", pages)
	}
	page, err := q.ListEvents(t.Context(), engine.EventQuery{Limit: 2, Newest: true, After: ids[1]})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	wantIDs(t, "newest first after the second newest", page.Events, ids[2:4])
}

// testEventsDefaultLimit: with no Limit a page holds
// engine.DefaultPageSize events.
func testEventsDefaultLimit(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := storeEvents(t, q, engine.DefaultPageSize+5, anySource, indexPayload)
	page, err := q.ListEvents(t.Context(), engine.EventQuery{})
	if err != nil || len(page.Events) != engine.DefaultPageSize || page.Next == "" {
		t.Fatalf("ListEvents() = %d events, next %q, %v; want %d and a Next", len(page.Events), page.Next, err, engine.DefaultPageSize)
	}
	all, _ := collect(t, q, engine.EventQuery{}, 5)
	wantIDs(t, "all pages", all, ids)
}

// testEventsSourceDelivery: Source and DeliveryID select events.
func testEventsSourceDelivery(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := storeEvents(t, q, 6, func(i int) string { return []string{"github", "stripe"}[i%2] }, indexPayload)
	all, _ := collect(t, q, engine.EventQuery{Source: "stripe"}, 5)
	wantIDs(t, "source stripe", all, []string{ids[1], ids[3], ids[5]})
	all, _ = collect(t, q, engine.EventQuery{DeliveryID: "d2"}, 5)
	wantIDs(t, "delivery d2", all, ids[2:3])
	all, _ = collect(t, q, engine.EventQuery{Source: "stripe", DeliveryID: "d2"}, 5)
	wantIDs(t, "source stripe, delivery d2", all, nil)
	all, _ = collect(t, q, engine.EventQuery{Source: "nobody"}, 5)
	wantIDs(t, "unknown source", all, nil)
}

// testEventsField: Field and Value match a scalar at a payload path by its
// text; objects, arrays and missing paths never match.
func testEventsField(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	bodies := []string{
		`{"data":{"id":"task_1","n":42,"ok":true},"tags":["a","b"]}`,
		`{"data":{"id":"task_2","n":7,"ok":false},"tags":["c"]}`,
		`{"data":{"id":"caf\u00e9"}}`,
		`{"data":{"id":{"nested":"task_1"}}}`,
		`[{"data":"task_1"}]`,
	}
	ids := storeEvents(t, q, len(bodies), anySource, func(i int) string { return bodies[i] })
	cases := []struct {
		field, value string
		want         []string
	}{
		{"data.id", "task_1", ids[0:1]},
		{"data.id", "task_2", ids[1:2]},
		{"data.n", "42", ids[0:1]},
		{"data.ok", "false", ids[1:2]},
		{"tags.1", "b", ids[0:1]},
		{"data.id", "café", ids[2:3]},
		{"data.id", `{"nested":"task_1"}`, nil},
		{"data", `{"id":"task_2","n":7,"ok":false}`, nil},
		{"data.missing", "task_1", nil},
		{"0.data", "task_1", ids[4:5]},
	}
	for _, c := range cases {
		all, _ := collect(t, q, engine.EventQuery{Field: c.field, Value: c.value}, 5)
		if ids := eventIDs(all); !slices.Equal(ids, c.want) {
			t.Errorf("events with %s = %s: %s, want %s", c.field, c.value, joined(ids), joined(c.want))
		}
	}
	all, _ := collect(t, q, engine.EventQuery{Source: "other", Field: "data.id", Value: "task_1"}, 5)
	wantIDs(t, "source other with data.id = task_1", all, nil)
}

// testEventsFilteredPaging: a filtered listing pages like any other.
func testEventsFilteredPaging(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	ids := storeEvents(t, q, 12, func(i int) string { return []string{"x", "y", "y"}[i%3] }, indexPayload)
	var want []string
	for i := 0; i < 12; i += 3 {
		want = append(want, ids[i])
	}
	all, pages := collect(t, q, engine.EventQuery{Source: "x", Limit: 1}, 20)
	wantIDs(t, "source x one per page", all, want)
	if pages < len(want) {
		t.Fatalf("%d events one per page took %d pages", len(want), pages)
	}
	slices.Reverse(want)
	all, _ = collect(t, q, engine.EventQuery{Source: "x", Limit: 2, Newest: true}, 20)
	wantIDs(t, "source x newest first", all, want)
}

// testEventsScanBound: a search bounded by Scan answers with a cursor to
// continue from; following it finds every match once, in order.
func testEventsScanBound(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	const n = 40
	match := map[int]bool{3: true, 17: true, 18: true, 38: true}
	ids := storeEvents(t, q, n, anySource, func(i int) string {
		if match[i] {
			return `{"data":{"id":"needle"}}`
		}
		return fmt.Sprintf(`{"data":{"id":"hay%d"}}`, i)
	})
	var want []string
	for i := range n {
		if match[i] {
			want = append(want, ids[i])
		}
	}
	qry := engine.EventQuery{Field: "data.id", Value: "needle", Scan: 10, Limit: 50}
	// Each call examines at most 10 events, so 40 take at most 5 calls
	// (one more to learn there is nothing left).
	all, _ := collect(t, q, qry, n/10+2)
	wantIDs(t, "scan-bounded search", all, want)
	qry.Newest = true
	all, _ = collect(t, q, qry, n/10+2)
	slices.Reverse(want)
	wantIDs(t, "scan-bounded search newest first", all, want)
}

// testEventsGetUnknown: GetEvent of an unknown id is ErrNotFound.
func testEventsGetUnknown(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	id := enqueue(t, q, newEvent("x", `{}`))
	for _, unknown := range []string{"no-such-event", id + "0", "0", ""} {
		_, _, err := q.GetEvent(t.Context(), unknown)
		wantErr(t, fmt.Sprintf("GetEvent(%q)", unknown), err, engine.ErrNotFound)
	}
}

// testEventsAddJobs: replay adds pending jobs to a stored event, after
// its first ones; an unknown event is ErrNotFound.
func testEventsAddJobs(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	evID := enqueue(t, q, newEvent("x", `{"data":{"id":"k"}}`), jobsFor("a")...)
	_, before := getEvent(t, q, evID)
	succeed(t, q, lease(t, q, 1, quota(1, longLease, "a"))[0].Job)
	ids, err := q.AddJobs(t.Context(), evID, []engine.NewJob{
		{Listener: "a", MaxTries: 2}, {Listener: "b", MaxTries: 4, OrderKey: "k"},
	})
	if err != nil || len(ids) != 2 {
		t.Fatalf("AddJobs = %v, %v; want two ids", ids, err)
	}
	if ids[0] <= before[0].ID || ids[1] <= ids[0] {
		t.Fatalf("replayed job ids %s do not sort after the first job %s", joined(ids), before[0].ID)
	}
	_, jobs := getEvent(t, q, evID)
	if len(jobs) != 3 || jobs[0].ID != before[0].ID || jobs[1].ID != ids[0] || jobs[2].ID != ids[1] {
		t.Fatalf("event jobs after replay = %+v, want the first job then %s", jobs, joined(ids))
	}
	if j := jobs[2]; j.State != engine.JobPending || j.Listener != "b" || j.MaxTries != 4 || j.OrderKey != "k" || j.EventID != evID {
		t.Fatalf("replayed job = %+v, want a pending job of b with 4 tries and key k", j)
	}
	got := leaseIDs(lease(t, q, 10, quota(10, longLease, "a", "b")))
	if slices.Sort(got); !slices.Equal(got, ids) {
		t.Fatalf("leased %s after replay, want the replayed jobs %s", joined(got), joined(ids))
	}
	_, err = q.AddJobs(t.Context(), "no-such-event", jobsFor("a"))
	wantErr(t, "AddJobs to an unknown event", err, engine.ErrNotFound)
}
