package main

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/engine/alert"
	"github.com/switchboard/switchboard/engine/history"
	"github.com/switchboard/switchboard/engine/host/mail"
)

// The operator console's parts that run beside the workers: the history
// recorder (what the console's charts draw, kept by the queue) and the
// alerter ([[alerts]], the heartbeat).

// openConsole builds the recorder and, when config asks for alerts or a
// heartbeat, the alerter. The recorder closes after the workers stop, so
// their last attempts reach the history.
func (a *App) openConsole() error {
	rec, err := history.New(history.Options{Sink: a.queue, Logger: a.logger})
	if err != nil {
		return err
	}
	a.history = rec
	a.metrics.Record(rec)
	a.closers = append(a.closers, rec.Close)
	if len(a.cfg.Alerts) == 0 && a.cfg.AlertsSettings.HeartbeatURL == "" {
		return nil
	}
	var mailer alert.Mailer
	if alertsMail(a) {
		m, err := mail.New(a.cfg.Mail, a.cfg.Dir, a.logger)
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		mailer = m
	}
	opts, err := alert.FromConfig(a.cfg, mailer, a.logger)
	if err != nil {
		return err
	}
	opts.Queue = a.queue
	opts.Listeners = func() []string { return listenerNames(a.router.Routes()) }
	if a.alerts, err = alert.New(opts); err != nil {
		return err
	}
	a.closers = append(a.closers, a.alerts.Close)
	return nil
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
