package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/engine/loadgen"
)

// writeBenchReport prints the rows as a markdown table the README can
// paste, then the switchboard/baseline ratio per connection level.
func writeBenchReport(w io.Writer, o benchOptions, rows []benchRow) {
	load := fmt.Sprintf("%s per row", o.duration)
	if o.requests > 0 {
		load = fmt.Sprintf("%d requests per row", o.requests)
	}
	if o.rate > 0 {
		load += fmt.Sprintf(", at most %.0f requests/s", o.rate)
	}
	fmt.Fprintf(w, "switchboard bench: %s; %d-byte signed JSON bodies, %s\n", benchMachine(), o.bodySize, load)
	fmt.Fprintln(w, "The load generator runs in this process: it shares the CPUs, and RSS includes it.")
	fmt.Fprintln(w, "RSS also counts the bbolt file's mapped pages; \"anon\" is the RSS without mapped files.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| server | conns | sent | ok | req/s | p50 | p99 | p99.9 | max | e2e jobs/s | RSS peak / end (anon) | bbolt file |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		e2e, rss := "–", "–"
		if r.Server == rowSwitchboard {
			e2e = fmt.Sprintf("%.0f (%d jobs in %s)", r.JobsPerSec, r.Jobs, r.E2E.Round(time.Millisecond))
			rss = fmt.Sprintf("%s / %s (%s)", bytesString(r.PeakRSS), bytesString(r.EndRSS), bytesString(r.AnonRSS))
		}
		file := "–"
		if r.FileBytes > 0 {
			file = bytesString(r.FileBytes)
		}
		if r.FileHalf > 0 {
			file = fmt.Sprintf("%s (half-way: %s)", file, bytesString(r.FileHalf))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Server, r.Connections, r.Sent, r.OK, r.RPS,
			loadgen.Round(r.P50), loadgen.Round(r.P99), loadgen.Round(r.P999), loadgen.Round(r.Max),
			e2e, rss, file)
	}
	writeRatios(w, rows)
	writeProblems(w, rows)
}

func writeRatios(w io.Writer, rows []benchRow) {
	base := map[int]benchRow{}
	for _, r := range rows {
		if strings.HasPrefix(r.Server, "baseline") {
			base[r.Connections] = r
		}
	}
	if len(base) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| conns | switchboard / baseline req/s | p99 switchboard / baseline |")
	fmt.Fprintln(w, "|---:|---:|---:|")
	for _, r := range rows {
		b, ok := base[r.Connections]
		if r.Server != rowSwitchboard || !ok || b.RPS == 0 || b.P99 == 0 {
			continue
		}
		fmt.Fprintf(w, "| %d | %.1f× | %s / %s |\n", r.Connections, r.RPS/b.RPS, loadgen.Round(r.P99), loadgen.Round(b.P99))
	}
}

// writeProblems lists non-2xx answers, transport errors and failed jobs:
// a figure with any of these is not a clean measurement.
func writeProblems(w io.Writer, rows []benchRow) {
	var lines []string
	for _, r := range rows {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(r.Statuses)) {
			if code/100 != 2 {
				parts = append(parts, fmt.Sprintf("%d× HTTP %d", r.Statuses[code], code))
			}
		}
		if r.Errors > 0 {
			parts = append(parts, fmt.Sprintf("%d transport errors (first: %s)", r.Errors, r.FirstError))
		}
		if r.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d failed jobs", r.Failed))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("- %s at %d conns: %s", r.Server, r.Connections, strings.Join(parts, ", ")))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Problems:")
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	}
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// readRSS returns the process's peak, current and anonymous (not
// file-mapped) resident set in bytes from /proc/self/status; zeros where
// that file does not exist.
func readRSS() (peak, now, anon int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			peak = kb << 10
		case "VmRSS":
			now = kb << 10
		case "RssAnon":
			anon = kb << 10
		}
	}
	return peak, now, anon
}

// resetPeakRSS restarts VmHWM from the current RSS (Linux ≥ 4.0), so each
// row's peak is its own. Elsewhere it does nothing.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func benchMachine() string {
	return fmt.Sprintf("%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
