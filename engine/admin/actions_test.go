package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestAPI_EventsNewestSearchAndSummary(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	a, _ := fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", DeliveryID: "d-1",
		Payload: json.RawMessage(`{"data":{"id":"task_01","n":7}}`),
		Headers: map[string]string{"Webhook-Id": "msg_1", "Webhook-Signature": "v1,xyz", "Authorization": "Bearer s", "Cookie": "c=1", "X-Api-Key": "k"}},
		engine.JobDone, "notify")
	b, _ := fs.addEvent(engine.Event{Name: "media.processed", Source: "github", DeliveryID: "d-2",
		Payload: json.RawMessage(`{"data":{"id":"task_02","n":8}}`)}, engine.JobDone, "notify")
	c, _ := fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", DeliveryID: "d-3",
		Payload: json.RawMessage(`{"data":{"id":"task_03","n":7}}`)}, engine.JobDone, "notify")
	ids := func(path string) string {
		t.Helper()
		resp, body := call(t, ts, "GET", path, bearer)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var out []string
		for _, e := range decode[EventPage](t, body).Events {
			out = append(out, e.ID)
		}
		return strings.Join(out, ",")
	}
	cases := []struct{ name, path, want string }{
		{"oldest first by default", "/api/events", a.ID + "," + b.ID + "," + c.ID},
		{"newest first", "/api/events?order=newest", c.ID + "," + b.ID + "," + a.ID},
		{"newest, second page", "/api/events?order=newest&after=" + c.ID, b.ID + "," + a.ID},
		{"by source", "/api/events?order=newest&source=ittybit", c.ID + "," + a.ID},
		{"by delivery", "/api/events?delivery=d-2", b.ID},
		{"by payload field", "/api/events?q=" + qesc("data.id = task_03"), c.ID},
		{"by numeric payload field", "/api/events?field=data.n&value=7", a.ID + "," + c.ID},
		{"source and field", "/api/events?q=" + qesc("source = ittybit data.n = 8"), ""},
		{"an event id", "/api/events?q=" + b.ID, b.ID},
		{"id = an event id", "/api/events?q=" + qesc("id = "+c.ID), c.ID},
		{"a bare delivery id", "/api/events?q=d-1", a.ID},
		{"an unknown id", "/api/events?q=" + qesc("id = evt_nope"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.path); got != tc.want {
				t.Fatalf("%s: got %q, want %q", tc.path, got, tc.want)
			}
		})
	}
	t.Run("pages with a cursor", func(t *testing.T) {
		_, body := call(t, ts, "GET", "/api/events?order=newest&limit=2", bearer)
		if p := decode[EventPage](t, body); len(p.Events) != 2 || p.Next != b.ID {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("summary view", func(t *testing.T) {
		_, body := call(t, ts, "GET", "/api/events?order=newest&view=summary&limit=1", bearer)
		p := decode[EventPage](t, body)
		if len(p.Events) != 0 || len(p.Summaries) != 1 || p.Summaries[0].ID != c.ID || p.Summaries[0].Bytes != 31 ||
			!strings.Contains(p.Summaries[0].Preview, "task_03") {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("credential headers never leave", func(t *testing.T) {
		for _, path := range []string{"/api/events/" + a.ID, "/api/events?limit=1"} {
			_, body := call(t, ts, "GET", path, bearer)
			if !strings.Contains(body, "msg_1") {
				t.Fatalf("%s lost the webhook id: %s", path, body)
			}
			for _, leak := range []string{"v1,xyz", "Bearer s", "c=1", `"k"`, "Signature", "Authorization", "Cookie", "X-Api-Key"} {
				if strings.Contains(body, leak) {
					t.Fatalf("%s shows %q: %s", path, leak, body)
				}
			}
		}
	})
	for _, bad := range []string{"?order=sideways", "?q=" + qesc(`a "b`), "?field=data.id"} {
		if resp, body := call(t, ts, "GET", "/api/events"+bad, bearer); resp.StatusCode != 400 {
			t.Fatalf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}
}

func qesc(s string) string { return strings.NewReplacer(" ", "%20", "=", "%3D", `"`, "%22").Replace(s) }

func TestAPI_JobsNewestAndErrorFilter(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	_, j1 := fs.addEvent(engine.Event{Name: "a"}, engine.JobFailed, "notify")
	_, j2 := fs.addEvent(engine.Event{Name: "b"}, engine.JobFailed, "notify")
	fs.mu.Lock()
	fs.jobs[1].LastError = &engine.JobError{Kind: engine.KindTimeout, Message: "listener timed out after 30s", Stack: "at x (a.js:1:1)"}
	fs.mu.Unlock()
	_, body := call(t, ts, "GET", "/api/jobs?order=newest&state=failed", bearer)
	if p := decode[JobPage](t, body); len(p.Jobs) != 2 || p.Jobs[0].ID != j2[0].ID || p.Jobs[1].ID != j1[0].ID {
		t.Fatalf("newest: %+v", p)
	}
	_, body = call(t, ts, "GET", "/api/jobs?state=failed&error=TIMED+OUT", bearer)
	if p := decode[JobPage](t, body); len(p.Jobs) != 1 || p.Jobs[0].ID != j2[0].ID {
		t.Fatalf("error filter: %+v", p)
	}
	_, body = call(t, ts, "GET", "/api/jobs?view=summary", bearer)
	for _, j := range decode[JobPage](t, body).Jobs {
		if len(j.Attempts) != 0 || (j.LastError != nil && j.LastError.Stack != "") {
			t.Fatalf("summary kept attempts or stacks: %+v", j)
		}
	}
}

func TestAPI_ActionsAreAudited(t *testing.T) {
	var logs lockedBuffer
	ts, fs, _ := testServer(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	ev, _ := fs.addEvent(engine.Event{Name: "a"}, engine.JobDone, "notify")
	_, f1 := fs.addEvent(engine.Event{Name: "b"}, engine.JobFailed, "notify", "update_media")
	_, f2 := fs.addEvent(engine.Event{Name: "c"}, engine.JobFailed, "notify")
	fs.mu.Lock()
	for i := range fs.jobs {
		if fs.jobs[i].ID == f2[0].ID {
			fs.jobs[i].LastError.Message = "connection refused"
		}
	}
	fs.mu.Unlock()

	steps := []struct {
		method, path string
		count        int
		action       string
		target       string
	}{
		{"POST", "/api/jobs/" + f1[0].ID + "/retry", 1, "retry", f1[0].ID},
		{"DELETE", "/api/jobs/" + f1[1].ID, 1, "forget", f1[1].ID},
		{"POST", "/api/failed/retry?listener=update_media", 0, "retry-failed", "listener=update_media"},
		{"DELETE", "/api/failed?error=REFUSED", 1, "flush", `error~"REFUSED"`},
		{"POST", "/api/events/" + ev.ID + "/replay", 1, "replay", ev.ID},
		{"POST", "/api/listeners/notify/pause", 1, "pause", "notify"},
		{"POST", "/api/listeners/notify/pause", 0, "pause", "notify"},
		{"POST", "/api/listeners/notify/resume", 1, "resume", "notify"},
		{"DELETE", "/api/failed", 0, "flush", "all failed jobs"},
	}
	for _, s := range steps {
		resp, body := call(t, ts, s.method, s.path, bearer)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, resp.StatusCode, body)
		}
	}
	log := fs.auditLog()
	if len(log) != len(steps) {
		t.Fatalf("%d audit entries for %d actions: %+v", len(log), len(steps), log)
	}
	for i, s := range steps {
		e := log[i]
		if e.Action != s.action || e.Target != s.target || e.Count != s.count || !strings.Contains(e.Actor, "127.0.0.1 bearer") ||
			time.Since(e.At) > time.Minute {
			t.Errorf("entry %d = %+v, want %s %s count %d from 127.0.0.1 bearer", i, e, s.action, s.target, s.count)
		}
	}
	// And one log line each, with the same what and from where.
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err == nil && rec["msg"] == "operator action" {
			lines = append(lines, rec)
		}
	}
	if len(lines) != len(steps) {
		t.Fatalf("%d operator action log lines for %d actions:\n%s", len(lines), len(steps), logs.String())
	}
	for i, s := range steps {
		l := lines[i]
		if l["action"] != s.action || l["target"] != s.target || l["count"] != float64(s.count) || !strings.Contains(fmt.Sprint(l["actor"]), "127.0.0.1") {
			t.Errorf("log line %d = %v, want %s %s count %d from 127.0.0.1", i, l, s.action, s.target, s.count)
		}
	}
	_, body := call(t, ts, "GET", "/api/audit?limit=2", bearer)
	p := decode[AuditPage](t, body)
	if len(p.Entries) != 2 || p.Entries[0].Action != "flush" || p.Entries[1].Action != "resume" || p.Next == "" {
		t.Fatalf("audit page: %+v", p)
	}
	_, body = call(t, ts, "GET", "/api/audit?limit=100&before="+p.Next, bearer)
	if p2 := decode[AuditPage](t, body); len(p2.Entries) != len(steps)-2 || p2.Next != "" {
		t.Fatalf("second audit page: %d entries, next %q", len(p2.Entries), p2.Next)
	}
	if resp, _ := call(t, ts, "GET", "/api/audit?before=yesterday", bearer); resp.StatusCode != 400 {
		t.Fatalf("bad before: %d", resp.StatusCode)
	}
}

func TestAPI_Listeners(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.js")
	if err := os.WriteFile(script, []byte("export default function handle() { /* <b>hi</b> */ }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, fs, _ := testServer(t, func(o *Options) {
		o.Routes = func() *engine.Routes {
			return engine.NewRoutes([]*engine.Listener{{Name: "notify", Script: script, On: []string{"*"}, Tries: 2, OrderBy: "data.id"}})
		}
	})
	fs.addEvent(engine.Event{Name: "a"}, engine.JobPending, "notify", "gone")
	resp, body := call(t, ts, "POST", "/api/listeners/notify/pause", bearer)
	if l := decode[ListenerInfo](t, body); resp.StatusCode != 200 || !l.Paused || l.PausedAt.IsZero() {
		t.Fatalf("pause: %d %s", resp.StatusCode, body)
	}
	_, body = call(t, ts, "GET", "/api/listeners", bearer)
	rep := decode[ListenersReport](t, body)
	if len(rep.Listeners) != 2 || rep.Listeners[0].Name != "notify" || !rep.Listeners[0].Paused || !rep.Listeners[0].Configured ||
		rep.Listeners[0].OrderBy != "data.id" || rep.Listeners[0].Jobs["pending"] != 1 || rep.Listeners[0].OldestDue.IsZero() ||
		rep.Listeners[1].Name != "gone" || rep.Listeners[1].Configured || !rep.Reload.OK {
		t.Fatalf("listeners: %+v", rep)
	}
	resp, body = call(t, ts, "GET", "/api/listeners/notify/script", bearer)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, "<b>hi</b>") {
		t.Fatalf("script: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Unknown listeners: 404, and nothing is paused.
	for _, p := range []string{"/api/listeners/nope/pause", "/api/listeners/nope/resume"} {
		if resp, _ := call(t, ts, "POST", p, bearer); resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/api/listeners/nope", "/api/listeners/gone/script"} {
		if resp, _ := call(t, ts, "GET", p, bearer); resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	// A listener config no longer names can still be resumed.
	fs.SetPaused(t.Context(), "gone", true)
	if resp, body := call(t, ts, "POST", "/api/listeners/gone/resume", bearer); resp.StatusCode != 200 || decode[ListenerInfo](t, body).Paused {
		t.Fatalf("resume gone: %d %s", resp.StatusCode, body)
	}
	// Stats still lists configured listeners only, as it always did, and
	// says which are paused.
	_, body = call(t, ts, "GET", "/api/stats", bearer)
	st := decode[StatsReport](t, body)
	if len(st.Listeners) != 1 || !st.Listeners[0].Paused {
		t.Fatalf("stats listeners: %+v", st.Listeners)
	}
	if _, ok := st.Stats.Paused["notify"]; !ok {
		t.Fatalf("stats paused: %+v", st.Stats.Paused)
	}
}

func TestAPI_Processes(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	fs.procs = []engine.Process{{ID: "p1", Host: "h", PID: 42, Started: time.Now(), Seen: time.Now()}}
	resp, body := call(t, ts, "GET", "/api/processes", bearer)
	var ps []engine.Process
	if err := json.Unmarshal([]byte(body), &ps); err != nil || resp.StatusCode != http.StatusOK || len(ps) != 1 || ps[0].PID != 42 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
