package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

const bearer = "Bearer " + testToken

// decode unmarshals body into a fresh T or fails the test.
func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func TestAPI_Events(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	ev1, jobs1 := fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", Payload: json.RawMessage(`{"a":1}`)}, engine.JobDone, "update_media", "notify")
	ev2, _ := fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", Payload: json.RawMessage(`{"a":2}`)}, engine.JobPending, "notify")

	t.Run("list", func(t *testing.T) {
		resp, body := call(t, ts, "GET", "/api/events", bearer)
		page := decode[EventPage](t, body)
		if resp.StatusCode != 200 || len(page.Events) != 2 || page.Events[0].ID != ev1.ID || page.Next != "" {
			t.Fatalf("%d %+v", resp.StatusCode, page)
		}
	})
	t.Run("list pages", func(t *testing.T) {
		_, body := call(t, ts, "GET", "/api/events?limit=1", bearer)
		page := decode[EventPage](t, body)
		if len(page.Events) != 1 || page.Next != ev1.ID {
			t.Fatalf("first page %+v", page)
		}
		_, body = call(t, ts, "GET", "/api/events?limit=1&after="+page.Next, bearer)
		page = decode[EventPage](t, body)
		if len(page.Events) != 1 || page.Events[0].ID != ev2.ID {
			t.Fatalf("second page %+v", page)
		}
	})
	t.Run("empty list is []", func(t *testing.T) {
		_, body := call(t, ts, "GET", "/api/events?after=zzz", bearer)
		if !strings.Contains(body, `"events":[]`) {
			t.Fatalf("got %s", body)
		}
	})
	t.Run("get", func(t *testing.T) {
		resp, body := call(t, ts, "GET", "/api/events/"+ev1.ID, bearer)
		d := decode[EventDetail](t, body)
		if resp.StatusCode != 200 || d.Event.ID != ev1.ID || string(d.Event.Payload) != `{"a":1}` || len(d.Jobs) != len(jobs1) {
			t.Fatalf("%d %+v", resp.StatusCode, d)
		}
	})
	t.Run("replay", func(t *testing.T) {
		resp, body := call(t, ts, "POST", "/api/events/"+ev1.ID+"/replay", bearer)
		rr := decode[ReplayResult](t, body)
		if resp.StatusCode != 200 || rr.Event != ev1.ID || len(rr.Jobs) != 1 {
			t.Fatalf("%d %+v", resp.StatusCode, rr)
		}
	})
}

