package main

import (
	"log/slog"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
	"github.com/switchboard/switchboard/engine/host/ittybit"
	"github.com/switchboard/switchboard/engine/host/mail"
	"github.com/switchboard/switchboard/engine/ingest"
)

// This file is the one place config meets the adapters: each adapter
// declares its own options (plain fields, its own defaults for zero
// values) and knows nothing of config.toml; config has validated every
// value once and named the key of anything wrong. The functions here only
// copy, resolve relative paths against the config's directory, and never
// fail.

// ingestOptions maps [server] onto the webhook server's options.
func ingestOptions(cfg *config.Config, logger *slog.Logger, observe func(source string, status int)) ingest.Options {
	s := cfg.Server
	return ingest.Options{
		BodyLimit:    int64(s.BodyLimit),
		HeaderLimit:  int(s.HeaderLimit),
		ReadTimeout:  s.ReadTimeout.D(),
		WriteTimeout: s.WriteTimeout.D(),
		IdleTimeout:  s.IdleTimeout.D(),
		Logger:       logger,
		Observe:      observe,
	}
}

// ingestSources maps [[sources]] onto the webhook server's sources.
func ingestSources(cfg *config.Config) []ingest.Source {
	out := make([]ingest.Source, len(cfg.Sources))
	for i, s := range cfg.Sources {
		out[i] = ingestSource(s)
	}
	return out
}

// ingestSource maps one [[sources]] table (validated: Secrets and Limit
// are filled in).
func ingestSource(s config.Source) ingest.Source {
	return ingest.Source{
		Name: s.Name, Path: s.Path, Verify: s.Verify, Secrets: s.Secrets,
		Event: s.Event, EventField: s.EventField, DeliveryID: s.DeliveryID,
		Tolerance: s.Tolerance.D(), Rate: s.Limit,
		Header: s.Header, Algorithm: s.Algorithm, Encoding: s.Encoding, Prefix: s.Prefix,
	}
}

// httpOptions maps [http] onto the http binding's options.
func httpOptions(cfg *config.Config) hosthttp.Options {
	h := cfg.HTTP
	return hosthttp.Options{
		AllowHosts:       h.AllowHosts,
		AllowCIDRs:       h.CIDRs,
		Timeout:          h.Timeout.D(),
		ConnectTimeout:   h.ConnectTimeout.D(),
		MaxResponseBytes: int64(h.MaxResponseBytes),
		MaxRedirects:     h.MaxRedirects,
	}
}

// mailOptions maps [mail] onto the mailer's options, the file transport's
// directory resolved against the config's.
func mailOptions(cfg *config.Config, logger *slog.Logger) mail.Options {
	m := cfg.Mail
	return mail.Options{
		Transport: m.Transport, From: m.From, Dir: cfg.Resolve(m.Dir),
		Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password,
		StartTLS: m.StartTLS, TLS: m.TLS, Timeout: m.Timeout.D(), Logger: logger,
	}
}

// ittybitOptions maps [ittybit] onto the ittybit binding's options.
func ittybitOptions(cfg *config.Config) ittybit.Options {
	return ittybit.Options{APIKey: cfg.Ittybit.APIKey, BaseURL: cfg.Ittybit.BaseURL}
}

// dbOptions maps [database] onto the app database's options; a relative
// SQLite path is resolved against the config's directory.
func dbOptions(cfg *config.Config) db.Options {
	d := cfg.Database
	return db.Options{Driver: d.Driver, DSN: d.DSN, MaxOpenConns: d.MaxOpenConns, Dir: cfg.Dir}
}
