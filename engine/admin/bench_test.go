package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/store"
)

// BenchmarkConsole times every call the console makes, through the admin
// handler, over a bbolt queue holding benchEvents events with one job each
// (mostly done, some failed and pending) and seven days of per-minute
// history. Building the file takes minutes, so it is kept and reused:
// $SWITCHBOARD_BENCH_DIR (default: the temp dir)/console-<N>.db.
//
//	go test -run '^$' -bench BenchmarkConsole -benchtime 20x ./engine/admin
//
// SWITCHBOARD_BENCH_EVENTS sets N (default 1 000 000).
func BenchmarkConsole(b *testing.B) {
	fx := benchFixture(b)
	srv, err := New(Options{Store: fx.q, Token: testToken, Status: okStatus, Routes: benchRoutes, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	search := func(q string) string { return "/api/events?order=newest&view=summary&q=" + url.QueryEscape(q) }
	calls := []struct{ name, path string }{
		{"page", "/"},
		{"script", "/assets/js/app.js"},
		{"stats", "/api/stats"},
		{"processes", "/api/processes"},
		{"listeners", "/api/listeners"},
		{"history_1h", "/api/history?range=1h"},
		{"history_24h", "/api/history?range=24h"},
		{"events_newest", "/api/events?order=newest&view=summary&limit=50"},
		{"events_deep_page", "/api/events?order=newest&view=summary&limit=50&after=" + fx.middleEvent},
		{"event_detail", "/api/events/" + fx.middleEvent},
		{"search_event_id", search(fx.middleEvent)},
		{"search_delivery_recent", search("delivery = d-" + strconv.Itoa(fx.n-10))},
		{"search_field_recent", search("data.id = task_" + strconv.Itoa(fx.n-10))},
		{"search_field_bounded_scan", search("data.id = nowhere")},
		{"search_source_bounded_scan", search("source = github")},
		{"jobs_newest", "/api/jobs?order=newest&view=summary&limit=50"},
		{"jobs_listener", "/api/jobs?order=newest&view=summary&listener=notify"},
		{"jobs_pending_listener", "/api/jobs?order=newest&view=summary&state=pending&listener=notify"},
		{"jobs_failed", "/api/jobs?order=newest&view=summary&state=failed&limit=50"},
		{"jobs_failed_error_filter", "/api/jobs?order=newest&view=summary&state=failed&error=timed+out"},
		{"job_detail", "/api/jobs/" + fx.failedJob},
		{"audit", "/api/audit?limit=100"},
	}
	for _, c := range calls {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				benchCall(b, h, c.path)
			}
		})
	}
	// The first chart load after a start reads the whole day.
	b.Run("history_24h_cold", func(b *testing.B) {
		for b.Loop() {
			srv.charts = newChartCache()
			benchCall(b, h, "/api/history?range=24h")
		}
	})
}

func benchCall(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", bearer)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
	}
}

func benchRoutes() *engine.Routes {
	return engine.NewRoutes([]*engine.Listener{
		{Name: "update_media", Script: "/dev/null", On: []string{"media.processed"}, Tries: 3, Timeout: 30 * time.Second},
		{Name: "notify", Script: "/dev/null", On: []string{"media.processed"}, Tries: 3, Timeout: 30 * time.Second},
		{Name: "generate_thumbnail", Script: "/dev/null", On: []string{"media.processed"}, Tries: 3, Timeout: 30 * time.Second},
	})
}

type fixture struct {
	q                      *store.Queue
	n                      int
	middleEvent, failedJob string
}

var listenersOf = []string{"update_media", "notify", "generate_thumbnail"}

// benchFixture opens the kept file, building it first if needed, and
// again if the kept one no longer reads (the store's format changed).
func benchFixture(b *testing.B) fixture {
	b.Helper()
	n := 1_000_000
	if s := os.Getenv("SWITCHBOARD_BENCH_EVENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("SWITCHBOARD_BENCH_EVENTS=%q: want a number ≥ 1000", s)
		}
	}
	dir := os.Getenv("SWITCHBOARD_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("console-%d.db", n))
	done := path + ".complete"
	for attempt := 0; ; attempt++ {
		if _, err := os.Stat(done); err != nil {
			os.Remove(path)
			start := time.Now()
			buildFixture(b, path, n)
			if err := os.WriteFile(done, nil, 0o644); err != nil {
				b.Fatal(err)
			}
			b.Logf("built %s (%d events, %d jobs) in %s", path, n, n, time.Since(start).Round(time.Second))
		}
		fx, err := openFixture(b, path, n)
		if err == nil {
			return fx
		}
		if attempt > 0 {
			b.Fatal(err)
		}
		b.Logf("%s does not read (%v): building it again", path, err)
		os.Remove(done)
	}
}

