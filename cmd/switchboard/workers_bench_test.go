package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"golang.org/x/sync/errgroup"
)

// BenchmarkWorkers_Trivial measures the workers alone: b.N events, each
// with one job for a no-op JS listener, are queued before the timer
// starts, then the real pool (lease, run in goja, record the outcome)
// drains them. Reported: jobs/s. Set -benchtime to a count (e.g. 20000x):
// a time-based run would size the backlog from a tiny first round.
func BenchmarkWorkers_Trivial(b *testing.B) {
	for _, workers := range []int{4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchWorkers(b, workers) })
	}
}

func benchWorkers(b *testing.B, workers int) {
	ctx := context.Background()
	cfg, err := benchConfig(b.TempDir(), benchOptions{workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close(context.Background())
	payload := []byte(`{"id":"task_1","status":"succeeded"}`)
	// Queue the backlog from several goroutines so it group-commits.
	var g errgroup.Group
	g.SetLimit(32)
	for i := range b.N {
		g.Go(func() error {
			ev := &engine.Event{Name: "bench.event", Source: "bench", DeliveryID: strconv.Itoa(i), Payload: payload}
			_, err := app.router.Submit(ctx, ev, map[string]any{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	b.ResetTimer()
	start := time.Now()
	go app.Run(runCtx)
	st, err := drain(ctx, app, 5*time.Minute, 0)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if done := st.States[engine.JobDone]; done != b.N {
		b.Fatalf("%d jobs done, want %d (states %v)", done, b.N, st.States)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
}
