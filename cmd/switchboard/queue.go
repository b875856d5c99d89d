package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/store"
)

// openQueue opens the queue backend [queue] names, mapping the config
// onto the backend's own options. Adding a backend is a case here; the
// worker, the admin console and the bindings see only engine.Queue.
func openQueue(ctx context.Context, cfg *config.Config, logger *slog.Logger) (engine.Queue, error) {
	q, err := openBackend(ctx, cfg, logger)
	if err != nil {
		// Not q itself: a backend's nil *Queue in an engine.Queue is not
		// a nil interface, and Close would run on it.
		return nil, err
	}
	return q, nil
}

func openBackend(ctx context.Context, cfg *config.Config, logger *slog.Logger) (engine.Queue, error) {
	switch cfg.Queue.Backend {
	case "", "bbolt":
		dataDir := cfg.Resolve(cfg.Storage.Dir)
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create storage dir: %w", err)
		}
		return store.Open(store.Options{
			Path:         filepath.Join(dataDir, "queue.db"),
			DedupeWindow: cfg.Queue.DedupeWindow.D(),
			Retention:    cfg.Queue.Retention.D(),
			MaxDepth:     cfg.Queue.MaxDepth,
			CrashLimit:   cfg.Queue.CrashLimit,
			MinFreeBytes: int64(cfg.Storage.MinFree),
			// The console's per-minute history and audit list.
			HistoryRetention: cfg.Admin.HistoryRetention.D(),
			Logger:           logger,
		})
	case "nats":
		return openNATSQueue(ctx, cfg, logger)
	case "postgres":
		return openPostgres(ctx, cfg, logger)
	}
	return nil, fmt.Errorf("queue.backend: %q is not a queue backend this build has", cfg.Queue.Backend)
}
