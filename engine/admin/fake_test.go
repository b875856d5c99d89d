package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

const testToken = "s3cret-admin-token"

// fakeStore is an in-memory Store with the same contracts as the bbolt
// queue: ids sort by creation, lists continue after a cursor, missing ids
// wrap engine.ErrNotFound, and only failed jobs are retried or forgotten.
type fakeStore struct {
	mu      sync.Mutex
	seq     int
	events  []engine.Event
	jobs    []engine.Job
	pingErr error
	failAll error // when set, every call but Ping fails with it
}

func (f *fakeStore) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%06d", prefix, f.seq)
}

// addEvent stores ev with one job per listener, in the given state.
func (f *fakeStore) addEvent(ev engine.Event, state engine.JobState, listeners ...string) (engine.Event, []engine.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev.ID = f.nextID("evt")
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	f.events = append(f.events, ev)
	var jobs []engine.Job
	for _, l := range listeners {
		j := engine.Job{ID: f.nextID("job"), EventID: ev.ID, Listener: l, State: state, Attempt: 1, MaxTries: 3,
			CreatedAt: ev.ReceivedAt, UpdatedAt: ev.ReceivedAt}
		if state == engine.JobFailed {
			j.Attempt = 3
			j.LastError = &engine.JobError{Attempt: 3, At: ev.ReceivedAt, Kind: "error", Message: "boom", Stack: "at handle (scripts/x.js:3:9)"}
		}
		f.jobs = append(f.jobs, j)
		jobs = append(jobs, j)
	}
	return ev, jobs
}

func (f *fakeStore) ListEvents(_ context.Context, q engine.EventQuery) (engine.EventPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return engine.EventPage{}, f.failAll
	}
	limit := engine.PageSize(q.Limit)
	evs := slices.Clone(f.events)
	if q.Newest {
		slices.Reverse(evs)
	}
	var page engine.EventPage
	for _, ev := range evs {
		after := q.After == "" || (!q.Newest && ev.ID > q.After) || (q.Newest && ev.ID < q.After)
		if !after || (q.Source != "" && ev.Source != q.Source) {
			continue
		}
		if len(page.Events) == limit {
			page.Next = page.Events[limit-1].ID
			break
		}
		page.Events = append(page.Events, ev)
	}
	return page, nil
}

func (f *fakeStore) GetEvent(_ context.Context, id string) (*engine.Event, []engine.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return nil, nil, f.failAll
	}
	for _, ev := range f.events {
		if ev.ID == id {
			var jobs []engine.Job
			for _, j := range f.jobs {
				if j.EventID == id {
					jobs = append(jobs, j)
				}
			}
			return &ev, jobs, nil
		}
	}
	return nil, nil, fmt.Errorf("event %s: %w", id, engine.ErrNotFound)
}

func (f *fakeStore) ListJobs(_ context.Context, q engine.JobQuery) ([]engine.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return nil, f.failAll
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	var out []engine.Job
	for _, j := range f.jobs {
		if j.ID <= q.After || (q.State != "" && j.State != q.State) ||
			(q.Listener != "" && j.Listener != q.Listener) || (q.EventID != "" && j.EventID != q.EventID) {
			continue
		}
		if len(out) == q.Limit {
			break
		}
		out = append(out, j)
	}
	return out, nil
}

func (f *fakeStore) find(id string) (int, error) {
	if f.failAll != nil {
		return 0, f.failAll
	}
	i := slices.IndexFunc(f.jobs, func(j engine.Job) bool { return j.ID == id })
	if i < 0 {
		return 0, fmt.Errorf("job %s: %w", id, engine.ErrNotFound)
	}
	return i, nil
}

func (f *fakeStore) GetJob(_ context.Context, id string) (*engine.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(id)
	if err != nil {
		return nil, err
	}
	j := f.jobs[i]
	return &j, nil
}

