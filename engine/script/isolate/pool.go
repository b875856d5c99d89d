package isolate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// Options configure a Pool. Zero values take the defaults.
type Options struct {
	// Modules are the host bindings scripts import from "switchboard".
	// They run in this process, for the attempt's engine.Invocation.
	Modules []engine.Module
	// Processes is how many child processes run scripts, each one attempt
	// at a time (default 1).
	Processes int
	// MemoryLimit is what each child may use beyond its start-up
	// footprint: its RLIMIT_DATA, set by this process (default 512 MiB).
	// Its heap watchdog stops attempts at half of it, GOMEMLIMIT is set
	// to it, and one built-in call may create MemoryLimit/8, as
	// in-process.
	MemoryLimit int64
	// MaxCallStackSize bounds JS recursion (default 1024 frames).
	MaxCallStackSize int
	// Command returns the command that starts one child: a program that
	// calls Serve on its stdin and stdout (switchboard's hidden
	// script-host verb). Required. Its Env, when nil, stays empty but for
	// GOMEMLIMIT: the router's secrets do not reach the child.
	Command func() *exec.Cmd
	// Grace is how long a child has to stop after its attempt's context
	// ends before it is killed (default 1s).
	Grace time.Duration
	// StartTimeout bounds a child's start-up handshake (default 10s).
	StartTimeout time.Duration
	// Logger receives what a child logs outside any attempt and the
	// reasons children die.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Processes <= 0 {
		o.Processes = 1
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 512 << 20
	}
	if o.MaxCallStackSize <= 0 {
		o.MaxCallStackSize = 1024
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// budget is what one call of a built-in may create, and what one binding
// call's arguments may cost: MemoryLimit/8, as in-process.
func (o Options) budget() int64 { return o.MemoryLimit / 8 }

// Pool runs scripts in child processes. It is safe for concurrent use;
// New → Run… → Close.
type Pool struct {
	opts  Options
	slots chan *proc // Processes entries; nil: a child to start

	mu     sync.Mutex
	live   map[*proc]struct{}
	closed bool

	checkMu sync.Mutex
	checker *proc // compiles scripts for Check

	started atomic.Int64
	died    atomic.Int64
	bundles atomic.Int64
}

// New returns a Pool. It starts no process: each child starts when an
// attempt first needs it, and a child that died is replaced by the next
// attempt that needs one.
func New(opts Options) (*Pool, error) {
	opts = opts.withDefaults()
	if opts.Command == nil {
		return nil, errors.New("script processes: no command to start them")
	}
	if err := capSupported(); err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, slots: make(chan *proc, opts.Processes), live: map[*proc]struct{}{}}
	for range opts.Processes {
		p.slots <- nil
	}
	return p, nil
}

// Stats are counters for tests and metrics.
type Stats struct {
	Started int64 // child processes started
	Died    int64 // children that ended other than by Close
	Live    int   // children running now
	Bundles int64 // scripts sent to a child that lacked them
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Started: p.started.Load(), Died: p.died.Load(), Live: len(p.live), Bundles: p.bundles.Load()}
}

// Handlers binds every listener's script in set to p: the handlers of an
// engine.Generation, as script.Set.Handlers makes them in-process.
func (p *Pool) Handlers(set *script.Set) map[string]engine.Handler {
	out := map[string]engine.Handler{}
	for _, name := range set.Listeners() {
		out[name] = Handler{Pool: p, Script: set.Script(name)}
	}
	return out
}

// Handler runs one compiled script in p's children: an engine.Handler.
type Handler struct {
	Pool   *Pool
	Script *script.Script
}

// Run runs the script; see Pool.Run.
func (h Handler) Run(ctx context.Context, inv *engine.Invocation) error {
	return h.Pool.Run(ctx, h.Script, inv)
}

// Run runs sc's default export for inv in a child process and returns
// what script.Engine.Run would: nil, *engine.SnoozeError,
// *engine.CancelError, *script.Exception (message, stack in the
// original files, the binding's error as its cause), an error wrapping
// ctx.Err() when ctx ended first, one wrapping engine.ErrMemoryLimit when
// the child's watchdog stopped it or the child died at its memory cap,
// and one wrapping engine.ErrCrashed when the child died otherwise.
// Waiting for a free child counts against ctx.
func (p *Pool) Run(ctx context.Context, sc *script.Script, inv *engine.Invocation) error {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return script.ContextError(ctx, start, err)
	}
	if inv.Ctx == nil {
		c := *inv
		c.Ctx = ctx
		inv = &c
	}
	pr, err := p.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return script.ContextError(ctx, start, ctx.Err())
		}
		return err
	}
	defer p.release(pr)
	return pr.run(&attempt{ctx: ctx, start: start}, sc, inv)
}

// acquire takes a free child, starting one if its slot has none.
func (p *Pool) acquire(ctx context.Context) (*proc, error) {
	var pr *proc
	select {
	case pr = <-p.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.slots <- pr
		return nil, fmt.Errorf("script processes: %w", engine.ErrClosed)
	}
	if pr != nil && !pr.dead && !pr.exitedNow() {
		return pr, nil
	}
	// A child starts under its own timeout: if this attempt's context
	// ends first, the child still comes up for the next attempt.
	started := make(chan spawned, 1)
	go func() {
		pr, err := p.spawn(context.Background())
		started <- spawned{pr, err}
	}()
	select {
	case s := <-started:
		if s.err != nil {
			p.slots <- nil
			return nil, s.err
		}
		return s.pr, nil
	case <-ctx.Done():
		go func() {
			s := <-started
			p.slots <- s.pr // nil when it failed
		}()
		return nil, ctx.Err()
	}
}

type spawned struct {
	pr  *proc
	err error
}

func (p *Pool) release(pr *proc) {
	if pr.dead {
		pr.stop()
		p.slots <- nil
		return
	}
	p.slots <- pr
}

// forget drops a child that has exited.
func (p *Pool) forget(pr *proc, byClose bool) {
	p.mu.Lock()
	delete(p.live, pr)
	p.mu.Unlock()
	if !byClose {
		p.died.Add(1)
	}
}

// Close stops every child: each gets EOF on its stdin and exits; one
// that has not exited when ctx ends (or within 2s) is killed. Run fails
// with engine.ErrClosed afterwards. Close is idempotent.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	procs := make([]*proc, 0, len(p.live))
	for pr := range p.live {
		procs = append(procs, pr)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, pr := range procs {
		pr.closing.Store(true)
		pr.w.closeWrite()
	}
	for _, pr := range procs {
		select {
		case <-pr.exited:
		case <-ctx.Done():
			pr.kill()
			<-pr.exited
		}
	}
	return nil
}
