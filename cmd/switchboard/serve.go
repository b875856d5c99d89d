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
	listen := f.String("listen", "", "webhook address host:port (default: $"+config.ListenEnv+", then server.listen)")
	adminListen := f.String("admin-listen", "", "admin address host:port (default: $"+config.AdminListenEnv+", then admin.listen)")
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(f.config, config.Overrides{Listen: *listen, AdminListen: *adminListen})
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

// logServing is the start-up line: a URL per source to point senders at,
// the dashboard's URL, and where the admin token is (never the token).
func (a *App) logServing() {
	hooks := make([]string, 0, len(a.cfg.Sources))
	for _, src := range a.cfg.Sources {
		hooks = append(hooks, "http://"+a.PublicAddr.String()+src.Path)
	}
	args := []any{"webhooks", hooks}
	if a.AdminAddr != nil {
		args = append(args, "dashboard", "http://"+a.AdminAddr.String()+"/", "admin_token", tokenWhere(a.cfg))
	} else {
		args = append(args, "dashboard", "off (admin.listen is empty)")
	}
	args = append(args, "listeners", len(a.router.Routes().Listeners), "workers", a.cfg.Queue.Workers)
	a.logger.Info("switchboard serving", args...)
}

// tokenWhere says where the admin token is: the file the server wrote, or
// the config key (and variable) that set it.
func tokenWhere(cfg *config.Config) string {
	if cfg.Admin.Token == "" {
		return tokenFile(cfg)
	}
	if ref, ok := cfg.FromEnv("admin.token"); ok {
		return "admin.token in " + cfg.Path + " (" + ref + ")"
	}
	return "admin.token in " + cfg.Path
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
