package main

import (
	"context"
	"log/slog"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/postgres"
)

// openPostgres opens the shared queue [queue] backend = "postgres" names.
func openPostgres(ctx context.Context, cfg *config.Config, logger *slog.Logger) (engine.Queue, error) {
	return postgres.Open(ctx, postgres.Options{
		DSN:          cfg.PostgresDSN().Reveal(),
		Schema:       cfg.Queue.Schema,
		PollInterval: cfg.Queue.PollInterval.D(),
		DedupeWindow: cfg.Queue.DedupeWindow.D(),
		Retention:    cfg.Queue.Retention.D(),
		MaxDepth:     cfg.Queue.MaxDepth,
		CrashLimit:   cfg.Queue.CrashLimit,
		Logger:       logger.With("queue", "postgres"),
	})
}