func openFixture(b *testing.B, path string, n int) (fixture, error) {
	q, err := store.Open(store.Options{Path: path, HistoryRetention: 8 * 24 * time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fixture{}, err
	}
	ctx := context.Background()
	fail := func(err error) (fixture, error) {
		q.Close(ctx)
		return fixture{}, err
	}
	middle, err := eventAt(q, n/2)
	if err != nil {
		return fail(err)
	}
	page, err := q.ListEvents(ctx, engine.EventQuery{Newest: true, Limit: 1, After: middle})
	if err != nil || len(page.Events) != 1 {
		return fail(fmt.Errorf("middle event: %v %v", page, err))
	}
	failed, err := q.ListJobs(ctx, engine.JobQuery{State: engine.JobFailed, Limit: 1})
	if err != nil || len(failed) != 1 {
		return fail(fmt.Errorf("failed job: %v %v", failed, err))
	}
	if _, err := q.GetJob(ctx, failed[0].ID); err != nil {
		return fail(err)
	}
	b.Cleanup(func() { q.Close(context.Background()) })
	return fixture{q: q, n: n, middleEvent: page.Events[0].ID, failedJob: failed[0].ID}, nil
}

// eventAt is the id of roughly the i-th newest event (a cursor to start
// from), found by paging.
func eventAt(q *store.Queue, i int) (string, error) {
	after := ""
	for seen := 0; seen < i; {
		page, err := q.ListEvents(context.Background(), engine.EventQuery{Newest: true, Limit: 1000, After: after})
		if err != nil || len(page.Events) == 0 {
			return "", fmt.Errorf("page events: %v", err)
		}
		seen += len(page.Events)
		after = page.Events[len(page.Events)-1].ID
	}
	return after, nil
}

// buildFixture writes n events with one job each: 99% done, 0.5% failed
// (with a stack), 0.5% pending; seven days of history for three listeners
// and two webhook answers; a hundred audit entries.
func buildFixture(b *testing.B, path string, n int) {
	q, err := store.Open(store.Options{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close(context.Background())
	ctx := context.Background()
	const writers = 64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				l := listenersOf[i%len(listenersOf)]
				ev := &engine.Event{Name: "media.processed", Source: "ittybit", DeliveryID: "d-" + strconv.Itoa(i), ReceivedAt: time.Now(),
					Headers: map[string]string{"Webhook-Id": "msg_" + strconv.Itoa(i)},
					Payload: fmt.Appendf(nil, `{"id":"evt_%d","kind":"task.succeeded","data":{"id":"task_%d","kind":"video","status":"succeeded","output":"https://cdn.example.com/%d.mp4"}}`, i, i, i)}
				if _, err := q.Enqueue(ctx, ev, []engine.NewJob{{Listener: l, MaxTries: 3}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	finishAll(b, q, n)
	addHistory(b, q)
	for i := range 100 {
		if err := q.Audit(ctx, engine.AuditEntry{Action: "retry", Target: "job_" + strconv.Itoa(i), Count: 1, Actor: "127.0.0.1 bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// finishAll leases every job and finishes it: done, or every 200th
// failed, leaving every 200th (offset) pending.
func finishAll(b *testing.B, q *store.Queue, n int) {
	ctx := context.Background()
	quota := map[string]engine.Quota{}
	for _, l := range listenersOf {
		quota[l] = engine.Quota{Max: 1000, LeaseFor: time.Hour}
	}
	keep := n / 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for finished := 0; finished < n-keep; {
		leases, err := q.Lease(ctx, min(3000, n-keep-finished), quota)
		if err != nil {
			b.Fatal(err)
		}
		if len(leases) == 0 {
			break
		}
		for _, l := range leases {
			finished++
			res := engine.Result{JobID: l.Job.ID, Attempt: l.Job.Attempt, Outcome: engine.Succeeded, StartedAt: time.Now(), Duration: time.Millisecond}
			if finished%200 == 0 {
				res.Outcome = engine.Failed
				res.Err = &engine.JobError{Attempt: l.Job.Attempt, At: time.Now(), Kind: engine.KindTimeout, Message: "listener timed out after 30s",
					Stack: "at handle (scripts/generate_thumbnail.js:12:5)\nat main (scripts/generate_thumbnail.js:30:3)"}
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := q.Finish(ctx, res); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
}

// addHistory stores seven days of per-minute samples: three listeners
// and two webhook answer codes.
func addHistory(b *testing.B, q *store.Queue) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute)
	var batch []engine.Sample
	for m := now.Add(-7 * 24 * time.Hour); !m.After(now); m = m.Add(time.Minute) {
		for i, l := range listenersOf {
			s := engine.Sample{Minute: m, Series: engine.JobSeries(l), Count: 60, Failed: uint64(i)}
			for k := range 60 {
				s.Runtime.Observe(time.Duration(k+1) * time.Millisecond)
				s.Wait.Observe(time.Duration(k*3) * time.Millisecond)
			}
			batch = append(batch, s)
		}
		batch = append(batch, engine.Sample{Minute: m, Series: engine.WebhookSeries("ittybit", 200), Count: 60},
			engine.Sample{Minute: m, Series: engine.WebhookSeries("ittybit", 401), Count: 1})
		if len(batch) >= 5000 {
			if err := q.AddSamples(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := q.AddSamples(ctx, batch); err != nil {
		b.Fatal(err)
	}
}
