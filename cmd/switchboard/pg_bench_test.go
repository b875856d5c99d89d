package main

import (
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
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
	dsn := postgrestest.DSN(b, "the PostgreSQL drain benchmark")
	schema := postgrestest.Schema(b, dsn, "sbbench_")
	benchWorkersWith(b, workers, 0, func(cfg *config.Config) {
		cfg.Queue.Backend, cfg.Queue.DSN, cfg.Queue.Schema = "postgres", config.Secret(dsn), schema
	})
}