func TestAPI_Jobs(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	_, done := fs.addEvent(engine.Event{Name: "a"}, engine.JobDone, "update_media")
	ev, failed := fs.addEvent(engine.Event{Name: "b"}, engine.JobFailed, "update_media", "notify")

	cases := []struct {
		name  string
		query string
		want  int
	}{
		{"all", "", 3},
		{"by state", "?state=failed", 2},
		{"by listener", "?listener=notify", 1},
		{"by event", "?event=" + ev.ID, 2},
		{"combined", "?state=failed&listener=update_media", 1},
		{"limit", "?limit=2", 2},
		{"after", "?after=" + done[0].ID, 2},
	}
	for _, c := range cases {
		t.Run("list "+c.name, func(t *testing.T) {
			resp, body := call(t, ts, "GET", "/api/jobs"+c.query, bearer)
			page := decode[JobPage](t, body)
			if resp.StatusCode != 200 || len(page.Jobs) != c.want {
				t.Fatalf("%d: %d jobs, want %d", resp.StatusCode, len(page.Jobs), c.want)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		resp, body := call(t, ts, "GET", "/api/jobs/"+failed[0].ID, bearer)
		j := decode[engine.Job](t, body)
		if resp.StatusCode != 200 || j.ID != failed[0].ID || j.LastError == nil || j.LastError.Stack == "" {
			t.Fatalf("%d %+v", resp.StatusCode, j)
		}
	})
	t.Run("retry", func(t *testing.T) {
		resp, body := call(t, ts, "POST", "/api/jobs/"+failed[0].ID+"/retry", bearer)
		if resp.StatusCode != 200 || decode[Count](t, body).Count != 1 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if j, _ := fs.GetJob(t.Context(), failed[0].ID); j.State != engine.JobPending {
			t.Fatalf("state %s after retry", j.State)
		}
	})
	t.Run("forget a job that has not failed", func(t *testing.T) {
		resp, body := call(t, ts, "DELETE", "/api/jobs/"+done[0].ID, bearer)
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if _, err := fs.GetJob(t.Context(), done[0].ID); err != nil {
			t.Fatal("the job was deleted")
		}
	})
	t.Run("forget", func(t *testing.T) {
		resp, body := call(t, ts, "DELETE", "/api/jobs/"+failed[1].ID, bearer)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if _, err := fs.GetJob(t.Context(), failed[1].ID); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("job still there: %v", err)
		}
	})
}

func TestAPI_FailedBulk(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	fs.addEvent(engine.Event{Name: "a"}, engine.JobFailed, "update_media", "notify")
	fs.addEvent(engine.Event{Name: "b"}, engine.JobDone, "update_media")

	resp, body := call(t, ts, "POST", "/api/failed/retry", bearer)
	if resp.StatusCode != 200 || decode[Count](t, body).Count != 2 {
		t.Fatalf("retry all: %d %s", resp.StatusCode, body)
	}
	fs.addEvent(engine.Event{Name: "c"}, engine.JobFailed, "notify")
	resp, body = call(t, ts, "DELETE", "/api/failed", bearer)
	if resp.StatusCode != 200 || decode[Count](t, body).Count != 1 {
		t.Fatalf("flush: %d %s", resp.StatusCode, body)
	}
	if st, _ := fs.Stats(t.Context()); st.States[engine.JobFailed] != 0 || st.States[engine.JobDone] != 1 {
		t.Fatalf("after flush: %v", st.States)
	}
}

func TestAPI_Errors(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	_, done := fs.addEvent(engine.Event{Name: "a"}, engine.JobDone, "notify")
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"event not found", "GET", "/api/events/evt_missing", 404},
		{"replay not found", "POST", "/api/events/evt_missing/replay", 404},
		{"job not found", "GET", "/api/jobs/job_missing", 404},
		{"retry not found", "POST", "/api/jobs/job_missing/retry", 404},
		{"forget not found", "DELETE", "/api/jobs/job_missing", 404},
		{"retry a done job", "POST", "/api/jobs/" + done[0].ID + "/retry", 409},
		{"unknown route", "GET", "/api/unknown", 404},
		{"bad limit", "GET", "/api/events?limit=x", 400},
		{"zero limit", "GET", "/api/jobs?limit=0", 400},
		{"bad state", "GET", "/api/jobs?state=lost", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := call(t, ts, c.method, c.path, bearer)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if eb := decode[errorBody](t, body); eb.Error == "" {
				t.Fatalf("no error message: %s", body)
			}
		})
	}
}

func TestAPI_StoreFailure(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"unavailable", engine.ErrUnavailable, 503},
		{"other", errors.New("disk on fire"), 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs.mu.Lock()
			fs.failAll = c.err
			fs.mu.Unlock()
			resp, body := call(t, ts, "GET", "/api/jobs", bearer)
			if resp.StatusCode != c.want || !strings.Contains(body, c.err.Error()) {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
		})
	}
}

func TestAPI_ReplayUnconfigured(t *testing.T) {
	ts, fs, _ := testServer(t, func(o *Options) { o.Replay = nil })
	ev, _ := fs.addEvent(engine.Event{Name: "a"}, engine.JobDone)
	resp, body := call(t, ts, "POST", "/api/events/"+ev.ID+"/replay", bearer)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestStatusOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"not found", errors.Join(errors.New("x"), engine.ErrNotFound), 404},
		{"bad request", invalid("limit"), 400},
		{"unauthorized", ErrUnauthorized, 401},
		{"conflict", ErrConflict, 409},
		{"unavailable", engine.ErrUnavailable, 503},
		{"closed", engine.ErrClosed, 503},
		{"other", errors.New("x"), 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := statusOf(c.err); got != c.want {
				t.Fatalf("statusOf(%v) = %d, want %d", c.err, got, c.want)
			}
		})
	}
}
