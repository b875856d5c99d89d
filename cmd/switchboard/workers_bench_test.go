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
	"github.com/switchboard/switchboard/engine/config"
	"golang.org/x/sync/errgroup"
)

// BenchmarkWorkers_Trivial measures the workers alone: b.N events, each
// with one job for a no-op JS listener, are queued before the timer
// starts, then the real pool (lease, run in goja, record the outcome)
// drains them. Reported: jobs/s. Set -benchtime to a count (e.g. 20000x):
// a time-based run would size the backlog from a tiny first round.
//
// The order_by variants give the listener `order_by = "id"`: with a key
// per event (ordering's bookkeeping, nothing held back), and with 16 keys
// (each key's jobs one at a time, 16 running at most).
func BenchmarkWorkers_Trivial(b *testing.B) {
	for _, workers := range []int{4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchWorkers(b, workers, 0) })
	}
	b.Run("workers=4/order_by=distinct", func(b *testing.B) { benchWorkers(b, 4, -1) })
	b.Run("workers=4/order_by=16keys", func(b *testing.B) { benchWorkers(b, 4, 16) })
}

// benchWorkers drains b.N jobs with workers; keys < 0 orders by a key
// per event, keys > 0 by that many keys, 0 not at all.
func benchWorkers(b *testing.B, workers, keys int) { benchWorkersWith(b, workers, keys, nil) }

// benchWorkersWith is benchWorkers with tune applied to the config.
func benchWorkersWith(b *testing.B, workers, keys int, tune func(*config.Config)) {
	ctx := context.Background()
	o := benchOptions{workers: workers}
	if keys != 0 {
		o.orderBy = "id"
	}
	cfg, err := benchConfig(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	if tune != nil {
		tune(cfg)
	}
	app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close(context.Background())
	// Queue the backlog from several goroutines so it group-commits.
	var g errgroup.Group
	g.SetLimit(32)
	for i := range b.N {
		g.Go(func() error {
			key := i
			if keys > 0 {
				key = i % keys
			}
			payload := fmt.Appendf(nil, `{"id":"task_%d","status":"succeeded"}`, key)
			decoded, err := engine.DecodePayload(payload)
			if err != nil {
				return err
			}
			ev := &engine.Event{Name: "bench.event", Source: "bench", DeliveryID: strconv.Itoa(i), Payload: payload}
			_, err = app.router.Submit(ctx, ev, decoded)
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
