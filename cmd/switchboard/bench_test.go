package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBench_Smoke runs a short bench end to end: the real server, the
// baseline and the verify-only ceiling, 200 requests each.
func TestBench_Smoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server under load")
	}
	o := benchOptions{
		connections: []int{4}, requests: 200, bodySize: 1024, baseline: true, ceiling: true,
		dir: t.TempDir(), drainTimeout: time.Minute, log: io.Discard,
	}
	rows, err := runBench(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, r := range rows {
		servers = append(servers, r.Server)
		if r.Sent != 200 || r.OK != r.Sent || r.Errors != 0 || r.RPS <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P999 {
			t.Errorf("%s: %+v, want 200 sent and acknowledged with figures", r.Server, r.Result)
		}
	}
	if want := []string{rowSwitchboard, rowBaseline, rowCeiling}; !slices.Equal(servers, want) {
		t.Fatalf("rows %q, want %q", servers, want)
	}
	sb := rows[0]
	if sb.Jobs != 200 || sb.Failed != 0 || sb.JobsPerSec <= 0 || sb.E2E <= 0 || sb.FileBytes <= 0 || sb.PeakRSS <= 0 || sb.EndRSS <= 0 || sb.AnonRSS <= 0 {
		t.Errorf("switchboard row: jobs %d failed %d jobs/s %.0f e2e %s file %d rss %d/%d/%d; want 200 jobs run and non-zero figures",
			sb.Jobs, sb.Failed, sb.JobsPerSec, sb.E2E, sb.FileBytes, sb.PeakRSS, sb.EndRSS, sb.AnonRSS)
	}
	if rows[1].FileBytes <= 0 {
		t.Errorf("baseline row has no bbolt file size")
	}

	var out bytes.Buffer
	writeBenchReport(&out, o, rows)
	for _, want := range []string{"| switchboard | 4 | 200 | 200 |", "| baseline: 1 bbolt Update per request | 4 | 200 | 200 |",
		"switchboard / baseline", "RSS includes it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Problems:") {
		t.Errorf("clean run reported problems:\n%s", out.String())
	}
}

// TestBench_UserConfig loads a config file given with -c: its storage and
// listeners are redirected to the bench's temp dir.
func TestBench_UserConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server under load")
	}
	o := benchOptions{requests: 50, bodySize: 512, dir: t.TempDir(), drainTimeout: time.Minute, log: io.Discard}
	cfg, err := benchConfig(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.config, o.workers = cfg.Path, 2
	row, err := benchSwitchboard(context.Background(), o, 2)
	if err != nil {
		t.Fatal(err)
	}
	if row.OK != 50 || row.Jobs != 50 || row.Failed != 0 {
		t.Fatalf("row %+v, want 50 acknowledged and run", row)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "data", "queue.db")); !os.IsNotExist(err) {
		t.Fatalf("the bench wrote the queue beside the user's config (stat: %v)", err)
	}
}

func TestBench_Flags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad connections", []string{"bench", "--connections", "1,x"}, 2, `"x" is not a positive number`},
		{"zero connections", []string{"bench", "--connections", "0"}, 2, `"0" is not a positive number`},
		{"positional argument", []string{"bench", "extra"}, 2, "bench takes no arguments"},
		{"script with config", []string{"bench", "-c", "x.toml", "--listener-script", "a.js"}, 2, "--listener-script"},
		{"nothing to stop on", []string{"bench", "--duration", "0"}, 1, "set --duration or --requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func TestParseConnections(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"one", "64", []int{64}},
		{"list", "1,16, 64", []int{1, 16, 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConnections(tt.in)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("parseConnections(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSizeAt(t *testing.T) {
	t0 := time.Unix(100, 0)
	samples := []sizeSample{{t0, 10}, {t0.Add(time.Second), 20}, {t0.Add(2 * time.Second), 30}}
	for _, tt := range []struct {
		at   time.Time
		want int64
	}{
		{t0.Add(-time.Second), 0},
		{t0, 10},
		{t0.Add(1500 * time.Millisecond), 20},
		{t0.Add(time.Hour), 30},
	} {
		if got := sizeAt(samples, tt.at); got != tt.want {
			t.Errorf("sizeAt(%v) = %d, want %d", tt.at.Sub(t0), got, tt.want)
		}
	}
}
