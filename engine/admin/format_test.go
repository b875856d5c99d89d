package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func failedJob() engine.Job {
	return engine.Job{ID: "job_1", EventID: "evt_1", Listener: "update_media", State: engine.JobFailed, Attempt: 3, MaxTries: 3,
		CreatedAt: at, UpdatedAt: at, RunAt: at,
		LastError: &engine.JobError{Attempt: 3, At: at, Kind: "error", Message: "db down\nsecond line",
			Stack: "Error: db down\n    at handle (scripts/update_media.js:12:5)\n"}}
}

func TestFormatJobs(t *testing.T) {
	cases := []struct {
		name string
		jobs []engine.Job
		want []string
	}{
		{"empty", nil, []string{"no jobs"}},
		{"one failed", []engine.Job{failedJob()}, []string{"JOB", "job_1", "failed", "update_media", "3/3", "error: db down"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := FormatJobs(&b, c.jobs); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, b.String())
				}
			}
			if strings.Contains(b.String(), "second line") {
				t.Fatalf("table shows more than the first line of the error:\n%s", b.String())
			}
		})
	}
}

func TestFormatJob_ErrorAndStack(t *testing.T) {
	var b strings.Builder
	j := failedJob()
	if err := FormatJob(&b, &j); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"job:", "job_1", "attempt:", "3 of 3", "db down", "  second line", "scripts/update_media.js:12:5"} {
		if !strings.Contains(b.String(), w) {
			t.Fatalf("output lacks %q:\n%s", w, b.String())
		}
	}
}

func TestFormat_EscapesTerminalControls(t *testing.T) {
	j := failedJob()
	j.Listener = "a\x1b[31mred"
	j.LastError.Message = "\x1b]0;pwned\x07 oops"
	j.LastError.Stack = "at \x1b[2J"
	ev := engine.Event{ID: "evt_1", Name: "x\x1b[1m", Source: "s\r", Payload: json.RawMessage("{\"a\":\"\x1b[5m\"}")}
	var b strings.Builder
	if err := FormatJobs(&b, []engine.Job{j}); err != nil {
		t.Fatal(err)
	}
	if err := FormatJob(&b, &j); err != nil {
		t.Fatal(err)
	}
	if err := FormatEvents(&b, []engine.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := FormatEvent(&b, &ev, []engine.Job{j}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\r") {
		t.Fatalf("control characters reached the output: %q", out)
	}
	if !strings.Contains(out, `\x1b[31mred`) {
		t.Fatalf("escape not shown visibly: %q", out)
	}
}

func TestFormatEvents(t *testing.T) {
	evs := []engine.Event{
		{ID: "evt_1", Name: "media.processed", Source: "ittybit", ReceivedAt: at, Payload: json.RawMessage(`{"a":1}`)},
		{ID: "evt_2", Name: "thumb.requested", Source: "emit", ReceivedAt: at, Parent: "evt_1"},
	}
	var b strings.Builder
	if err := FormatEvents(&b, evs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "EVENT") || !strings.Contains(lines[2], "evt_1") {
		t.Fatalf("table:\n%s", b.String())
	}
	// Columns line up: each row's NAME column starts at the same offset.
	col := strings.Index(lines[0], "NAME")
	if lines[1][col:col+len("media")] != "media" || lines[2][col:col+len("thumb")] != "thumb" {
		t.Fatalf("columns not aligned:\n%s", b.String())
	}
}

func TestFormatEvent(t *testing.T) {
	ev := engine.Event{ID: "evt_1", Name: "media.processed", Source: "ittybit", DeliveryID: "d_1", ReceivedAt: at, Payload: json.RawMessage(`{"a":1}`)}
	var b strings.Builder
	if err := FormatEvent(&b, &ev, []engine.Job{failedJob()}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"evt_1", "d_1", `{"a":1}`, "job_1"} {
		if !strings.Contains(b.String(), w) {
			t.Fatalf("output lacks %q:\n%s", w, b.String())
		}
	}
}

func TestFormatStats(t *testing.T) {
	rep := StatsReport{
		Stats: engine.Stats{
			States:    map[engine.JobState]int{engine.JobPending: 4, engine.JobFailed: 2},
			Listeners: map[string]map[engine.JobState]int{"notify": {engine.JobPending: 4}, "old": {engine.JobFailed: 2}},
			Events:    9, Enqueued: 7, Finished: 5, FailedTotal: 2, FileBytes: 3 << 20,
		},
		Listeners: []ListenerInfo{{Name: "notify", On: []string{"*"}, Tries: 3, Timeout: "30s", Jobs: map[string]int{"pending": 4}}},
		Reload:    ReloadStatus{At: at, OK: false, Error: "config.toml:3: bad", NeedsRestart: []string{"server.listen"}},
	}
	var b strings.Builder
	if err := FormatStats(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"PENDING", "3.0 MiB", "7 enqueued", "notify", "old", "(not configured)", "REFUSED", "config.toml:3: bad", "server.listen"} {
		if !strings.Contains(b.String(), w) {
			t.Fatalf("output lacks %q:\n%s", w, b.String())
		}
	}
}
