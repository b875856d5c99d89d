package main

import (
	"fmt"
	"io"
	"time"

	"github.com/switchboard/switchboard/engine/loadgen"
)

// report prints the rows as markdown tables, then switchboard's ingest
// over the baseline's at each level.
func (b *pgBench) report(w io.Writer, rows []pgRow) {
	load := fmt.Sprintf("%s per row", b.o.duration)
	if b.o.requests > 0 {
		load = fmt.Sprintf("%d requests per row", b.o.requests)
	}
	fmt.Fprintf(w, "switchboard bench --backend postgres: %s; %d-byte signed JSON bodies, %s\n", benchMachine(), b.o.bodySize, load)
	fmt.Fprintln(w, "The load generator runs in this process; the switchboard processes are children of it, on the same machine as PostgreSQL.")
	fmt.Fprintln(w, "With several processes the connections are spread over them and p50/p99/max are the worst process's.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| server | processes | conns | sent | ok | req/s | p50 | p99 | max | e2e jobs/s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	base := map[int]float64{}
	for _, r := range rows {
		switch r.kind {
		case "switchboard":
			fmt.Fprintf(w, "| switchboard (postgres) | %d | %d | %d | %d | %.0f | %s | %s | %s | %.0f (%d jobs in %s) |\n",
				r.processes, r.connections, r.Sent, r.OK, r.RPS, loadgen.Round(r.P50), loadgen.Round(r.P99), loadgen.Round(r.Max),
				r.jobsPerSec, r.jobs, r.e2e.Round(time.Millisecond))
		case "ingest-only":
			fmt.Fprintf(w, "| switchboard (postgres), listener paused: storing only | %d | %d | %d | %d | %.0f | %s | %s | %s | – |\n",
				r.processes, r.connections, r.Sent, r.OK, r.RPS, loadgen.Round(r.P50), loadgen.Round(r.P99), loadgen.Round(r.Max))
		case "baseline":
			base[r.connections] = r.RPS
			fmt.Fprintf(w, "| baseline: pgx, 1 INSERT transaction per request | – | %d | %d | %d | %.0f | %s | %s | %s | – |\n",
				r.connections, r.Sent, r.OK, r.RPS, loadgen.Round(r.P50), loadgen.Round(r.P99), loadgen.Round(r.Max))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| drain | processes | backlog | time | jobs/s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		if r.kind == "drain" {
			fmt.Fprintf(w, "| no-op listener | %d | %d | %s | %.0f |\n", r.processes, r.jobs, r.e2e.Round(time.Millisecond), r.jobsPerSec)
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if (r.kind == "switchboard" || r.kind == "ingest-only") && base[r.connections] > 0 {
			what := "switchboard"
			if r.kind == "ingest-only" {
				what = "switchboard storing only"
			}
			fmt.Fprintf(w, "%d process(es), %d connections: %s %.0f req/s = %.1f× the baseline (%.0f); errors %d, non-2xx %d\n",
				r.processes, r.connections, what, r.RPS, r.RPS/base[r.connections], base[r.connections], r.Errors, r.Sent-r.OK-r.Errors)
		}
	}
}
