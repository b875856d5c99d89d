package config

import (
	"strings"
	"testing"
	"time"
)

const alertsOK = minimal + `
[[alerts]]
name = "thumbnails waiting"
listener = "a"
wait = "2m"
notify = ["mail:ops@example.com", "webhook:ops"]

[[alerts.webhooks]]
name = "ops"
url = "https://hooks.example.com/switchboard"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[[alerts]]
name = "failing"
failures = "5/10m"
notify = ["webhook:ops"]

[alerts_settings]
repeat = "1h"
heartbeat_url = "${HEARTBEAT_URL:-}"
`

func TestParse_Alerts(t *testing.T) {
	c, err := parse(t, alertsOK, map[string]string{"SECRET": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts) != 2 || c.Alerts[0].Wait.D() != 2*time.Minute || c.Alerts[0].Listener != "a" {
		t.Fatalf("alerts: %+v", c.Alerts)
	}
	tg := c.Alerts[0].Targets
	if len(tg) != 2 || tg[0].Kind != "mail" || tg[0].Address != "<ops@example.com>" ||
		tg[1].Kind != "webhook" || tg[1].Webhook.URL != "https://hooks.example.com/switchboard" {
		t.Fatalf("targets: %+v", tg)
	}
	// A webhook defined under the first alert serves the second too.
	if r := c.Alerts[1].FailuresRate; r.N != 5 || r.Per != 10*time.Minute || c.Alerts[1].Targets[0].Webhook.Name != "ops" {
		t.Fatalf("second alert: %+v", c.Alerts[1])
	}
	s := c.AlertsSettings
	if s.Repeat.D() != time.Hour || s.HeartbeatURL != "" || s.HeartbeatInterval.D() != time.Minute || s.Interval.D() != 15*time.Second {
		t.Fatalf("settings: %+v", s)
	}
	if c.Admin.HistoryRetention.D() != 7*24*time.Hour {
		t.Fatalf("history retention default: %s", c.Admin.HistoryRetention.D())
	}
}

func TestParse_AlertErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no condition", `
[[alerts]]
name = "x"
notify = ["mail:ops@example.com"]`, "alerts[0].wait: set exactly one of wait, failures, depth, stalled (found 0)"},
		{"two conditions", `
[[alerts]]
name = "x"
wait = "1m"
depth = 10
notify = ["mail:ops@example.com"]`, "(found 2)"},
		{"bad failures", `
[[alerts]]
name = "x"
failures = "five"
notify = ["mail:ops@example.com"]`, `alerts[0].failures: "five" is not a count within a window like "5/10m"`},
		{"unknown listener", `
[[alerts]]
name = "x"
listener = "nope"
depth = 5
notify = ["mail:ops@example.com"]`, `alerts[0].listener: "nope" is not a configured listener`},
		{"unknown webhook", `
[[alerts]]
name = "x"
depth = 5
notify = ["webhook:ops"]`, `alerts[0].notify[0]: "webhook:ops": no [[alerts.webhooks]] entry has that name`},
		{"bad mail", `
[[alerts]]
name = "x"
depth = 5
notify = ["mail:not an address"]`, `alerts[0].notify[0]: "mail:not an address": not a mail address`},
		{"bad target kind", `
[[alerts]]
name = "x"
depth = 5
notify = ["sms:123"]`, `alerts[0].notify[0]: "sms:123": not "mail:ADDRESS" or "webhook:NAME"`},
		{"no notify", `
[[alerts]]
name = "x"
depth = 5`, "alerts[0].notify: list at least one target"},
		{"duplicate name", `
[[alerts]]
name = "x"
depth = 5
notify = ["mail:ops@example.com"]
[[alerts]]
name = "x"
depth = 6
notify = ["mail:ops@example.com"]`, `alerts[1].name: "x" is used by another alert`},
		{"bad secret", `
[[alerts]]
name = "x"
depth = 5
notify = ["webhook:w"]
[[alerts.webhooks]]
name = "w"
url = "https://example.com/"
secret = "plain"`, `alerts[0].webhooks[0].secret: must be "whsec_" followed by base64`},
		{"bad url", `
[alerts_settings]
[[alerts_settings.webhooks]]
name = "w"
url = "ftp://example.com/"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`, `alerts_settings.webhooks[0].url: "ftp://example.com/" is not an http(s) URL`},
		{"heartbeat from the environment", `
[alerts_settings]
heartbeat_url = "${HB}"`, `alerts_settings.heartbeat_url: the value of ${HB} is not an http(s) URL`},
		{"bad heartbeat", `
[alerts_settings]
heartbeat_url = "nowhere"`, `alerts_settings.heartbeat_url: "nowhere" is not an http(s) URL`},
		{"bad cidr", `
[alerts_settings]
allow_cidrs = ["127.0.0.1"]`, `alerts_settings.allow_cidrs[0]: "127.0.0.1" is not a CIDR`},
		{"history retention", `
[admin]
history_retention = "10m"`, "admin.history_retention: 10m0s is out of range 1h..90d"},
		{"unknown alert key", `
[[alerts]]
name = "x"
depht = 5`, "unknown key alerts.depht"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, minimal+tt.body, map[string]string{"SECRET": "s3cret", "HB": "ping-key-12345"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "ping-key-12345") {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
