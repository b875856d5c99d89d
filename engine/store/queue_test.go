package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

func TestQueue_RoundTrip(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now})
	// Whitespace and HTML characters must survive exactly as received.
	payload := "{ \"a\" : \"<b>&\",\n  \"n\": 1.50 }"
	ev := &engine.Event{Name: "media.processed", Source: "ittybit", DeliveryID: "d1",
		Headers: map[string]string{"X-Id": "1"}, Payload: []byte(payload)}
	id := enqueue(t, q, ev, engine.NewJob{Listener: "thumb", MaxTries: 3})
	if !strings.HasPrefix(id, "evt_") || ev.ID != id {
		t.Fatalf("id = %q, ev.ID = %q", id, ev.ID)
	}
	ls := lease(t, q, 10, quota("thumb"))
	if len(ls) != 1 {
		t.Fatalf("leased %d jobs, want 1", len(ls))
	}
	l := ls[0]
	if l.Job.State != engine.JobRunning || l.Job.Attempt != 1 || l.Job.EventID != id || l.Job.MaxTries != 3 {
		t.Fatalf("leased job = %+v", l.Job)
	}
	if !l.Job.LeaseUntil.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("LeaseUntil = %v", l.Job.LeaseUntil)
	}
	if string(l.Event.Payload) != payload || l.Event.Headers["X-Id"] != "1" || l.Event.Source != "ittybit" {
		t.Fatalf("leased event = %+v payload %q", l.Event, l.Event.Payload)
	}
	if again := lease(t, q, 10, quota("thumb")); len(again) != 0 {
		t.Fatalf("running job leased again: %+v", again)
	}
	finish(t, q, engine.Result{JobID: l.Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	if j := getJob(t, q, l.Job.ID); j.State != engine.JobDone {
		t.Fatalf("state = %s, want done", j.State)
	}
	gotEv, jobs, err := q.GetEvent(ctx, id)
	if err != nil || string(gotEv.Payload) != payload || len(jobs) != 1 || jobs[0].State != engine.JobDone {
		t.Fatalf("GetEvent = %+v, %+v, %v", gotEv, jobs, err)
	}
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.States[engine.JobDone] != 1 || st.Listeners["thumb"][engine.JobDone] != 1 || st.Events != 1 ||
		st.Enqueued != 1 || st.Finished != 1 || st.FileBytes <= 0 || st.States[engine.JobRunning] != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestQueue_Durability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, q, event("e", `{"x":1}`), engine.NewJob{Listener: "a", MaxTries: 1})
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, store.Options{Path: path})
	ls := lease(t, q, 1, quota("a"))
	if len(ls) != 1 || ls[0].Event.ID != id || string(ls[0].Event.Payload) != `{"x":1}` {
		t.Fatalf("after reopen leased %+v", ls)
	}
}

func TestQueue_Open_InUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	openQueue(t, store.Options{Path: path})
	_, err := store.Open(store.Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestQueue_Close_Idempotent(t *testing.T) {
	q, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := q.Close(context.Background()); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if _, err := q.Enqueue(context.Background(), event("e", "{}"), nil); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
}

func TestQueue_Enqueue_Concurrent(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{})
	const workers, each = 50, 20
	type stored struct {
		id      string
		payload string
	}
	results := make(chan stored, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 0, 256) // reused like Fiber's request buffer
			for i := range each {
				want := fmt.Sprintf(`{"worker":%d,"i":%d,"pad":"%s"}`, w, i, strings.Repeat("x", w+i))
				buf = append(buf[:0], want...)
				ev := &engine.Event{Name: "e", Source: "s", Payload: buf}
				id, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a", MaxTries: 1}})
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				for k := range buf {
					buf[k] = '#' // scribble: the store must have copied
				}
				results <- stored{id, want}
			}
		})
	}
	wg.Wait()
	close(results)
	seen := map[string]bool{}
	for r := range results {
		if seen[r.id] {
			t.Fatalf("id %s assigned twice", r.id)
		}
		seen[r.id] = true
		ev, jobs, err := q.GetEvent(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev.Payload, []byte(r.payload)) || len(jobs) != 1 {
			t.Fatalf("event %s payload %q, want %q (%d jobs)", r.id, ev.Payload, r.payload, len(jobs))
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("stored %d events, want %d", len(seen), workers*each)
	}
}

