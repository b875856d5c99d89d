package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"golang.org/x/sync/errgroup"
)

// BenchmarkPostgres_Drain is BenchmarkWorkers_Trivial on the postgres
// backend: b.N events of one no-op job each are queued, then one
// in-process App drains them. Reported: jobs/s. Set -benchtime to a
// count (e.g. 20000x). Needs SWITCHBOARD_TEST_POSTGRES_DSN.
func BenchmarkPostgres_Drain(b *testing.B) {
	for _, workers := range []int{4, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchPostgresDrain(b, workers) })
	}
}

func benchPostgresDrain(b *testing.B, workers int) {
	dsn := os.Getenv("SWITCHBOARD_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("SWITCHBOARD_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	pb := &pgBench{dsn: dsn}
	schema, drop := pb.newSchema()
	defer drop()
	cfg, err := benchConfig(b.TempDir(), benchOptions{workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Queue.Backend, cfg.Queue.DSN, cfg.Queue.Schema = "postgres", config.Secret(dsn), schema
	app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close(context.Background())
	payload := []byte(`{"id":"task_1","status":"succeeded"}`)
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
	st, err := drain(ctx, app, 5*time.Minute)
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
