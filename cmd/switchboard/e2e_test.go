package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/ingest"
)

const testSecret = "whsec-test-secret"

// fakeIttybit stands in for api.ittybit.com: it records requests and
// answers POST /jobs with a new queued image job (as the API reference
// shows it); any other route is a 404 in Ittybit's error shape.
type fakeIttybit struct {
	*httptest.Server
	mu       sync.Mutex
	requests []apiRequest
}

type apiRequest struct {
	Method, Path, Auth, IdempotencyKey string
	Body                               map[string]any
}

func newFakeIttybit(t testing.TB) *fakeIttybit {
	f := &fakeIttybit{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.requests = append(f.requests, apiRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), body})
		n := len(f.requests)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/jobs" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"not_found","message":"no such route"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": fmt.Sprintf("job_thumb_%d", n), "object": "job", "kind": "image",
			"status": "queued", "input": body["input"], "options": body["options"], "tasks": []any{}})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeIttybit) Requests() []apiRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiRequest(nil), f.requests...)
}

// testConfig writes a config for a temp dir that uses the shipped scripts.
func testConfig(t testing.TB, apiURL string, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	scripts, err := filepath.Abs("../../scripts")
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"
shutdown_timeout = "5s"
[admin]
listen = "127.0.0.1:0"
token = "admin-test-token"
[storage]
dir = "data"
[queue]
workers = 4
[defaults]
backoff = ["50ms"]
timeout = "10s"
[database]
driver = "sqlite"
dsn = "data/app.db"
[mail]
transport = "file"
from = "Media <media@example.com>"
dir = "data/mail"
[http]
allow_cidrs = ["127.0.0.0/8"]
[ittybit]
api_key = "test-api-key"
base_url = %q
[log]
level = "warn"

[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "${ITTYBIT_WEBHOOK_SECRET}"
event = "media.processed"

[[listeners]]
name = "update_media_record"
script = %q
on = ["media.processed"]

[[listeners]]
name = "generate_thumbnail"
script = %q
on = ["media.processed"]

[[listeners]]
name = "notify_user"
script = %q
on = ["media.processed"]
%s`, apiURL,
		filepath.Join(scripts, "update_media_record.js"),
		filepath.Join(scripts, "generate_thumbnail.js"),
		filepath.Join(scripts, "notify_user.js"), extra)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ITTYBIT_WEBHOOK_SECRET", testSecret)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startApp gives the app database what `db init` does (the demo schema,
// a media row for every fixture), starts the router, and stops it when
// the test ends.
func startApp(t testing.TB, cfg *config.Config) *App {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(cfg.Resolve("data"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, dbOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := initAppDB(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Close()

	return launch(t, cfg, nil).App
}

// post signs body as the source would (unless sign is false) and posts it.
func post(t testing.TB, app *App, body []byte, sign bool) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.PublicAddr.String()+"/webhooks/ittybit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sign {
		headers, err := ingest.Sign(ingestSource(app.cfg.Sources[0]), body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
	} else {
		req.Header.Set("Ittybit-Signature", strings.Repeat("ab", 32))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitIdle waits until no job is pending or running.
func waitIdle(t testing.TB, app *App) engine.Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := app.queue.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.States[engine.JobPending] == 0 && st.States[engine.JobRunning] == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still pending/running after 30s: %+v", st.States)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queryRow(t testing.TB, app *App, query string, args ...any) map[string]any {
	t.Helper()
	rows, err := app.appDB.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("no row for %s %v", query, args)
	}
	return rows[0]
}

// TestEndToEnd_IttybitFlow is the Laravel guide's flow, closed: the
// three payload shapes, a failed task, a forged delivery, a redelivery,
// the guide's POST /jobs thumbnail request, and the thumbnail's own
// webhook as an event envelope and as a job object.
func TestEndToEnd_IttybitFlow(t *testing.T) { ittybitFlow(t, "") }

// ittybitFlow runs the flow on a server whose config ends with extra.
func ittybitFlow(t *testing.T, extra string) *App {
	api := newFakeIttybit(t)
	app := startApp(t, testConfig(t, api.URL, extra))
	ctx := context.Background()

	events := map[string]string{} // fixture → event id
	for _, name := range []string{"ittybit_task_completed.json", "ittybit_event_succeeded.json", "ittybit_task_failed.json"} {
		code, out := post(t, app, fixture(t, name), true)
		if code != http.StatusOK || out["status"] != "ok" || out["event"] == "" {
			t.Fatalf("%s: got %d %v, want 200 ok with an event id", name, code, out)
		}
		events[name] = out["event"]
	}

	// A forged delivery is refused and stores nothing.
	before, err := app.queue.ListEvents(ctx, engine.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, app, fixture(t, "ittybit_task_completed.json"), false); code != http.StatusUnauthorized {
		t.Fatalf("bad signature: got %d, want 401", code)
	}
	after, _ := app.queue.ListEvents(ctx, engine.EventQuery{Limit: 100})
	if len(after.Events) != len(before.Events) {
		t.Fatalf("a 401 stored an event: %d events before, %d after", len(before.Events), len(after.Events))
	}

	// A redelivery of the envelope (same evt_ id) is acknowledged, not re-run.
	if code, out := post(t, app, fixture(t, "ittybit_event_succeeded.json"), true); code != 200 || out["status"] != "duplicate" {
		t.Fatalf("redelivery: got %d %v, want 200 duplicate", code, out)
	}

	waitIdle(t, app)

	// update_media_record: both shapes recorded, the failure too.
	m1 := queryRow(t, app, "SELECT status, output_url, metadata, thumbnail_task_id FROM media WHERE task_id = ?", "task_demo_video")
	if m1["status"] != "completed" || m1["output_url"] != "https://cdn.ittybit.com/demo/video.mp4" {
		t.Fatalf("legacy media row = %v", m1)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(m1["metadata"].(string)), &meta); err != nil {
		t.Fatalf("metadata %q: %v", m1["metadata"], err)
	}
	if meta["duration"] != 42.5 || meta["width"] != 1920.0 || meta["height"] != 1080.0 || meta["format"] != "mp4" {
		t.Fatalf("metadata = %v", meta)
	}
	m2 := queryRow(t, app, "SELECT status, output_url, thumbnail_task_id FROM media WHERE task_id = ?", "task_demo_video_2")
	if m2["status"] != "completed" || m2["output_url"] != "https://cdn.ittybit.com/demo/video-2.mp4" {
		t.Fatalf("envelope media row = %v", m2)
	}
	if m3 := queryRow(t, app, "SELECT status FROM media WHERE task_id = ?", "task_demo_broken"); m3["status"] != "failed" {
		t.Fatalf("failed task's media row = %v", m3)
	}

	// generate_thumbnail: one POST /jobs per successful video, exactly the
	// guide's request, authenticated, keyed by its own job's id; the
	// answer's id is stored.
	checkThumbnailRequests(t, app, api.Requests(), map[string]string{
		events["ittybit_task_completed.json"]:  "https://cdn.ittybit.com/demo/video.mp4",
		events["ittybit_event_succeeded.json"]: "https://cdn.ittybit.com/demo/video-2.mp4",
	})
	stored := map[any]bool{m1["thumbnail_task_id"]: true, m2["thumbnail_task_id"]: true}
	if !stored["job_thumb_1"] || !stored["job_thumb_2"] {
		t.Fatalf("thumbnail_task_id = %v and %v, want the answers' ids job_thumb_1 and job_thumb_2", m1["thumbnail_task_id"], m2["thumbnail_task_id"])
	}

	// notify_user: one mail per successful media, to its owner.
	mails, _ := filepath.Glob(filepath.Join(app.cfg.Resolve("data/mail"), "*.eml"))
	if len(mails) != 2 {
		t.Fatalf("got %d mail files, want 2: %v", len(mails), mails)
	}
	for _, path := range mails {
		b, _ := os.ReadFile(path)
		msg := string(b)
		if !strings.Contains(msg, "ada@example.com") || !strings.Contains(msg, "Subject: Your video is ready") || !strings.Contains(msg, "media #") {
			t.Fatalf("mail %s:\n%s", path, msg)
		}
	}

	// The cycle closes: each thumbnail's own webhook records its URL, for
	// media 1 as an event envelope, for media 2 as the job object.
	envelope := bytes.ReplaceAll(fixture(t, "ittybit_thumbnail_completed.json"), []byte("task_demo_thumb"), []byte(m1["thumbnail_task_id"].(string)))
	job := bytes.ReplaceAll(fixture(t, "ittybit_job_succeeded.json"), []byte(`"job_demo_thumb"`), []byte(`"`+m2["thumbnail_task_id"].(string)+`"`))
	for _, body := range [][]byte{envelope, job} {
		if code, out := post(t, app, body, true); code != 200 || out["status"] != "ok" {
			t.Fatalf("thumbnail webhook: %d %v", code, out)
		}
	}
	st := waitIdle(t, app)
	if got := queryRow(t, app, "SELECT thumbnail_url FROM media WHERE task_id = ?", "task_demo_video"); got["thumbnail_url"] != "https://cdn.ittybit.com/demo/thumb.webp" {
		t.Fatalf("media 1 thumbnail_url = %v (envelope)", got)
	}
	if got := queryRow(t, app, "SELECT thumbnail_url FROM media WHERE task_id = ?", "task_demo_video_2"); got["thumbnail_url"] != "https://cdn.ittybit.com/demo/thumb-4.webp" {
		t.Fatalf("media 2 thumbnail_url = %v (job object)", got)
	}
	if len(api.Requests()) != 2 {
		t.Fatalf("a thumbnail's webhook asked for another thumbnail: %d API requests", len(api.Requests()))
	}
	if mails, _ := filepath.Glob(filepath.Join(app.cfg.Resolve("data/mail"), "*.eml")); len(mails) != 2 {
		t.Fatalf("a thumbnail's webhook sent mail: %d files", len(mails))
	}
	if st.States[engine.JobFailed] != 0 {
		failed, _ := app.queue.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed})
		t.Fatalf("failed jobs: %+v", failed)
	}
	return app
}

// checkThumbnailRequests asserts that reqs are exactly one guide request
// per event in want (event id → the video's output URL): POST /jobs, the
// Bearer key, Idempotency-Key "switchboard-<that event's
// generate_thumbnail job id>", and the body the guide posts.
func checkThumbnailRequests(t *testing.T, app *App, reqs []apiRequest, want map[string]string) {
	t.Helper()
	if len(reqs) != len(want) {
		t.Fatalf("ittybit API got %d requests, want %d: %+v", len(reqs), len(want), reqs)
	}
	byKey := map[string]apiRequest{}
	for _, r := range reqs {
		byKey[r.IdempotencyKey] = r
	}
	for eventID, input := range want {
		_, jobs, err := app.queue.GetEvent(context.Background(), eventID)
		if err != nil {
			t.Fatal(err)
		}
		key := ""
		for _, j := range jobs {
			if j.Listener == "generate_thumbnail" {
				key = "switchboard-" + j.ID
			}
		}
		r, ok := byKey[key]
		if !ok {
			t.Fatalf("no request with Idempotency-Key %q (event %s): %+v", key, eventID, reqs)
		}
		body := map[string]any{"input": input, "kind": "image", "options": map[string]any{"start": 2.0, "width": 640.0, "format": "webp"}}
		if r.Method != "POST" || r.Path != "/jobs" || r.Auth != "Bearer test-api-key" || !reflect.DeepEqual(r.Body, body) {
			t.Fatalf("request for event %s = %+v, want POST /jobs, Bearer test-api-key, body %v", eventID, r, body)
		}
	}
}
