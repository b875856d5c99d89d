package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

var _ Store = (*store.Queue)(nil)

// TestStore_Real runs the client against the admin API over the real
// bbolt queue: the fake's contracts are the real ones.
func TestStore_Real(t *testing.T) {
	q, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "queue.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	ctx := t.Context()

	ev := &engine.Event{Name: "media.processed", Source: "ittybit", Payload: []byte(`{"title":"<script>alert(1)</script>"}`)}
	evID, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "update_media", MaxTries: 1}, {Listener: "notify", MaxTries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := q.Lease(ctx, 1, map[string]engine.Quota{"update_media": {Max: 1, LeaseFor: time.Minute}})
	if err != nil || len(leases) != 1 {
		t.Fatalf("lease: %v %v", leases, err)
	}
	failedID := leases[0].Job.ID
	err = q.Finish(ctx, engine.Result{JobID: failedID, Attempt: leases[0].Job.Attempt, Outcome: engine.Failed,
		Err: &engine.JobError{Attempt: 1, At: time.Now(), Kind: "error", Message: "boom <b>", Stack: "at handle (x.js:1:1)"}})
	if err != nil {
		t.Fatal(err)
	}

	srv, err := New(Options{Store: q, Token: testToken, Status: okStatus, Routes: testRoutes, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := &Client{BaseURL: ts.URL, Token: testToken, HTTP: ts.Client()}

	if _, jobs, err := c.GetEvent(ctx, evID); err != nil || len(jobs) != 2 {
		t.Fatalf("get event: %v %v", jobs, err)
	}
	failed, err := c.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed})
	if err != nil || len(failed) != 1 || failed[0].ID != failedID || failed[0].LastError.Message != "boom <b>" {
		t.Fatalf("failed jobs: %+v %v", failed, err)
	}
	_, body := call(t, ts, "GET", "/", bearer)
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>") || !strings.Contains(body, "boom &lt;b&gt;") {
		t.Fatal("dashboard over the real store is not escaped")
	}
	var pending string
	for _, j := range mustJobs(t, c, engine.JobPending) {
		pending = j.ID
	}
	if err := c.ForgetJob(ctx, pending); !errors.Is(err, ErrConflict) {
		t.Fatalf("forget a pending job: %v, want conflict", err)
	}
	if err := c.RetryJob(ctx, failedID); err != nil {
		t.Fatal("retry:", err)
	}
	if _, err := c.GetJob(ctx, "job_ffffffffffffffff"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
	rep, err := c.Stats(ctx)
	if err != nil || rep.Stats.States[engine.JobPending] != 2 || rep.Stats.Events != 1 {
		t.Fatalf("stats: %+v %v", rep.Stats, err)
	}
	if rd, err := c.Ready(ctx); err != nil || !rd.Ready {
		t.Fatalf("ready: %+v %v", rd, err)
	}
	text, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(text, `switchboard_queue_jobs{state="pending"} 2`) {
		t.Fatalf("metrics: %v", err)
	}
}

func mustJobs(t *testing.T, c *Client, st engine.JobState) []engine.Job {
	t.Helper()
	jobs, err := c.ListJobs(t.Context(), engine.JobQuery{State: st})
	if err != nil || len(jobs) == 0 {
		t.Fatalf("list %s jobs: %v %v", st, jobs, err)
	}
	return jobs
}
