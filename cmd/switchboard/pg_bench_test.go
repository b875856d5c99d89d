package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/switchboard/switchboard/engine/config"
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
	pb := &pgBench{dsn: dsn}
	schema, drop := pb.newSchema()
	defer drop()
	benchWorkersWith(b, workers, 0, func(cfg *config.Config) {
		cfg.Queue.Backend, cfg.Queue.DSN, cfg.Queue.Schema = "postgres", config.Secret(dsn), schema
	})
}
