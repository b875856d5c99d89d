package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/alert"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/history"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/host/emit"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
	"github.com/switchboard/switchboard/engine/host/ittybit"
	"github.com/switchboard/switchboard/engine/host/kv"
	"github.com/switchboard/switchboard/engine/host/mail"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/script"
	"github.com/switchboard/switchboard/engine/script/isolate"
	"github.com/switchboard/switchboard/engine/watch"
	"github.com/switchboard/switchboard/engine/worker"
)

// App is one running switchboard: every component, wired. Open builds it,
// Run serves until ctx ends, Close tears it down in reverse.
type App struct {
	cfg    *config.Config
	logger *slog.Logger

	queue  engine.Queue
	appDB  *db.DB
	router *engine.Router
	engine *script.Engine
	iso    *isolate.Pool // scripts.isolation = "process": where scripts run
	// scripts is the compiled set of the generation serving now: reloads
	// (under reloadMu) replace it, the watcher reads its inputs.
	scripts atomic.Pointer[script.Set]
	pool    *worker.Pool
	ingest  *ingest.Server
	admin   *admin.Server
	metrics *admin.Metrics
	history *history.Recorder // console.go
	alerts  *alert.Alerter    // nil without [[alerts]] or a heartbeat

	// Addresses actually bound (useful with port 0 in tests); set before
	// Ready is closed.
	PublicAddr net.Addr
	AdminAddr  net.Addr
	Ready      chan struct{}

	watcher  *watch.Watcher // nil until Run starts watching
	reloadMu sync.Mutex
	status   atomic.Pointer[admin.ReloadStatus]
	// pending is the last config reloaded, for reporting which of its
	// changes need a restart (cfg stays the one the process started with).
	pending *config.Config

	serving   bool // Run started the webhook listener
	closeOnce sync.Once
	closeErr  error
}

// Open builds every component from cfg. It binds nothing yet.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger, metrics: admin.NewMetrics(), Ready: make(chan struct{})}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	dataDir := cfg.Resolve(cfg.Storage.Dir)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create storage dir: %w", err)
	}
	a.queue, err = openQueue(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := a.openConsole(); err != nil {
		return nil, err
	}

	// The router exists before its first generation: emit() needs it,
	// the script engine needs emit, and a generation needs the engine.
	a.router = engine.NewRouter(a.queue, nil)
	modules, err := a.openModules(ctx)
	if err != nil {
		return nil, err
	}
	a.engine = script.NewEngine(modules, scriptOptions(cfg, logger))
	if err := a.openIsolation(modules); err != nil {
		return nil, err
	}
	gen, set, err := a.build(cfg, 1, nil)
	if err != nil {
		return nil, err
	}
	a.scripts.Store(set)
	a.router.Swap(gen)

	a.pool = worker.New(worker.Options{
		Queue:   a.queue,
		Current: a.router.Generation,
		Workers: cfg.Queue.Workers,
		Logger:  logger,
		Observe: func(o worker.Observation) { a.metrics.ObserveAttempt(o.Listener, o.Outcome, o.Wait, o.Duration) },
	})

	a.ingest, err = ingest.New(ingestOptions(cfg, logger, a.metrics.ObserveWebhook), ingestSources(cfg), countingSubmitter{a.router, a.metrics})
	if err != nil {
		return nil, err
	}
	a.status.Store(&admin.ReloadStatus{At: time.Now(), OK: true, Listeners: listenerNames(gen.Routes)})
	return a, nil
}

// build compiles cfg's listeners into generation seq, reusing the
// unchanged scripts of prev. It returns the compiled set as well, for the
// next build to reuse.
func (a *App) build(cfg *config.Config, seq uint64, prev *script.Set) (*engine.Generation, *script.Set, error) {
	routes, err := cfg.Routes()
	if err != nil {
		return nil, nil, err
	}
	set, err := a.compile(routes, prev)
	if err != nil {
		return nil, nil, fmt.Errorf("compile scripts: %w", err)
	}
	return engine.NewGeneration(seq, routes, a.handlers(set)), set, nil
}

// openModules opens the host bindings scripts import from "switchboard".
func (a *App) openModules(ctx context.Context) ([]engine.Module, error) {
	appDB, modules, err := openBindings(ctx, a.cfg, a.logger)
	if err != nil {
		return nil, err
	}
	a.appDB = appDB
	return append(modules, kv.New(a.queue), emit.New(a.router)), nil
}

