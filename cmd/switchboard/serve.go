package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/script"
)

// cmdServe runs the router until SIGINT/SIGTERM, then shuts down
// gracefully: running jobs get server.shutdown_timeout to finish before
// they are interrupted (and snoozed, so they run again after restart).
// A second signal interrupts them at once.
func cmdServe(ctx context.Context, args []string, _ io.Writer) error {
	f := newFlags("serve")
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, os.Stderr)
	app, err := Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	runErr := app.Run(ctx)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	second := make(chan os.Signal, 1)
	signal.Notify(second, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(second)
	go func() {
		select {
		case <-second:
			logger.Warn("second signal: interrupting running jobs now")
			cancel()
		case <-shutdownCtx.Done():
		}
	}()
	logger.Info("shutting down", "grace", cfg.Server.ShutdownTimeout.D())
	if err := app.Close(shutdownCtx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	logger.Info("stopped")
	return runErr
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cmdCheck validates the config and compiles every listener's script,
// printing each problem with its key or file:line:column.
func cmdCheck(_ context.Context, args []string, stdout io.Writer) error {
	f := newFlags("check")
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	routes, err := cfg.Routes()
	if err != nil {
		return err
	}
	if _, err := script.Build(routes, nil); err != nil {
		return err
	}
	for _, w := range natsCheckWarnings(cfg) {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintf(stdout, "ok: %s — %d source(s), %d listener(s), every script compiles\n",
		cfg.Path, len(cfg.Sources), len(routes.Listeners))
	return nil
}
