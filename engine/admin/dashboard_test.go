package admin

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

func TestDashboard_EscapesAttackerData(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	evil := `<script>alert(1)</script>`
	payload, _ := json.Marshal(map[string]string{"title": evil, "img": `"><img src=x onerror=alert(2)>`})
	fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", Payload: payload}, engine.JobFailed, "update_media")
	fs.mu.Lock()
	fs.jobs[0].LastError.Message = "bad title " + evil
	fs.jobs[0].LastError.Stack = "at handle (" + evil + ":1:1)"
	fs.events[0].Name = evil
	fs.mu.Unlock()

	resp, body := call(t, ts, "GET", "/", bearer)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for _, bad := range []string{"<script", "<img", "onerror=alert(2)>"} {
		if strings.Contains(body, bad) {
			t.Fatalf("dashboard contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "bad title", "update_media", "Failed jobs", "Recent events"} {
		if !strings.Contains(body, want) && !(want == "Recent events" && strings.Contains(body, "Events (oldest first)")) {
			t.Fatalf("dashboard lacks %q", want)
		}
	}
}

func TestDashboard_Headers(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	resp, _ := call(t, ts, "GET", "/", bearer)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, v) {
			t.Fatalf("%s = %q, want prefix %q", k, got, v)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") {
		t.Fatalf("CSP allows scripts: %q", csp)
	}
}

func TestDashboard_Content(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit", Payload: json.RawMessage(`{"id":"task_1"}`)}, engine.JobDone, "notify")
	fs.addEvent(engine.Event{Name: "media.processed", Source: "ittybit"}, engine.JobFailed, "update_media")
	_, body := call(t, ts, "GET", "/", bearer)
	for _, want := range []string{"task_1", "boom", "scripts/x.js:3:9", "notify", "media.processed", "32.0 KiB", "applied"} {
		if !strings.Contains(body, want) {
			t.Fatalf("dashboard lacks %q", want)
		}
	}
}

func TestDashboard_RecentEvents(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	for i := range 25 {
		fs.addEvent(engine.Event{Name: fmt.Sprintf("ev.%02d", i)}, engine.JobDone)
	}
	_, body := call(t, ts, "GET", "/", bearer)
	if !strings.Contains(body, "Recent events") || !strings.Contains(body, "ev.24") || strings.Contains(body, "ev.04") {
		t.Fatal("dashboard does not show the newest events")
	}
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut", "abcdef", 3, "abc…"},
		{"multibyte", "ééééé", 2, "éé…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := truncate(c.n, c.in); got != c.want {
				t.Fatalf("truncate(%d, %q) = %q, want %q", c.n, c.in, got, c.want)
			}
		})
	}
}