func TestQueue_GroupCommit(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	commits := 0
	gate, entered := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool // Open's own recovery commit is not the one to hold
	hook := func() error {
		if !armed.Load() {
			return nil
		}
		mu.Lock()
		commits++
		first := commits == 1
		mu.Unlock()
		if first {
			close(entered)
			<-gate
		}
		return nil
	}
	q := openQueue(t, store.WithCommitHook(store.Options{DedupeWindow: time.Hour}, hook))
	armed.Store(true)
	blocker := make(chan error, 1)
	go func() { blocker <- q.Ping(ctx) }()
	<-entered // the committer is inside the first commit
	const n = 20
	type answer struct {
		id  string
		err error
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			// Two requests share a delivery id: the second in the batch is
			// the duplicate.
			ev := &engine.Event{Name: "e", Source: "s", DeliveryID: fmt.Sprint(i % (n - 1)), Payload: []byte("{}")}
			id, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a"}})
			answers <- answer{id, err}
		}()
	}
	for store.Queued(q) < n {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	var ok, dup int
	for range n {
		a := <-answers
		switch {
		case a.err == nil:
			ok++
		case errors.Is(a.err, engine.ErrDuplicate) && a.id != "":
			dup++
		default:
			t.Fatalf("Enqueue: %v", a.err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if ok != n-1 || dup != 1 {
		t.Fatalf("ok=%d dup=%d, want %d and 1", ok, dup, n-1)
	}
	if commits != 2 {
		t.Fatalf("%d commits for 1 ping and %d queued enqueues, want 2", commits, n)
	}
}

func TestQueue_Batch_DirtyOpDoesNotFailOthers(t *testing.T) {
	ctx := context.Background()
	gate := make(chan struct{})
	var once sync.Once
	entered := make(chan struct{})
	var armed atomic.Bool // Open's own recovery commit is not the one to hold
	hook := func() error {
		if armed.Load() {
			once.Do(func() { close(entered); <-gate })
		}
		return nil
	}
	q := openQueue(t, store.WithCommitHook(store.Options{}, hook))
	armed.Store(true)
	go q.Ping(ctx)
	<-entered
	errs := make(chan error, 3)
	go func() { _, err := q.Enqueue(ctx, event("a", "{}"), nil); errs <- err }()
	go func() { errs <- store.FailDirty(ctx, q) }()
	go func() { _, err := q.Enqueue(ctx, event("b", "{}"), nil); errs <- err }()
	for store.Queued(q) < 3 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	var injected int
	for range 3 {
		if err := <-errs; errors.Is(err, store.ErrInjected) {
			injected++
		} else if err != nil {
			t.Fatalf("other request failed: %v", err)
		}
	}
	if injected != 1 {
		t.Fatalf("injected failures = %d", injected)
	}
	if store.HasDirtyMarker(q) {
		t.Fatal("the failed op's partial write was committed")
	}
	page, err := q.ListEvents(ctx, engine.EventQuery{Limit: 10})
	evs := page.Events
	if err != nil || len(evs) != 2 {
		t.Fatalf("ListEvents = %d events, %v", len(evs), err)
	}
}

func TestQueue_Dedupe(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now, DedupeWindow: time.Hour})
	send := func(source, delivery string) (string, error) {
		ev := &engine.Event{Name: "e", Source: source, DeliveryID: delivery, Payload: []byte("{}")}
		return q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a"}})
	}
	first, err := send("s", "d1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		advance  time.Duration
		source   string
		delivery string
		wantDup  bool
	}{
		{"same id within window", 30 * time.Minute, "s", "d1", true},
		{"same id other source", 0, "other", "d1", false},
		{"no delivery id", 0, "s", "", false},
		{"same id after window", 31 * time.Minute, "s", "d1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			id, err := send(tt.source, tt.delivery)
			if tt.wantDup {
				if !errors.Is(err, engine.ErrDuplicate) || id != first {
					t.Fatalf("got %q, %v; want %q, ErrDuplicate", id, err, first)
				}
				return
			}
			if err != nil || id == first {
				t.Fatalf("got %q, %v; want a new event", id, err)
			}
		})
	}
	st, _ := q.Stats(ctx)
	if st.Events != 4 || st.States[engine.JobPending] != 4 {
		t.Fatalf("a duplicate stored something: %+v", st)
	}
}

