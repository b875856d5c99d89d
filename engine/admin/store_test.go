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
	"github.com/switchboard/switchboard/engine/history"
	"github.com/switchboard/switchboard/engine/postgres"
	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
	"github.com/switchboard/switchboard/engine/store"
)

var (
	_ Store = (*store.Queue)(nil)
	_ Store = (*postgres.Queue)(nil)
)

// TestStore_Real runs the client against the admin API over the real
// bbolt queue: the fake's contracts are the real ones.
func TestStore_Real(t *testing.T) {
	q, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "queue.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	consoleOver(t, q)
}

// TestStore_Postgres is the same over the PostgreSQL queue: the console
// stores everything through engine.Queue, so it works on every backend.
func TestStore_Postgres(t *testing.T) {
	dsn := postgrestest.DSN(t, "the console over PostgreSQL")
	schema := postgrestest.Schema(t, dsn, "sbconsole_")
	q, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	consoleOver(t, q)
}

// consoleOver drives the admin API over a real backend: newest-first and
// searched events, an error filter, pause (and that a paused listener's
// jobs are not leased), filtered retry, history, audit, processes, the
// paused gauge.
func consoleOver(t *testing.T, q engine.Queue) {
	ctx := t.Context()
	var err error

	var ids []string
	for i, src := range []string{"ittybit", "github", "ittybit"} {
		ev := &engine.Event{Name: "media.processed", Source: src, DeliveryID: "d-" + string(rune('a'+i)), ReceivedAt: time.Now(),
			Payload: []byte(`{"title":"<script>alert(1)</script>","data":{"id":"task_0` + string(rune('1'+i)) + `"}}`)}
		id, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: "update_media", MaxTries: 1}, {Listener: "notify", MaxTries: 1}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	leases, err := q.Lease(ctx, 1, map[string]engine.Quota{"update_media": {Max: 1, LeaseFor: time.Minute}})
	if err != nil || len(leases) != 1 {
		t.Fatalf("lease: %v %v", leases, err)
	}
	failedID := leases[0].Job.ID
	err = q.Finish(ctx, engine.Result{JobID: failedID, Attempt: leases[0].Job.Attempt, Outcome: engine.Failed, StartedAt: time.Now(), Duration: time.Millisecond,
		Err: &engine.JobError{Attempt: 1, At: time.Now(), Kind: "error", Message: "boom <b>", Stack: "at handle (x.js:1:1)"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := history.New(history.Options{Sink: q})
	if err != nil {
		t.Fatal(err)
	}
	rec.ObserveAttempt("update_media", engine.Failed, time.Second, time.Millisecond)
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	srv, err := New(Options{Store: q, Token: testToken, Status: okStatus, Routes: testRoutes, History: rec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := &Client{BaseURL: ts.URL, Token: testToken, HTTP: ts.Client()}

	page, err := c.SearchEvents(ctx, EventSearch{Newest: true, Limit: 2})
	if err != nil || len(page.Events) != 2 || page.Events[0].ID != ids[2] || page.Next == "" {
		t.Fatalf("newest events: %+v %v", page, err)
	}
	for search, want := range map[string]string{"data.id = task_02": ids[1], "delivery = d-c": ids[2], ids[0]: ids[0]} {
		page, err := c.SearchEvents(ctx, EventSearch{Q: search})
		if err != nil || len(page.Events) != 1 || page.Events[0].ID != want {
			t.Fatalf("search %q: %+v %v", search, page, err)
		}
	}
	failed, err := c.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed, ErrorContains: "BOOM"})
	if err != nil || len(failed) != 1 || failed[0].ID != failedID || failed[0].LastError.Message != "boom <b>" || len(failed[0].Attempts) != 1 {
		t.Fatalf("failed jobs: %+v %v", failed, err)
	}
	if l, err := c.Pause(ctx, "notify"); err != nil || !l.Paused {
		t.Fatalf("pause: %+v %v", l, err)
	}
	if leases, err := q.Lease(ctx, 10, map[string]engine.Quota{"notify": {Max: 10, LeaseFor: time.Minute}}); err != nil || len(leases) != 0 {
		t.Fatalf("a paused listener's jobs were leased: %d %v", len(leases), err)
	}
	if _, err := c.Resume(ctx, "notify"); err != nil {
		t.Fatal(err)
	}
	if err := c.ForgetJob(ctx, mustJobs(t, c, engine.JobPending)[0].ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("forget a pending job: %v, want conflict", err)
	}
	if n, err := c.RetryFailedWhere(ctx, engine.JobFilter{Listener: "update_media", ErrorContains: "boom"}); err != nil || n != 1 {
		t.Fatalf("retry failed: %d %v", n, err)
	}
	hist, err := c.History(ctx, "1h")
	if err != nil || len(hist.Jobs) != 1 || hist.Jobs[0].Failed[59] != 1 || hist.Jobs[0].Recent.Count != 1 {
		t.Fatalf("history: %+v %v", hist.Jobs, err)
	}
	audit, err := c.Audit(ctx, 10, "")
	if err != nil || len(audit.Entries) != 3 || audit.Entries[0].Action != "retry-failed" || audit.Entries[2].Action != "pause" {
		t.Fatalf("audit: %+v %v", audit, err)
	}
	if ps, err := c.Processes(ctx); err != nil || len(ps) < 1 {
		t.Fatalf("processes: %+v %v", ps, err)
	}
	text, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(text, `switchboard_listener_paused{listener="notify"} 0`) {
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
