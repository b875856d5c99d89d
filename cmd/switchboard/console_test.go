package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/alert"
	"github.com/switchboard/switchboard/engine/ingest"
)

const alertSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// alertReceiver verifies every notification with ingest's Standard
// Webhooks verifier and keeps the types, and counts heartbeats.
type alertReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	types  []string
	bad    []string
	beats  int
	listen string
}

func newAlertReceiver(t *testing.T) *alertReceiver {
	v, err := ingest.NewVerifier(ingest.Source{Name: "alerts", Verify: "standard-webhooks", Secrets: []engine.Secret{alertSecret}})
	if err != nil {
		t.Fatal(err)
	}
	rc := &alertReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if r.URL.Path == "/beat" {
			rc.beats++
			return
		}
		body, _ := io.ReadAll(r.Body)
		var msg struct {
			Type string `json:"type"`
			Data struct {
				Listener string `json:"listener"`
			} `json:"data"`
		}
		if _, err := v.Verify(r.Header, body, time.Now()); err != nil || json.Unmarshal(body, &msg) != nil {
			rc.bad = append(rc.bad, string(body))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rc.types = append(rc.types, msg.Type)
		rc.listen = msg.Data.Listener
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *alertReceiver) got() (string, int, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return strings.Join(rc.types, ","), rc.beats, append([]string(nil), rc.bad...)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsole_ListenerVerbsAndAlerts runs the binary's verbs against a
// running App: pausing a listener through `listeners pause` holds its
// jobs (shown by `listeners ls`, `queue stats` and /metrics), an
// [[alerts]] depth rule fires a signed webhook, `listeners resume` runs
// the jobs and the alert recovers; the heartbeat is pinged; `audit`
// lists both actions.
func TestConsole_ListenerVerbsAndAlerts(t *testing.T) {
	rc := newAlertReceiver(t)
	app := startConsoleApp(t, consoleConfig(t, `
[[alerts]]
name = "steady backlog"
listener = "steady"
depth = 1
notify = ["webhook:ops"]

[[alerts.webhooks]]
name = "ops"
url = "`+rc.URL+`/alerts"
secret = "`+alertSecret+`"

[alerts_settings]
interval = "100ms"
repeat = "0s"
heartbeat_url = "`+rc.URL+`/beat"
heartbeat_interval = "1s"
allow_cidrs = ["127.0.0.0/8"]
`))
	cli := func(args ...string) string {
		t.Helper()
		args = append(args, "--admin", "http://"+app.AdminAddr.String(), "--token", browserToken)
		code, out, errOut := runMain(t, args...)
		if code != 0 {
			t.Fatalf("switchboard %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	if out := cli("listeners", "pause", "steady"); !strings.Contains(out, "steady: paused since") {
		t.Fatalf("pause: %q", out)
	}
	ev := send(t, app, map[string]any{"type": "tick", "data": map[string]any{"id": "task_x"}})
	consoleJob(t, app, ev, "echo", engine.JobDone)
	consoleJob(t, app, ev, "steady", engine.JobPending)
	if out := cli("listeners", "ls"); !regexpMatch(`(?m)^steady\s+paused since \S+ \S+\s+1\s+0\s+0\s`, out) ||
		!regexpMatch(`(?m)^echo\s+running\s`, out) {
		t.Fatalf("listeners ls:\n%s", out)
	}
	if out := cli("queue", "stats"); !regexpMatch(`(?m)^steady\s+paused\s+1\s`, out) {
		t.Fatalf("queue stats:\n%s", out)
	}
	if text, err := adminClient(app).Metrics(context.Background()); err != nil ||
		!strings.Contains(text, `switchboard_listener_paused{listener="steady"} 1`) {
		t.Fatalf("metrics: %v\n%s", err, text)
	}
	waitUntil(t, "the alert to fire", func() bool { types, _, _ := rc.got(); return types == "alert.firing" })

	if out := cli("listeners", "resume", "steady"); !strings.Contains(out, "steady: running") {
		t.Fatalf("resume: %q", out)
	}
	consoleJob(t, app, ev, "steady", engine.JobDone)
	waitUntil(t, "the alert to recover", func() bool { types, _, _ := rc.got(); return types == "alert.firing,alert.recovered" })
	waitUntil(t, "two heartbeats", func() bool { _, beats, _ := rc.got(); return beats >= 2 })
	if _, _, bad := rc.got(); len(bad) > 0 {
		t.Fatalf("notifications that failed verification: %q", bad)
	}
	if out := cli("audit"); !regexpMatch(`(?m)^\S+ \S+\s+resume\s+steady\s+1\s+127\.0\.0\.1 bearer switchboard-cli`, out) ||
		!regexpMatch(`(?m)\bpause\s+steady\s+1\b`, out) {
		t.Fatalf("audit:\n%s", out)
	}
}

func adminClient(app *App) *admin.Client {
	return &admin.Client{BaseURL: "http://" + app.AdminAddr.String(), Token: browserToken}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestAlertOptions maps the alert config onto the alerter, and the
// alerter's client is the SSRF-safe one: loopback is refused unless
// alerts_settings.allow_cidrs allows it.
func TestAlertOptions(t *testing.T) {
	cfg := consoleConfig(t, `
[[alerts]]
name = "w"
listener = "steady"
wait = "2m"
notify = ["mail:ops@example.com", "webhook:ops"]
[[alerts.webhooks]]
name = "ops"
url = "http://127.0.0.1:9/x"
secret = "`+alertSecret+`"
[[alerts]]
name = "f"
failures = "5/10m"
notify = ["mail:ops@example.com"]
[alerts_settings]
repeat = "1h"
`)
	opts, err := alertOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := opts.Rules
	if len(r) != 2 || r[0].Kind != alert.Wait || r[0].Limit != 2*time.Minute || r[0].Listener != "steady" ||
		len(r[0].Targets) != 2 || r[0].Targets[0].Mail != "<ops@example.com>" || len(r[0].Targets[1].Key) != 24 ||
		r[1].Kind != alert.Failures || r[1].Count != 5 || r[1].Limit != 10*time.Minute {
		t.Fatalf("rules: %+v", r)
	}
	if opts.Repeat != time.Hour || opts.Interval != 15*time.Second || opts.HTTP == nil {
		t.Fatalf("settings: %+v", opts)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9/x", nil)
	if _, err := opts.HTTP.Do(req); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("posting to loopback without allow_cidrs: %v", err)
	}
}