// openBindings opens the host modules that need only config (db, http,
// mail, ittybit); kv and emit need the queue and are added by the caller.
// The caller closes the returned database.
func openBindings(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*db.DB, []engine.Module, error) {
	web := hosthttp.New(httpOptions(cfg))
	mailer, err := mail.New(mailOptions(cfg, logger))
	if err != nil {
		return nil, nil, err
	}
	appDB, err := db.Open(ctx, dbOptions(cfg))
	if err != nil {
		return nil, nil, err
	}
	return appDB, []engine.Module{appDB, web, mailer, ittybit.New(ittybitOptions(cfg), web.Client())}, nil
}

// countingSubmitter counts stored events per source for /metrics.
type countingSubmitter struct {
	*engine.Router
	metrics *admin.Metrics
}

func (c countingSubmitter) Submit(ctx context.Context, ev *engine.Event, payload any) (string, error) {
	id, err := c.Router.Submit(ctx, ev, payload)
	if err == nil {
		c.metrics.ObserveEnqueued(ev.Source)
	}
	return id, err
}

// Run binds the listeners, starts the workers and the watcher, and serves
// until ctx ends; then it shuts down gracefully (see Close).
func (a *App) Run(ctx context.Context) error {
	pub, err := net.Listen("tcp", a.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Server.Listen, err)
	}
	a.PublicAddr = pub.Addr()
	errc := make(chan error, 2)
	go func() { errc <- a.ingest.Serve(pub) }()
	a.serving = true

	if a.cfg.Admin.Listen != "" {
		if err := a.startAdmin(errc); err != nil {
			return err
		}
	}
	a.pool.Start(ctx)
	a.startConsole(ctx)
	if err := a.watch(ctx); err != nil {
		return err
	}
	close(a.Ready)
	a.logServing()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func (a *App) startAdmin(errc chan<- error) error {
	token := a.cfg.Admin.Token.Reveal()
	if token == "" {
		var err error
		if token, err = writeTokenFile(a.cfg); err != nil {
			return err
		}
	}
	srv, err := admin.New(admin.Options{
		Token:   token,
		Store:   a.queue,
		Metrics: a.metrics,
		Replay:  a.router.Replay,
		KV:      a.queue,
		Status:  func() admin.ReloadStatus { return *a.status.Load() },
		Routes:  a.router.Routes,
		History: a.history,
		Logger:  a.logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("listen admin %s: %w", a.cfg.Admin.Listen, err)
	}
	a.admin, a.AdminAddr = srv, ln.Addr()
	go func() { errc <- srv.Serve(ln) }()
	return nil
}

// Close shuts down in this order: stop reloading, stop accepting webhooks
// and admin requests, stop the workers (running jobs get until ctx ends,
// then are interrupted), stop the script processes if scripts run in
// them, then close the application database and the
// queue with a fresh deadline of their own, so an exhausted grace period
// does not cut the queue's last commit short. Components that never
// started are skipped. Safe to call more than once; later calls return
// the first one's error.
func (a *App) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var errs []error
		step := func(running bool, stop func(context.Context) error, ctx context.Context) {
			if running {
				if err := stop(ctx); err != nil {
					errs = append(errs, err)
				}
			}
		}
		a.reloadMu.Lock()
		w := a.watcher
		a.reloadMu.Unlock()
		step(w != nil, func(context.Context) error { return w.Close() }, ctx)
		step(a.serving, a.ingest.Shutdown, ctx)
		step(a.admin != nil, func(ctx context.Context) error { return a.admin.Shutdown(ctx) }, ctx)
		step(a.pool != nil, func(ctx context.Context) error { return a.pool.Stop(ctx) }, ctx)
		// After the workers: their last attempts reach the history.
		step(a.alerts != nil, func(ctx context.Context) error { return a.alerts.Close(ctx) }, cleanup)
		step(a.history != nil, func(ctx context.Context) error { return a.history.Close(ctx) }, cleanup)
		step(a.iso != nil, a.iso.Close, cleanup)
		step(a.appDB != nil, func(context.Context) error { return a.appDB.Close() }, cleanup)
		step(a.queue != nil, func(ctx context.Context) error { return a.queue.Close(ctx) }, cleanup)
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// writeTokenFile makes a random admin token for this run and writes it
// where the CLI on this machine looks (0600: only this user can read it).
func writeTokenFile(cfg *config.Config) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	path := tokenFile(cfg)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return token, nil
}

func tokenFile(cfg *config.Config) string { return cfg.AdminTokenFile() }

func listenerNames(r *engine.Routes) []string {
	var names []string
	for _, l := range r.Listeners {
		names = append(names, l.Name)
	}
	return names
}
