package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/emit"
	"github.com/switchboard/switchboard/engine/host/kv"
	"github.com/switchboard/switchboard/engine/script"
)

// cmdRun runs one listener once, in this process, on a payload file. With
// --dry-run every side effect (db writes, http, mail, ittybit, kv writes,
// emit) is printed instead of done; db reads still run. Exits non-zero if
// the script throws.
func cmdRun(ctx context.Context, args []string, w io.Writer) error {
	f := newFlags("run")
	dry := f.Bool("dry-run", false, "record db/http/mail/ittybit/kv/emit calls instead of making them")
	eventName := f.String("event", "", "event name (default: the listener's first `on` name)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: run [--dry-run] LISTENER PAYLOAD.json", errUsage)
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	routes, err := cfg.Routes()
	if err != nil {
		return err
	}
	l := routes.Listener(pos[0])
	if l == nil {
		return fmt.Errorf("no listener named %q (have: %s)", pos[0], strings.Join(listenerNames(routes), ", "))
	}
	payload, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	if !json.Valid(payload) {
		return fmt.Errorf("%s is not JSON", pos[1])
	}
	s, err := script.Compile(l.Script)
	if err != nil {
		return err
	}
	name := *eventName
	if name == "" {
		name = l.On[0]
	}
	now := time.Now()
	ev := &engine.Event{ID: fmt.Sprintf("run_%d", now.UnixNano()), Name: name, Source: "run", ReceivedAt: now, Payload: payload}
	job := &engine.Job{ID: ev.ID + "_" + l.Name, EventID: ev.ID, Listener: l.Name, State: engine.JobRunning, Attempt: 1, MaxTries: l.Tries}

	logger := newLogger(cfg.Log, os.Stderr)
	modules, closeAll, err := localModules(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeAll()
	eng := script.NewEngine(modules, scriptOptions(cfg, logger))

	runCtx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	inv := &engine.Invocation{Ctx: runCtx, Event: ev, Job: job,
		Logger: logger.With("listener", l.Name, "event", ev.ID, "attempt", 1)}
	var rec *printRecorder
	if *dry {
		rec = &printRecorder{w: w}
		inv.Recorder = rec
	}
	start := time.Now()
	runErr := eng.Run(runCtx, s, inv)
	took := time.Since(start).Round(time.Microsecond)
	if rec != nil {
		fmt.Fprintf(w, "dry run: %d call(s) recorded\n", rec.n)
	}
	return reportRun(w, l, engine.Classify(runErr, runCtx.Err(), l.Timeout, false), took)
}

// reportRun prints how a one-off run ended; a failure is the returned
// error (exit 1), with the script's stack when it threw.
func reportRun(w io.Writer, l *engine.Listener, end engine.Ending, took time.Duration) error {
	switch end.Outcome {
	case engine.Succeeded:
		fmt.Fprintf(w, "%s finished in %s\n", l.Name, took)
		return nil
	case engine.Snoozed:
		fmt.Fprintf(w, "%s snoozed for %s after %s (a worker would run it again then)\n", l.Name, end.SnoozeFor, took)
		return nil
	}
	e := end.Err
	if e.Kind == engine.KindCancel {
		return fmt.Errorf("%s cancelled after %s: %s (a worker would not retry it)", l.Name, took, e.Message)
	}
	if e.Stack != "" {
		return fmt.Errorf("%s failed after %s (%s): %s\n%s", l.Name, took, e.Kind, e.Message, e.Stack)
	}
	return fmt.Errorf("%s failed after %s (%s): %s", l.Name, took, e.Kind, e.Message)
}

// localModules opens the host bindings for a one-off run. kv and emit
// need the queue. The embedded queue's file is locked while a server
// runs: then kv reads go through the server's admin API, and kv writes
// and emit (which a dry run records instead of making) throw a clear
// error.
func localModules(ctx context.Context, cfg *config.Config, logger *slog.Logger) ([]engine.Module, func(), error) {
	appDB, modules, err := openBindings(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	routes, err := cfg.Routes()
	if err != nil {
		appDB.Close()
		return nil, nil, err
	}
	q, err := openQueue(ctx, cfg, logger)
	if err != nil {
		held := fmt.Errorf("the queue is not available to `switchboard run` (%w): stop the server, or run with --dry-run to record kv writes and emits instead", err)
		modules = append(modules, kv.New(serverKV{client: runAdminClient(cfg), held: held}), emit.New(failingSubmitter{held}))
		return modules, func() { appDB.Close() }, nil
	}
	modules = append(modules, kv.New(q), emit.New(engine.NewRouter(q, engine.NewGeneration(1, routes, nil))))
	return modules, func() { q.Close(context.Background()); appDB.Close() }, nil
}

// serverKV reads kv through the running server's admin API; writes need
// the queue itself.
type serverKV struct {
	client *admin.Client // nil: no admin API to ask
	held   error
}

func (s serverKV) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if s.client == nil {
		return nil, false, s.held
	}
	v, ok, err := s.client.KVGet(ctx, ns, key)
	if err != nil {
		return nil, false, fmt.Errorf("read kv through the running server's admin API: %w", err)
	}
	return v, ok, nil
}
func (s serverKV) KVSet(context.Context, string, string, []byte, time.Duration) error { return s.held }
func (s serverKV) KVDelete(context.Context, string, string) error                     { return s.held }

// runAdminClient is the admin client of the server cfg describes, nil if
// its admin API is off or its token unknown.
func runAdminClient(cfg *config.Config) *admin.Client {
	f := newAdminFlags("run")
	f.config = cfg.Path
	c, err := f.client()
	if err != nil {
		return nil
	}
	return c
}

type failingSubmitter struct{ err error }

func (f failingSubmitter) Submit(context.Context, *engine.Event, any) (string, error) {
	return "", f.err
}

// printRecorder prints each recorded call as "→ module.fn args…".
type printRecorder struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (r *printRecorder) Record(module, fn string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	parts := make([]string, 0, len(args))
	for _, a := range args {
		b, err := json.Marshal(a) // map keys come out sorted
		if err != nil {
			b = []byte(fmt.Sprintf("%v", a))
		}
		parts = append(parts, string(b))
	}
	fmt.Fprintf(r.w, "→ %s.%s(%s)\n", module, fn, strings.Join(parts, ", "))
}

// scriptOptions turns [scripts] into the engine's limits.
func scriptOptions(cfg *config.Config, logger *slog.Logger) script.Options {
	return script.Options{MemoryLimit: int64(cfg.Scripts.MemoryLimit), MaxCallStackSize: cfg.Scripts.MaxCallStack, Logger: logger}
}
