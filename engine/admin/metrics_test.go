package admin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestMetrics_Exposition(t *testing.T) {
	m := NewMetrics()
	ts, fs, _ := testServer(t, func(o *Options) { o.Metrics = m })
	fs.addEvent(engine.Event{Name: "a"}, engine.JobFailed, "update_media", "notify")
	fs.addEvent(engine.Event{Name: "b"}, engine.JobPending, "notify")

	m.ObserveWebhook("ittybit", 200)
	m.ObserveWebhook("ittybit", 200)
	m.ObserveWebhook("ittybit", 401)
	m.ObserveEnqueued("ittybit")
	m.ObserveJob("notify", engine.Succeeded, 20*time.Millisecond)
	m.ObserveJob("notify", engine.Retry, 3*time.Second)
	m.ObserveJob("update_media", engine.Snoozed, time.Millisecond)
	m.ObserveJob("update_media", engine.Failed, time.Second)
	m.ObserveReload(true)
	m.ObserveReload(false)
	m.ObserveReload(false)

	resp, body := call(t, ts, "GET", "/metrics", bearer)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`switchboard_webhooks_received_total{code="200",source="ittybit"} 2`,
		`switchboard_webhooks_received_total{code="401",source="ittybit"} 1`,
		`switchboard_events_enqueued_total{source="ittybit"} 1`,
		`switchboard_jobs_finished_total{listener="notify",outcome="succeeded"} 1`,
		`switchboard_jobs_finished_total{listener="notify",outcome="retry"} 1`,
		`switchboard_jobs_finished_total{listener="update_media",outcome="snoozed"} 1`,
		`switchboard_jobs_finished_total{listener="update_media",outcome="failed"} 1`,
		`switchboard_job_duration_seconds_count{listener="notify"} 2`,
		`switchboard_job_duration_seconds_bucket{listener="notify",le="0.025"} 1`,
		`switchboard_reloads_total{result="ok"} 1`,
		`switchboard_reloads_total{result="refused"} 2`,
		`switchboard_queue_jobs{state="failed"} 2`,
		`switchboard_queue_jobs{state="pending"} 1`,
		`switchboard_queue_jobs{state="running"} 0`,
		`switchboard_queue_listener_jobs{listener="notify",state="pending"} 1`,
		`switchboard_queue_events 2`,
		`switchboard_queue_file_bytes 32768`,
		`switchboard_queue_oldest_due_age_seconds 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMetrics_QueueScrapeFails(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	fs.failAll = errors.New("store closed")
	resp, body := call(t, ts, "GET", "/metrics", bearer)
	// The failing collector is dropped; the rest is still served.
	if resp.StatusCode != 200 || strings.Contains(body, "switchboard_queue_jobs{") || !strings.Contains(body, "switchboard_reloads_total") {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
}

func TestMetrics_NilNoops(t *testing.T) {
	var m *Metrics
	m.ObserveWebhook("s", 200)
	m.ObserveEnqueued("s")
	m.ObserveJob("l", engine.Succeeded, time.Second)
	m.ObserveReload(true)
	if m.Registry() != nil {
		t.Fatal("nil Metrics has a registry")
	}
}

func TestOutcomeName(t *testing.T) {
	cases := map[engine.Outcome]string{engine.Succeeded: "succeeded", engine.Retry: "retry",
		engine.Snoozed: "snoozed", engine.Failed: "failed", engine.Interrupted: "interrupted", engine.Returned: "returned", engine.Outcome(99): "outcome(99)"}
	for o, want := range cases {
		if got := OutcomeName(o); got != want {
			t.Errorf("OutcomeName(%d) = %q, want %q", o, got, want)
		}
	}
}
