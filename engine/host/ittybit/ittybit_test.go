package ittybit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
)

// seen is one request the stand-in API received.
type seen struct {
	method, path, auth, idem, contentType string
	body                                  map[string]any
}

// standIn is an httptest Ittybit: POST /tasks and POST /jobs echo a task
// or job, GET /tasks/{id} and GET /jobs/{id} return one, /tasks/bad_* and
// a job with input ftp://nope fail, /jobs/slow never answers.
func standIn(t *testing.T) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"),
			idem: r.Header.Get("Idempotency-Key"), contentType: r.Header.Get("Content-Type")}
		raw, _ := io.ReadAll(r.Body)
		json.Unmarshal(raw, &s.body)
		mu.Lock()
		reqs = append(reqs, s)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/tasks/bad_json":
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"kind":"validation_error","message":"url is required"}`)
		case r.URL.Path == "/tasks/bad_text":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, strings.Repeat("upstream down ", 100))
		case r.URL.Path == "/jobs/slow":
			<-r.Context().Done() // answers only when the caller gives up
		case r.Method == http.MethodPost && r.URL.Path == "/jobs" && s.body["input"] == "ftp://nope":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"kind":"invalid_input","message":"input must use http://, https://, or s3:// scheme"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/jobs":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"id": "job_" + s.idem, "object": "job", "status": "queued",
				"kind": s.body["kind"], "input": s.body["input"], "options": s.body["options"], "tasks": []any{}})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/jobs/"):
			json.NewEncoder(w).Encode(map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/jobs/"), "object": "job", "status": "succeeded",
				"tasks": []any{map[string]any{"id": "task_1", "object": "task", "kind": "probe", "status": "succeeded"}}})
		case r.Method == http.MethodPost && r.URL.Path == "/tasks":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"id": "task_" + s.idem, "object": "task", "status": "pending", "kind": s.body["kind"]})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/tasks/"):
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/tasks/"), "status": "completed"}})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), reqs...) }
}

func client(t *testing.T, base, key string) *Client {
	t.Helper()
	c := hosthttp.NewClient(hosthttp.Options{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: 15 * time.Second})
	return New(Options{APIKey: engine.Secret(key), BaseURL: base}, c)
}

func runtime(t *testing.T, c *Client, jobID string, rec engine.Recorder) *goja.Runtime {
	t.Helper()
	inv := &engine.Invocation{Ctx: context.Background(), Job: &engine.Job{ID: jobID, Listener: "l"}, Recorder: rec}
	rt := goja.New()
	rt.Set("ittybit", c.Exports(func() *engine.Invocation { return inv }))
	return rt
}

func TestClient_CreateTask(t *testing.T) {
	srv, reqs := standIn(t)
	c := client(t, srv.URL+"/", "sk_test")
	task, err := c.CreateTask(context.Background(), map[string]any{"url": "https://x/v.mp4", "kind": "image", "width": 640}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if task["id"] != "task_k1" || task["kind"] != "image" {
		t.Fatalf("task = %v", task)
	}
	r := reqs()[0]
	if r.method != "POST" || r.path != "/tasks" || r.auth != "Bearer sk_test" || r.idem != "k1" ||
		r.contentType != "application/json" || r.body["url"] != "https://x/v.mp4" || r.body["width"] != float64(640) {
		t.Fatalf("request = %+v", r)
	}
}

func TestClient_GetTask(t *testing.T) {
	srv, reqs := standIn(t)
	task, err := client(t, srv.URL, "sk_test").GetTask(context.Background(), "task_42")
	if err != nil || task["id"] != "task_42" || task["status"] != "completed" {
		t.Fatalf("task = %v, %v", task, err)
	}
	if r := reqs()[0]; r.method != "GET" || r.path != "/tasks/task_42" || r.auth != "Bearer sk_test" || r.idem != "" {
		t.Fatalf("request = %+v", r)
	}
}

func TestClient_Errors(t *testing.T) {
	srv, _ := standIn(t)
	tests := []struct {
		name, key, id string
		want          string
		status        int
	}{
		{"ittybit error", "sk", "bad_json", "ittybit: 422 validation_error: url is required", 422},
		{"text error truncated", "sk", "bad_text", "ittybit: 502: upstream down", 502},
		{"no api key", "", "x", "ittybit.api_key is not set (ITTYBIT_API_KEY)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client(t, srv.URL, tt.key).GetTask(context.Background(), tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			var ae *APIError
			if tt.status != 0 && (!errors.As(err, &ae) || ae.Status != tt.status || len(ae.Message) > maxErrorBody+4) {
				t.Fatalf("APIError = %+v", ae)
			}
		})
	}
}

func TestClient_RefusedWithoutAllowCIDR(t *testing.T) {
	srv, reqs := standIn(t)
	c := hosthttp.NewClient(hosthttp.Options{Timeout: 15 * time.Second})
	_, err := New(Options{APIKey: "sk", BaseURL: srv.URL}, c).GetTask(context.Background(), "t")
	if err == nil || !strings.Contains(err.Error(), "loopback") || len(reqs()) != 0 {
		t.Fatalf("error = %v", err)
	}
}

func TestModule_IdempotencyKey(t *testing.T) {
	srv, reqs := standIn(t)
	c := client(t, srv.URL, "sk")
	script := `ittybit.createTask({url: "https://x/v.mp4", kind: "image"}).id`
	ids := idsAcrossAttempts(t, c, script)
	if ids[0] != "task_switchboard-job_1" || ids[1] != ids[0] || ids[2] != "task_switchboard-job_2" {
		t.Fatalf("ids = %v", ids)
	}
	v, err := runtime(t, c, "job_1", nil).RunString(`ittybit.createTask({kind: "image"}, {idempotencyKey: "mine"}).id + " " + ittybit.getTask("task_9").status`)
	if err != nil || v.String() != "task_mine completed" {
		t.Fatalf("got %v, %v", v, err)
	}
	if n := len(reqs()); n != 5 {
		t.Fatalf("%d requests", n)
	}
	if _, err := runtime(t, c, "job_1", nil).RunString(`ittybit.getTask("bad_json")`); err == nil || !strings.Contains(err.Error(), "validation_error") {
		t.Fatalf("API error should throw: %v", err)
	}
}

type recorder struct{ calls []string }

func (r *recorder) Record(module, fn string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func TestModule_DryRun(t *testing.T) {
	srv, reqs := standIn(t)
	rec := &recorder{}
	v, err := runtime(t, client(t, srv.URL, "sk"), "job_1", rec).RunString(`ittybit.createTask({kind: "image"}).status`)
	if err != nil || v.String() != "pending" || len(reqs()) != 0 {
		t.Fatalf("got %v, %v, %d requests", v, err, len(reqs()))
	}
	if len(rec.calls) != 1 || rec.calls[0] != "ittybit.createTask [map[kind:image] map[idempotencyKey:switchboard-job_1]]" {
		t.Fatalf("recorded %q", rec.calls)
	}
}

// idsAcrossAttempts runs script (which creates something and yields its
// id) in two attempts of job_1, then in job_2.
func idsAcrossAttempts(t *testing.T, c *Client, script string) []string {
	t.Helper()
	var ids []string
	for _, job := range []string{"job_1", "job_1", "job_2"} {
		v, err := runtime(t, c, job, nil).RunString(script)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.String())
	}
	return ids
}
