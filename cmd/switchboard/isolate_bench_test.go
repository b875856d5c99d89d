package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/switchboard/switchboard/engine/config"
)

// BenchmarkIsolation_Workers drains b.N no-op jobs in-process and in
// script processes (one per worker), in the same run: the per-job cost
// of isolation through the real pool. Reported: jobs/s. Run it with a
// count: -benchtime 20000x.
func BenchmarkIsolation_Workers(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("in-process/workers=%d", workers), func(b *testing.B) { benchWorkers(b, workers, 0) })
		b.Run(fmt.Sprintf("process/workers=%d", workers), func(b *testing.B) {
			benchWorkersWith(b, workers, 0, func(c *config.Config) { c.Scripts.Isolation = "process" })
		})
	}
}

// BenchmarkIsolation_Open50 is startup with 50 scripts in-process and
// with isolation (bundled here, compiled and checked in a script
// process), in the same run.
func BenchmarkIsolation_Open50(b *testing.B) {
	for _, iso := range []string{"none", "process"} {
		b.Run("isolation="+iso, func(b *testing.B) {
			cfg := manyScripts(b, 50)
			cfg.Scripts.Isolation = iso
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			ctx := context.Background()
			for b.Loop() {
				app, err := Open(ctx, cfg, logger)
				if err != nil {
					b.Fatal(err)
				}
				if err := app.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIsolation_Reload is a reload after one script of 50 changed,
// in-process and with isolation (the checker process already up).
func BenchmarkIsolation_Reload(b *testing.B) {
	for _, iso := range []string{"none", "process"} {
		b.Run("isolation="+iso, func(b *testing.B) {
			cfg := manyScripts(b, 50)
			cfg.Scripts.Isolation = iso
			ctx := context.Background()
			app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			defer app.Close(ctx)
			path := cfg.Resolve("scripts/l07.js")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				writeFile(b, path, benchScript(7, i+1))
				b.StartTimer()
				if err := app.Reload(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
