package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// Options tunes an Engine. Zero values take the defaults.
type Options struct {
	// MaxCallStackSize bounds JS recursion (default 1024 frames); deeper
	// calls fail the attempt with a RangeError.
	MaxCallStackSize int
	// MemoryLimit is the Go heap size past which running attempts are
	// interrupted (default 512 MiB). See the package doc.
	MemoryLimit int64
	// MaxAllocBytes is the most one call of an allocating built-in
	// (repeat, padStart, join, typed arrays…) may create (default
	// MemoryLimit/8).
	MaxAllocBytes int64
	// MaxIdle is how many evaluated runtimes are kept per script (default 8).
	MaxIdle int
	// WatchInterval is how often the heap is sampled while scripts run
	// (default 5ms).
	WatchInterval time.Duration
	// Logger receives console and log output when no job is current (a
	// script's top level); jobs log to their Invocation's Logger.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxCallStackSize <= 0 {
		o.MaxCallStackSize = 1024
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 512 << 20
	}
	if o.MaxAllocBytes <= 0 {
		o.MaxAllocBytes = o.MemoryLimit / 8
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 8
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = 5 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Engine runs compiled scripts with a fixed set of host modules. It is
// safe for concurrent use; each Run gets a runtime of its own.
type Engine struct {
	modules []engine.Module
	opts    Options
	watch   *watchdog
	created atomic.Int64
}

// NewEngine returns an Engine whose scripts see modules as named exports
// of "switchboard", beside the built-in log, snooze and cancel.
func NewEngine(modules []engine.Module, opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{modules: modules, opts: opts, watch: newWatchdog(opts.MemoryLimit, opts.WatchInterval)}
}

// Stats are counters for metrics and tests.
type Stats struct {
	RuntimesCreated int64 // runtimes built (a script's top level ran)
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats { return Stats{RuntimesCreated: e.created.Load()} }

// Run calls s's default export with inv's event and job and waits for it
// to finish, including a returned promise. It returns nil on success,
// *engine.SnoozeError or *engine.CancelError when the script asked for
// them, an error wrapping ctx.Err() when ctx ended first ("listener timed
// out after 30s"), one wrapping ErrMemoryLimit when the heap watchdog
// stopped it, and *Exception when the script threw.
func (e *Engine) Run(ctx context.Context, s *Script, inv *engine.Invocation) error {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return ContextError(ctx, start, err)
	}
	if inv.Ctx == nil {
		c := *inv
		c.Ctx = ctx
		inv = &c
	}
	p := e.pool(s)
	r := p.get()
	if r == nil {
		var err error
		if r, err = newRuntime(s, e.modules, e.opts); err != nil {
			return fmt.Errorf("prepare runtime for %s: %w", s.Name, err)
		}
		e.created.Add(1)
	}

	r.cur.Store(inv)
	e.watch.enter(r)
	stop := context.AfterFunc(ctx, func() { r.vm.Interrupt(ctx.Err()) })
	err := e.call(r, s, inv)
	interrupted := !stop()
	e.watch.leave(r)
	r.cur.Store(nil)

	switch {
	case r.overLimit.Load():
		return fmt.Errorf("listener stopped: %w (heap above %d MiB)", ErrMemoryLimit, e.opts.MemoryLimit>>20)
	case err != nil && ctx.Err() != nil:
		return ContextError(ctx, start, ctx.Err())
	}
	var overflow *goja.StackOverflowError
	if !interrupted && !errors.As(err, &overflow) && r.evaluated {
		p.put(r)
	}
	if err != nil {
		return scriptError(err)
	}
	return nil
}

// call evaluates the module if needed and calls its default export.
func (e *Engine) call(r *Runtime, s *Script, inv *engine.Invocation) error {
	if !r.evaluated {
		if err := r.evaluate(s); err != nil {
			return err
		}
	}
	ev, err := eventValue(r.vm, inv.Event)
	if err != nil {
		return err
	}
	ret, err := r.handle(goja.Undefined(), ev, jobValue(r.vm, inv.Job))
	if err != nil {
		return err
	}
	// goja settles promises on the runtime's job queue before the call
	// returns; with no timers nothing can settle one later.
	if o, ok := ret.(*goja.Object); ok {
		if p, ok := o.Export().(*goja.Promise); ok {
			switch p.State() {
			case goja.PromiseStateRejected:
				return rejection(p.Result())
			case goja.PromiseStatePending:
				return &Exception{Message: "listener returned a promise that never settled (there are no timers: await only values and bindings)"}
			}
		}
	}
	return nil
}

// ContextError says an attempt ran out of time (or was cancelled) in
// the words every runner uses; start is when the attempt began.
func ContextError(ctx context.Context, start time.Time, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		took := time.Since(start)
		if dl, ok := ctx.Deadline(); ok {
			took = dl.Sub(start)
		}
		return fmt.Errorf("listener timed out after %s: %w", took.Round(time.Millisecond), err)
	}
	return fmt.Errorf("listener interrupted: %w", err)
}

// pool returns s's free list of runtimes built by e.
func (e *Engine) pool(s *Script) *pool {
	if p, ok := s.pools.Load(e); ok {
		return p.(*pool)
	}
	p, _ := s.pools.LoadOrStore(e, &pool{max: e.opts.MaxIdle})
	return p.(*pool)
}

// pool is a bounded free list of evaluated runtimes of one script. A
// runtime is in the list or in exactly one Run, never both.
type pool struct {
	mu   sync.Mutex
	free []*Runtime
	max  int
}

func (p *pool) get() *Runtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return nil
	}
	r := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	return r
}

func (p *pool) put(r *Runtime) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < p.max {
		p.free = append(p.free, r)
	}
}
