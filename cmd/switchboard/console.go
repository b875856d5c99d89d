package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/switchboard/switchboard/engine/alert"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/history"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
	"github.com/switchboard/switchboard/engine/host/mail"
)

// The operator console's parts that run beside the workers: the history
// recorder (what the console's charts draw, kept by the queue) and the
// alerter ([[alerts]], the heartbeat).

// openConsole builds the recorder and, when config asks for alerts or a
// heartbeat, the alerter. Close stops the recorder after the workers, so
// their last attempts reach the history.
func (a *App) openConsole() error {
	rec, err := history.New(history.Options{Sink: a.queue, Logger: a.logger})
	if err != nil {
		return err
	}
	a.history = rec
	a.metrics.Record(rec)
	if len(a.cfg.Alerts) == 0 && a.cfg.AlertsSettings.HeartbeatURL == "" {
		return nil
	}
	opts, err := alertOptions(a.cfg)
	if err != nil {
		return err
	}
	if alertsMail(a) {
		m, err := mail.New(mailOptions(a.cfg, a.logger))
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		opts.Mailer = m
	}
	opts.Queue, opts.Logger = a.queue, a.logger
	opts.Listeners = func() []string { return listenerNames(a.router.Routes()) }
	a.alerts, err = alert.New(opts)
	return err
}

func alertsMail(a *App) bool {
	for _, al := range a.cfg.Alerts {
		for _, t := range al.Targets {
			if t.Kind == "mail" {
				return true
			}
		}
	}
	return false
}

// startConsole starts flushing history and checking alerts until ctx ends.
func (a *App) startConsole(ctx context.Context) {
	a.history.Start(ctx)
	if a.alerts != nil {
		a.alerts.Start(ctx)
	}
}

// alertOptions maps [[alerts]] and [alerts_settings] onto the alerter's
// options. Notifications and the heartbeat go through an SSRF-safe client
// that reaches only the hosts those URLs name, and private addresses only
// in alerts_settings.allow_cidrs.
func alertOptions(cfg *config.Config) (alert.Options, error) {
	s := cfg.AlertsSettings
	opts := alert.Options{
		Interval:          s.Interval.D(),
		Repeat:            s.Repeat.D(),
		HeartbeatURL:      s.HeartbeatURL,
		HeartbeatInterval: s.HeartbeatInterval.D(),
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
		r := alert.Rule{Name: a.Name, Listener: a.Listener}
		switch {
		case a.Wait > 0:
			r.Kind, r.Limit = alert.Wait, a.Wait.D()
		case a.Stalled > 0:
			r.Kind, r.Limit = alert.Stalled, a.Stalled.D()
		case a.Depth > 0:
			r.Kind, r.Count = alert.Depth, a.Depth
		default:
			r.Kind, r.Count, r.Limit = alert.Failures, a.FailuresRate.N, a.FailuresRate.Per
		}
		for _, t := range a.Targets {
			if t.Kind == "mail" {
				r.Targets = append(r.Targets, alert.Target{Mail: t.Address})
				continue
			}
			key, err := config.WebhookKey(t.Webhook.Secret)
			if err != nil {
				return alert.Options{}, fmt.Errorf("alerts[%d]: webhook %q: %w", i, t.Webhook.Name, err)
			}
			r.Targets = append(r.Targets, alert.Target{Webhook: t.Webhook.Name, URL: t.Webhook.URL, Key: key})
			addHost(t.Webhook.URL)
		}
		opts.Rules = append(opts.Rules, r)
	}
	if len(hosts) > 0 {
		opts.HTTP = hosthttp.NewClient(hosthttp.Options{
			AllowHosts: hosts, AllowCIDRs: s.CIDRs,
			Timeout: 20 * time.Second, ConnectTimeout: 5 * time.Second, MaxResponseBytes: 64 << 10, MaxRedirects: 3,
		})
	}
	return opts, nil
}