func TestQueue_MaxDepth(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, store.Options{MaxDepth: 2})
	job := engine.NewJob{Listener: "a"}
	enqueue(t, q, event("e", "{}"), job)
	enqueue(t, q, event("e", "{}"), job)
	if _, err := q.Enqueue(ctx, event("e", "{}"), []engine.NewJob{job}); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Enqueue over max depth: %v", err)
	}
	// Running jobs still count; done ones do not.
	ls := lease(t, q, 1, quota("a"))
	if _, err := q.Enqueue(ctx, event("e", "{}"), []engine.NewJob{job}); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Enqueue with one running: %v", err)
	}
	finish(t, q, engine.Result{JobID: ls[0].Job.ID, Attempt: 1, Outcome: engine.Succeeded})
	enqueue(t, q, event("e", "{}"), job)
}

func TestQueue_WriteFault(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var fault error
	hook := func() error {
		mu.Lock()
		defer mu.Unlock()
		return fault
	}
	setFault := func(err error) { mu.Lock(); fault = err; mu.Unlock() }
	q := openQueue(t, store.WithCommitHook(store.Options{}, hook))
	setFault(errors.New("no space left on device"))
	ev := event("e", "{}")
	if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "a"}}); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Enqueue on a failing disk: %v", err)
	}
	if ev.ID != "" {
		t.Fatalf("ev.ID set to %q for an event that was not stored", ev.ID)
	}
	if err := q.Ping(ctx); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Ping on a failing disk: %v", err)
	}
	setFault(nil)
	id := enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a"})
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Ping after recovery: %v", err)
	}
	page, err := q.ListEvents(ctx, engine.EventQuery{Limit: 10})
	evs := page.Events
	if err != nil || len(evs) != 1 || evs[0].ID != id {
		t.Fatalf("ListEvents = %+v, %v", evs, err)
	}
}

func TestQueue_ReadyAndNextDue(t *testing.T) {
	clk := newClock()
	q := openQueue(t, store.Options{Now: clk.Now})
	if !q.NextDue().IsZero() {
		t.Fatalf("NextDue on empty queue = %v", q.NextDue())
	}
	later := clk.Now().Add(time.Hour)
	enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a", RunAt: later})
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready not signalled after Enqueue")
	}
	if !q.NextDue().Equal(later) {
		t.Fatalf("NextDue = %v, want %v", q.NextDue(), later)
	}
	if ls := lease(t, q, 1, quota("a")); len(ls) != 0 {
		t.Fatalf("leased a job not yet due: %+v", ls)
	}
	clk.Add(time.Hour)
	ls := lease(t, q, 1, quota("a"))
	if len(ls) != 1 || !q.NextDue().IsZero() {
		t.Fatalf("leased %d; NextDue = %v", len(ls), q.NextDue())
	}
	finish(t, q, engine.Result{JobID: ls[0].Job.ID, Attempt: 1, Outcome: engine.Retry, RunAt: clk.Now().Add(time.Minute)})
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready not signalled after a reschedule")
	}
	if !q.NextDue().Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("NextDue after retry = %v", q.NextDue())
	}
}

// A file written by a version that kept more indexes opens with them
// dropped, and the indexes that stay still find the real job.
func TestQueue_Open_DropsLegacyIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, q, event("e", "{}"), engine.NewJob{Listener: "a"})
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.AddLegacyIndexes(path); err != nil {
		t.Fatal(err)
	}
	q, err = store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(ctx) })
	if left := store.LegacyIndexesLeft(q); len(left) != 0 {
		t.Fatalf("legacy indexes left after Open: %v", left)
	}
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OldestDue.IsZero() || st.States[engine.JobPending] != 1 {
		t.Fatalf("stats = %+v: the real job's due index or counters were lost", st)
	}
	jobs, err := q.ListJobs(ctx, engine.JobQuery{State: engine.JobPending})
	if err != nil || len(jobs) != 1 || jobs[0].EventID != id {
		t.Fatalf("pending jobs = %+v, %v; want the one real job", jobs, err)
	}
	if ls := lease(t, q, 1, quota("a")); len(ls) != 1 {
		t.Fatalf("leased %d; want the real job", len(ls))
	}
}
