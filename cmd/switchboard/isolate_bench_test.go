package main

import (
	"fmt"
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
