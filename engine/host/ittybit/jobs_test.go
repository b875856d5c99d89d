package ittybit

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The guide's thumbnail request, as generate_thumbnail sends it.
func guideJob() map[string]any {
	return map[string]any{
		"input":   "https://cdn.ittybit.com/demo/video.mp4",
		"kind":    "image",
		"options": map[string]any{"start": 2, "width": 640, "format": "webp"},
	}
}

func TestClient_CreateJob(t *testing.T) {
	srv, reqs := standIn(t)
	job, err := client(t, srv.URL+"/", "sk_test").CreateJob(context.Background(), guideJob(), "switchboard-job_1")
	if err != nil {
		t.Fatal(err)
	}
	if job["id"] != "job_switchboard-job_1" || job["object"] != "job" || job["status"] != "queued" {
		t.Fatalf("job = %v", job)
	}
	r := reqs()[0]
	if r.method != "POST" || r.path != "/jobs" || r.auth != "Bearer sk_test" || r.idem != "switchboard-job_1" || r.contentType != "application/json" {
		t.Fatalf("request = %+v", r)
	}
	want := map[string]any{"input": "https://cdn.ittybit.com/demo/video.mp4", "kind": "image",
		"options": map[string]any{"start": 2.0, "width": 640.0, "format": "webp"}}
	if !reflect.DeepEqual(r.body, want) {
		t.Fatalf("body = %v, want %v", r.body, want)
	}
}

func TestClient_GetJob(t *testing.T) {
	srv, reqs := standIn(t)
	job, err := client(t, srv.URL, "sk_test").GetJob(context.Background(), "job_42")
	if err != nil || job["id"] != "job_42" || job["status"] != "succeeded" || len(job["tasks"].([]any)) != 1 {
		t.Fatalf("job = %v, %v", job, err)
	}
	if r := reqs()[0]; r.method != "GET" || r.path != "/jobs/job_42" || r.auth != "Bearer sk_test" || r.idem != "" {
		t.Fatalf("request = %+v", r)
	}
}

func TestClient_JobErrors(t *testing.T) {
	srv, reqs := standIn(t)
	c := client(t, srv.URL, "sk")
	bad := guideJob()
	bad["input"] = "ftp://nope"
	_, err := c.CreateJob(context.Background(), bad, "k")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Kind != "invalid_input" ||
		err.Error() != "create ittybit job: ittybit: 400 invalid_input: input must use http://, https://, or s3:// scheme" {
		t.Fatalf("error = %v", err)
	}
	sent := len(reqs())
	for _, tt := range []struct {
		params map[string]any
		want   string
	}{
		{nil, "create ittybit job: params must be an object"},
		{map[string]any{"kind": "image"}, "create ittybit job: params.input is required"},
		{map[string]any{"input": "https://x/v.mp4", "kind": 3}, "create ittybit job: params.kind must be a non-empty string, got 3"},
	} {
		if _, err := c.CreateJob(context.Background(), tt.params, "k"); err == nil || err.Error() != tt.want {
			t.Errorf("CreateJob(%v) error = %v, want %q", tt.params, err, tt.want)
		}
	}
	if len(reqs()) != sent {
		t.Fatal("params the API would refuse were sent anyway")
	}
	if _, err := c.GetJob(context.Background(), ""); err == nil || err.Error() != "get ittybit job: id is empty" {
		t.Fatalf("empty id: %v", err)
	}
	if _, err := client(t, srv.URL, "").GetJob(context.Background(), "job_1"); !errors.Is(err, ErrNoAPIKey) {
		t.Fatalf("no api key: %v", err)
	}
}

// A call ends when the job's context does, even if Ittybit never answers.
func TestClient_JobHonoursDeadline(t *testing.T) {
	srv, _ := standIn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := client(t, srv.URL, "sk").GetJob(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "get ittybit job slow: ") {
		t.Fatalf("error = %v, want the deadline", err)
	}
}

func TestModule_CreateJob(t *testing.T) {
	srv, reqs := standIn(t)
	c := client(t, srv.URL, "sk")
	script := `ittybit.createJob({input: "https://cdn.ittybit.com/demo/video.mp4", kind: "image", options: {start: 2, width: 640, format: "webp"}}).id`
	ids := idsAcrossAttempts(t, c, script)
	if ids[0] != "job_switchboard-job_1" || ids[1] != ids[0] || ids[2] != "job_switchboard-job_2" {
		t.Fatalf("ids = %v", ids)
	}
	if got := reqs()[0].body["options"]; !reflect.DeepEqual(got, map[string]any{"start": 2.0, "width": 640.0, "format": "webp"}) {
		t.Fatalf("options sent = %v", got)
	}
	v, err := runtime(t, c, "job_1", nil).RunString(`ittybit.createJob({input: "https://x/a.mp4", kind: "image"}, {idempotencyKey: "mine"}).id + " " + ittybit.getJob("job_9").status`)
	if err != nil || v.String() != "job_mine succeeded" {
		t.Fatalf("got %v, %v", v, err)
	}
	for script, want := range map[string]string{
		`ittybit.createJob({input: "ftp://nope", kind: "image"})`: "invalid_input: input must use",
		`ittybit.createJob({kind: "image"})`:                      "ittybit.createJob: params.input is required",
		`ittybit.createJob()`:                                     "ittybit.createJob: params must be an object",
		`ittybit.getJob("")`:                                      "get ittybit job: id is empty",
	} {
		if _, err := runtime(t, c, "job_1", nil).RunString(script); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", script, err, want)
		}
	}
}

func TestModule_CreateJobDryRun(t *testing.T) {
	srv, reqs := standIn(t)
	rec := &recorder{}
	rt := runtime(t, client(t, srv.URL, "sk"), "job_1", rec)
	v, err := rt.RunString(`const j = ittybit.createJob({input: "https://x/v.mp4", kind: "image", options: {width: 640}}); [j.id, j.object, j.kind, j.status, j.dryRun].join(" ")`)
	if err != nil || v.String() != "job_dry_run job image queued true" || len(reqs()) != 0 {
		t.Fatalf("got %v, %v, %d requests", v, err, len(reqs()))
	}
	if len(rec.calls) != 1 || rec.calls[0] != "ittybit.createJob [map[input:https://x/v.mp4 kind:image options:map[width:640]] map[idempotencyKey:switchboard-job_1]]" {
		t.Fatalf("recorded %q", rec.calls)
	}
	// A mistake shows in a dry run too, and is not recorded as a call.
	if _, err := rt.RunString(`ittybit.createJob({input: "https://x/v.mp4"})`); err == nil || !strings.Contains(err.Error(), "params.kind is required") || len(rec.calls) != 1 {
		t.Fatalf("dry-run check: %v, %q", err, rec.calls)
	}
}
