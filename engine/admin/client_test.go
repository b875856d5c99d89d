package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

func TestClient_RoundTrip(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	ev, _ := fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", Payload: json.RawMessage(`{"x":"<y>"}`)}, engine.JobDone, "notify")
	_, failed := fs.addEvent(engine.Event{Name: "media.processed"}, engine.JobFailed, "update_media", "notify")
	c := &Client{BaseURL: ts.URL + "/", Token: testToken, HTTP: ts.Client()}
	ctx := t.Context()

	if err := c.Health(ctx); err != nil {
		t.Fatal("health:", err)
	}
	if rd, err := c.Ready(ctx); err != nil || !rd.Ready || rd.Checks["store"] != "ok" {
		t.Fatalf("ready: %+v %v", rd, err)
	}
	evs, err := c.ListEvents(ctx, 10, "")
	if err != nil || len(evs) != 2 || evs[0].ID != ev.ID {
		t.Fatalf("list events: %+v %v", evs, err)
	}
	page, err := c.EventsPage(ctx, 1, "")
	if err != nil || page.Next != ev.ID {
		t.Fatalf("events page: %+v %v", page, err)
	}
	gotEv, jobs, err := c.GetEvent(ctx, ev.ID)
	if err != nil || gotEv.ID != ev.ID || len(jobs) != 1 {
		t.Fatalf("get event: %+v %+v %v", gotEv, jobs, err)
	}
	var payload map[string]string
	if err := json.Unmarshal(gotEv.Payload, &payload); err != nil || payload["x"] != "<y>" {
		t.Fatalf("payload %s: %v", gotEv.Payload, err)
	}
	ids, err := c.Replay(ctx, ev.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("replay: %v %v", ids, err)
	}
	js, err := c.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed, Listener: "notify"})
	if err != nil || len(js) != 1 || js[0].ID != failed[1].ID {
		t.Fatalf("list jobs: %+v %v", js, err)
	}
	jp, err := c.JobsPage(ctx, engine.JobQuery{EventID: failed[0].EventID, Limit: 1})
	if err != nil || len(jp.Jobs) != 1 || jp.Next != failed[0].ID {
		t.Fatalf("jobs page: %+v %v", jp, err)
	}
	job, err := c.GetJob(ctx, failed[0].ID)
	if err != nil || job.LastError == nil || job.LastError.Message != "boom" {
		t.Fatalf("get job: %+v %v", job, err)
	}
	if err := c.RetryJob(ctx, failed[0].ID); err != nil {
		t.Fatal("retry:", err)
	}
	if err := c.ForgetJob(ctx, failed[1].ID); err != nil {
		t.Fatal("forget:", err)
	}
	fs.addEvent(engine.Event{Name: "c"}, engine.JobFailed, "notify", "update_media")
	if n, err := c.RetryFailed(ctx); err != nil || n != 2 {
		t.Fatalf("retry failed: %d %v", n, err)
	}
	fs.addEvent(engine.Event{Name: "d"}, engine.JobFailed, "notify")
	if n, err := c.FlushFailed(ctx); err != nil || n != 1 {
		t.Fatalf("flush: %d %v", n, err)
	}
	rep, err := c.Stats(ctx)
	if err != nil || rep.Stats.Events != 5 || len(rep.Listeners) != 2 || !rep.Reload.OK {
		t.Fatalf("stats: %+v %v", rep, err)
	}
	st, err := c.ConfigStatus(ctx)
	if err != nil || !st.OK || len(st.Listeners) != 2 {
		t.Fatalf("config status: %+v %v", st, err)
	}
	text, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(text, "switchboard_queue_jobs") {
		t.Fatalf("metrics: %v", err)
	}
}

func TestClient_Errors(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	_, done := fs.addEvent(engine.Event{Name: "a"}, engine.JobDone, "notify")
	ctx := t.Context()
	good := &Client{BaseURL: ts.URL, Token: testToken, HTTP: ts.Client()}
	cases := []struct {
		name   string
		call   func() error
		status int
		is     error
		msg    string
	}{
		{"not found", func() error { _, err := good.GetJob(ctx, "job_missing"); return err }, 404, engine.ErrNotFound, "job_missing"},
		{"event not found", func() error { _, _, err := good.GetEvent(ctx, "evt/../x"); return err }, 404, engine.ErrNotFound, "not found"},
		{"conflict", func() error { return good.ForgetJob(ctx, done[0].ID) }, 409, ErrConflict, "only failed jobs"},
		{"bad request", func() error {
			_, err := good.ListJobs(ctx, engine.JobQuery{State: "lost"})
			return err
		}, 400, nil, "state"},
		{"unauthorized", func() error {
			c := &Client{BaseURL: ts.URL, Token: "wrong", HTTP: ts.Client()}
			_, err := c.Stats(ctx)
			return err
		}, 401, ErrUnauthorized, "unauthorized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != c.status || !strings.Contains(ae.Message, c.msg) {
				t.Fatalf("err = %v, want status %d with %q", err, c.status, c.msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("errors.Is(%v, %v) is false", err, c.is)
			}
		})
	}
}

func TestClient_Unreachable(t *testing.T) {
	c := &Client{BaseURL: "http://127.0.0.1:1", Token: testToken}
	if _, err := c.Stats(t.Context()); err == nil || !strings.Contains(err.Error(), "/api/stats") {
		t.Fatalf("err = %v", err)
	}
}