func (f *fakeStore) RetryJob(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(id)
	if err != nil {
		return err
	}
	if f.jobs[i].State != engine.JobFailed {
		return fmt.Errorf("job %s is %s, only failed jobs can be retried or forgotten: %w", id, f.jobs[i].State, ErrConflict)
	}
	f.jobs[i].State, f.jobs[i].Attempt = engine.JobPending, 0
	return nil
}

func (f *fakeStore) RetryFailed(context.Context, engine.JobFilter) (int, error) {
	return f.eachFailed(func(i int) bool {
		f.jobs[i].State, f.jobs[i].Attempt = engine.JobPending, 0
		return true
	})
}

func (f *fakeStore) ForgetJob(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.find(id)
	if err != nil {
		return err
	}
	if f.jobs[i].State != engine.JobFailed {
		return fmt.Errorf("job %s is %s, only failed jobs can be retried or forgotten: %w", id, f.jobs[i].State, ErrConflict)
	}
	f.jobs = slices.Delete(f.jobs, i, i+1)
	return nil
}

func (f *fakeStore) FlushFailed(context.Context, engine.JobFilter) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return 0, f.failAll
	}
	before := len(f.jobs)
	f.jobs = slices.DeleteFunc(f.jobs, func(j engine.Job) bool { return j.State == engine.JobFailed })
	return before - len(f.jobs), nil
}

func (f *fakeStore) eachFailed(fn func(i int) bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return 0, f.failAll
	}
	n := 0
	for i := range f.jobs {
		if f.jobs[i].State == engine.JobFailed && fn(i) {
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) Stats(context.Context) (engine.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAll != nil {
		return engine.Stats{}, f.failAll
	}
	st := engine.Stats{States: map[engine.JobState]int{}, Listeners: map[string]map[engine.JobState]int{},
		Events: len(f.events), FileBytes: 32768}
	for _, j := range f.jobs {
		st.States[j.State]++
		if st.Listeners[j.Listener] == nil {
			st.Listeners[j.Listener] = map[engine.JobState]int{}
		}
		st.Listeners[j.Listener][j.State]++
	}
	return st, nil
}

func (f *fakeStore) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

var _ Store = (*fakeStore)(nil)

// testRoutes are two listeners, as config would build them.
func testRoutes() *engine.Routes {
	return engine.NewRoutes([]*engine.Listener{
		{Name: "update_media", Script: "/app/scripts/update_media.js", On: []string{"media.processed"}, Tries: 3,
			Backoff: engine.Backoff{Steps: []time.Duration{10 * time.Second, time.Minute}}, Timeout: 30 * time.Second},
		{Name: "notify", Script: "/app/scripts/notify.ts", On: []string{"*"}, Tries: 5,
			Backoff: engine.Backoff{Base: time.Second, Max: time.Minute}, Timeout: 10 * time.Second,
			Rate: engine.Rate{N: 10, Per: time.Second}},
	})
}

// okStatus is a successful load of testRoutes.
func okStatus() ReloadStatus {
	return ReloadStatus{At: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), OK: true, Listeners: []string{"update_media", "notify"}}
}

// testServer starts an admin server over a fake store, tweaked by opt.
func testServer(t *testing.T, opt func(*Options)) (*httptest.Server, *fakeStore, *Server) {
	t.Helper()
	fs := &fakeStore{}
	opts := Options{
		Store:  fs,
		Token:  testToken,
		Status: okStatus,
		Routes: testRoutes,
		Logger: slog.New(slog.DiscardHandler),
		Replay: func(ctx context.Context, id string) ([]string, error) {
			if _, _, err := fs.GetEvent(ctx, id); err != nil {
				return nil, err
			}
			_, jobs := fs.addEvent(engine.Event{Name: "replayed"}, engine.JobPending, "update_media")
			return []string{jobs[0].ID}, nil
		},
	}
	if opt != nil {
		opt(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, fs, srv
}

// call sends method path with the given Authorization header value ("" =
// none) and returns the response with its body read.
func call(t *testing.T, ts *httptest.Server, method, path, auth string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
