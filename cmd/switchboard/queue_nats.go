package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/jetstream"
)

// natsOptions maps [queue] and [nats] onto the JetStream queue's options;
// file paths are resolved against the config's directory.
func natsOptions(cfg *config.Config, logger *slog.Logger) jetstream.Options {
	n := cfg.NATS
	path := func(p string) string {
		if p == "" {
			return ""
		}
		return cfg.Resolve(p)
	}
	return jetstream.Options{
		URLs: n.URLs, Replicas: n.Replicas, Prefix: n.Prefix,
		CredsFile: path(n.Creds), Token: n.Token.Reveal(), User: n.User, Password: n.Password.Reveal(),
		TLSCA: path(n.TLS.CA), TLSCert: path(n.TLS.Cert), TLSKey: path(n.TLS.Key),
		DedupeWindow: cfg.Queue.DedupeWindow.D(), Retention: cfg.Queue.Retention.D(),
		MaxDepth: cfg.Queue.MaxDepth, CrashLimit: cfg.Queue.CrashLimit,
		HistoryRetention: 7 * 24 * time.Hour, // as the bbolt store keeps it
		Timeout:          n.Timeout.D(), Logger: logger,
	}
}

// openNATSQueue opens the queue on NATS JetStream; Open logs the
// durability warning when the streams have fewer than three replicas.
func openNATSQueue(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*jetstream.Queue, error) {
	return jetstream.Open(ctx, natsOptions(cfg, logger))
}

// natsCheckWarnings is what switchboard check prints about [nats].
func natsCheckWarnings(cfg *config.Config) []string {
	if cfg.Queue.Backend != "nats" {
		return nil
	}
	return jetstream.DurabilityWarnings(map[string]int{cfg.NATS.Prefix + " streams (nats.replicas)": cfg.NATS.Replicas})
}
