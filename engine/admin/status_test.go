package admin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestReady(t *testing.T) {
	refused := okStatus()
	refused.OK, refused.Error = false, "scripts/notify.ts:3:7: Expected \";\""
	cases := []struct {
		name    string
		pingErr error
		status  func() ReloadStatus
		code    int
		checks  map[string]string // substrings expected per check
	}{
		{"all ok", nil, okStatus, 200, map[string]string{"store": "ok", "scripts": "ok"}},
		{"store down", errors.New("disk full"), okStatus, 503, map[string]string{"store": "disk full", "scripts": "ok"}},
		{"never loaded", nil, func() ReloadStatus { return ReloadStatus{} }, 503, map[string]string{"scripts": "not loaded"}},
		{"no status func", nil, nil, 503, map[string]string{"scripts": "not loaded"}},
		{"reload refused keeps serving", nil, func() ReloadStatus { return refused }, 200,
			map[string]string{"store": "ok", "scripts": "notify.ts:3:7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, fs, _ := testServer(t, func(o *Options) { o.Status = c.status })
			fs.pingErr = c.pingErr
			resp, body := call(t, ts, "GET", "/readyz", bearer)
			rd := decode[Readiness](t, body)
			if resp.StatusCode != c.code || rd.Ready != (c.code == 200) {
				t.Fatalf("status %d ready %v, want %d: %s", resp.StatusCode, rd.Ready, c.code, body)
			}
			for k, want := range c.checks {
				if !strings.Contains(rd.Checks[k], want) {
					t.Fatalf("checks[%s] = %q, want it to contain %q", k, rd.Checks[k], want)
				}
			}
			// Without the token: the same verdict, no details.
			resp, body = call(t, ts, "GET", "/readyz", "")
			if resp.StatusCode != c.code || strings.Contains(body, "checks") {
				t.Fatalf("anonymous: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestAPI_Stats(t *testing.T) {
	ts, fs, _ := testServer(t, nil)
	fs.addEvent(engine.Event{Name: "a"}, engine.JobFailed, "update_media", "notify")
	fs.addEvent(engine.Event{Name: "b"}, engine.JobDone, "update_media", "gone_listener")
	resp, body := call(t, ts, "GET", "/api/stats", bearer)
	rep := decode[StatsReport](t, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if rep.Stats.Events != 2 || rep.Stats.States[engine.JobFailed] != 2 || rep.Stats.States[engine.JobDone] != 2 {
		t.Fatalf("stats %+v", rep.Stats)
	}
	if len(rep.Listeners) != 2 {
		t.Fatalf("listeners %+v", rep.Listeners)
	}
	um, nt := rep.Listeners[0], rep.Listeners[1]
	if um.Name != "update_media" || um.Tries != 3 || um.Timeout != "30s" || strings.Join(um.Backoff, ",") != "10s,1m0s" ||
		um.Jobs["failed"] != 1 || um.Jobs["done"] != 1 {
		t.Fatalf("update_media %+v", um)
	}
	if nt.Rate != "10/1s" || len(nt.Backoff) != 1 || !strings.Contains(nt.Backoff[0], "doubling") {
		t.Fatalf("notify %+v", nt)
	}
	if !rep.Reload.OK || len(rep.Reload.Listeners) != 2 {
		t.Fatalf("reload %+v", rep.Reload)
	}
}

func TestAPI_ConfigStatus(t *testing.T) {
	st := ReloadStatus{At: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), OK: false,
		Error: "config.toml:12: listeners[1].backoff: \"10x\" is not a duration", Listeners: []string{"notify"},
		NeedsRestart: []string{"server.listen"}}
	ts, _, _ := testServer(t, func(o *Options) { o.Status = func() ReloadStatus { return st } })
	resp, body := call(t, ts, "GET", "/api/config/status", bearer)
	got := decode[ReloadStatus](t, body)
	if resp.StatusCode != 200 || !got.At.Equal(st.At) || got.OK || got.Error != st.Error ||
		strings.Join(got.NeedsRestart, ",") != "server.listen" || strings.Join(got.Listeners, ",") != "notify" {
		t.Fatalf("%d %+v", resp.StatusCode, got)
	}
}
