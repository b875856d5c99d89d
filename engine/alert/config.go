package alert

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/switchboard/switchboard/engine/config"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
)

// FromConfig builds the Options of cfg's [[alerts]] and [alerts_settings]
// (cfg has been validated). Notifications and the heartbeat go through an
// SSRF-safe client that reaches only the hosts those URLs name, and
// private addresses only in alerts_settings.allow_cidrs. mailer may be nil
// when no alert mails. The caller adds Queue and Listeners.
func FromConfig(cfg *config.Config, mailer Mailer, logger *slog.Logger) (Options, error) {
	s := cfg.AlertsSettings
	opts := Options{
		Mailer:            mailer,
		Interval:          s.Interval.D(),
		Repeat:            s.Repeat.D(),
		HeartbeatURL:      s.HeartbeatURL,
		HeartbeatInterval: s.HeartbeatInterval.D(),
		Logger:            logger,
	}
	var hosts []string
	addHost := func(raw string) {
		if u, err := url.Parse(raw); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	if s.HeartbeatURL != "" {
		addHost(s.HeartbeatURL)
	}
	for i, a := range cfg.Alerts {
		r := Rule{Name: a.Name, Listener: a.Listener}
		switch {
		case a.Wait > 0:
			r.Kind, r.Limit = Wait, a.Wait.D()
		case a.Stalled > 0:
			r.Kind, r.Limit = Stalled, a.Stalled.D()
		case a.Depth > 0:
			r.Kind, r.Count = Depth, a.Depth
		case a.FailuresRate.N > 0:
			r.Kind, r.Count, r.Limit = Failures, a.FailuresRate.N, a.FailuresRate.Per
		default:
			return Options{}, fmt.Errorf("alerts[%d]: no condition (was the config validated?)", i)
		}
		for _, t := range a.Targets {
			if t.Kind == "mail" {
				r.Targets = append(r.Targets, Target{Mail: t.Address})
				continue
			}
			key, err := config.WebhookKey(t.Webhook.Secret)
			if err != nil {
				return Options{}, fmt.Errorf("alerts[%d]: webhook %q: %w", i, t.Webhook.Name, err)
			}
			r.Targets = append(r.Targets, Target{Webhook: t.Webhook.Name, URL: t.Webhook.URL, Key: key})
			addHost(t.Webhook.URL)
		}
		opts.Rules = append(opts.Rules, r)
	}
	if len(hosts) > 0 {
		client, err := hosthttp.NewClient(config.HTTP{
			AllowHosts:       hosts,
			AllowCIDRs:       s.AllowCIDRs,
			Timeout:          config.Duration(20 * time.Second),
			ConnectTimeout:   config.Duration(5 * time.Second),
			MaxResponseBytes: 64 << 10,
			MaxRedirects:     3,
		})
		if err != nil {
			return Options{}, fmt.Errorf("alerts: http client: %w", err)
		}
		opts.HTTP = client
	}
	return opts, nil
}
