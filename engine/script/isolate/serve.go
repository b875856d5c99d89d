package isolate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// maxParentFrame bounds a frame the child reads. The parent is trusted
// and the child's own memory cap bounds the rest.
const maxParentFrame = 1 << 30

// maxScripts is how many compiled scripts (each with its runtimes) a
// child keeps; the least recently used is dropped past it.
const maxScripts = 64

// Serve is the child's side: it speaks the protocol on in and out until
// in ends, then returns; ctl carries the parent's interrupts (a pipe of
// their own, read on a goroutine of their own, so they reach a script
// that is deep in JS while the data pipe is read only by the goroutine
// running it). It reads no file: scripts arrive as bundles, options in
// the parent's hello. exit ends the process when the parent goes away
// while a script still runs (a loop the parent gave up on); nil means
// os.Exit.
func Serve(in io.Reader, out io.Writer, ctl io.Reader, exit func(code int)) error {
	if exit == nil {
		exit = os.Exit
	}
	s := &server{thrown: map[uint64]error{}, callbacks: map[uint64]goja.Callable{}, exit: exit}
	s.w = newWire(in, out, maxParentFrame)
	s.dec = &decoder{fn: s.parentFunc}
	if err := s.w.sendPlain(msg{"k": kUp, "v": int64(protocolVersion), "pid": int64(os.Getpid())}); err != nil {
		return fmt.Errorf("script host: greet: %w", err)
	}
	hello, err := s.w.receive(s.dec)
	if err != nil {
		return fmt.Errorf("script host: read hello: %w", err)
	}
	if err := s.setup(hello); err != nil {
		return fmt.Errorf("script host: %w", err)
	}
	if err := s.w.sendPlain(msg{"k": kReady}); err != nil {
		return err
	}
	go s.control(ctl)
	for {
		m, err := s.w.receive(s.dec)
		if errors.Is(err, io.EOF) {
			return nil // the parent closed the pipe: done
		}
		if err != nil {
			return fmt.Errorf("script host: %w", err)
		}
		switch m.kind() {
		case kRun:
			err = s.attempt(m)
		case kCheck:
			err = s.check(m)
		default:
			err = fmt.Errorf("unexpected %q between attempts", m.kind())
		}
		if err != nil {
			return fmt.Errorf("script host: %w", err)
		}
	}
}

// server is the child's state. Everything but the interrupt fields is
// used only by the goroutine running Serve (the attempt's JS runs there).
type server struct {
	w       *wire
	dec     *decoder
	enc     encoder
	exit    func(int)
	engine  *script.Engine
	scripts lru
	budget  int64 // MaxAllocBytes: what one call's arguments may cost
	logger  *slog.Logger
	names   map[uint64]string // the parent's functions, "db.query"

	// The current attempt's functions the parent may call back (db.tx's
	// callback) and what they threw, by handle; both reset per attempt.
	callbacks map[uint64]goja.Callable
	thrown    map[uint64]error
	nextID    uint64

	mu          sync.Mutex // guards what the reader goroutine touches
	running     int64      // the attempt under way, 0 between attempts
	cancel      context.CancelFunc
	interrupted int64 // the latest attempt the parent interrupted
}

// setup applies the hello: budgets, the host modules' shape, the engine.
func (s *server) setup(h msg) error {
	if h.kind() != kHello || h.int("v") != protocolVersion {
		return fmt.Errorf("hello: want protocol %d, got %q version %d", protocolVersion, h.kind(), h.int("v"))
	}
	s.budget = h.int("alloc")
	s.names = map[uint64]string{}
	for i, n := range h.list("names") {
		name, _ := n.(string)
		s.names[uint64(i+1)] = name
	}
	s.logger = slog.New(&forward{s: s, level: slog.Level(h.int("level"))})
	var modules []engine.Module
	for name, v := range h.obj("modules") {
		modules = append(modules, proxyModule{name: name, value: v})
	}
	s.engine = script.NewEngine(modules, script.Options{
		MemoryLimit:      h.int("watch"),
		MaxAllocBytes:    s.budget,
		MaxCallStackSize: int(h.int("stack")),
		Logger:           s.logger,
	})
	return nil
}

// control applies the parent's interrupts. When the parent is gone
// (the pipe ends) during an attempt, nothing is left to do but end the
// process: the script may be deep in a loop that will not return.
func (s *server) control(ctl io.Reader) {
	w := newWire(ctl, io.Discard, 1<<10)
	dec := &decoder{}
	for {
		m, err := w.receive(dec)
		if err != nil {
			s.mu.Lock()
			busy := s.running != 0
			s.mu.Unlock()
			if busy {
				s.exit(0)
			}
			return
		}
		if m.kind() == kInterrupt {
			s.interrupt(m.int("n"))
		}
	}
}

func (s *server) interrupt(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interrupted = max(s.interrupted, n)
	if s.running == n && s.cancel != nil {
		s.cancel()
	}
}

// check compiles the bundle of a "check" message and runs the default
// export check, as script.Compile would in-process; the script is then
// kept for the attempts that follow.
func (s *server) check(m msg) error {
	sc, err := script.CheckBundle(bundleOf(m.str("hash"), m.obj("bundle")))
	if err == nil {
		s.scripts.put(sc.Hash, sc)
	}
	return s.w.sendPlain(msg{"k": kChecked, "n": m.int("n"), "e": encodeError(err)})
}

func bundleOf(hash string, b msg) script.Bundle {
	return script.Bundle{Path: b.str("path"), Name: b.str("name"), Hash: hash, Code: b.str("code"), SourceMap: []byte(b.str("map"))}
}

// attempt runs one "run" message: loads the bundle it carries, or asks
// for it, then runs the script and reports how it ended.
func (s *server) attempt(m msg) error {
	n, hash := m.int("n"), m.str("hash")
	sc := s.scripts.get(hash)
	if b := m.obj("bundle"); b != nil && sc == nil {
		var err error
		if sc, err = script.LoadBundle(bundleOf(hash, b)); err != nil {
			return s.done(n, err)
		}
		s.scripts.put(hash, sc)
	}
	if sc == nil {
		return s.w.sendPlain(msg{"k": kNeed, "n": n, "hash": hash})
	}
	ctx, cancel := context.WithCancel(context.Background())
	if dl := m.int("deadline"); dl != 0 {
		ctx, cancel = context.WithDeadline(context.Background(), time.Unix(0, dl))
	}
	s.mu.Lock()
	s.running, s.cancel = n, cancel
	if s.interrupted >= n {
		cancel()
	}
	s.mu.Unlock()
	inv := &engine.Invocation{Ctx: ctx, Event: eventOf(m.obj("event")), Job: jobOf(m.obj("job")), Logger: s.logger}
	err := s.engine.Run(ctx, sc, inv)
	s.mu.Lock()
	s.running, s.cancel = 0, nil
	s.mu.Unlock()
	cancel()
	clear(s.callbacks)
	clear(s.thrown)
	return s.done(n, err)
}

// done reports attempt n's end. A message too long for the parent's
// budget (a thrown 50 MiB string) is cut.
func (s *server) done(n int64, err error) error {
	e := encodeError(err)
	if e != nil {
		for _, k := range []string{"m", "s"} {
			if t, ok := e[k].(string); ok && len(t) > maxErrorText {
				e[k] = t[:maxErrorText] + "… (cut)"
			}
		}
	}
	return s.w.sendPlain(msg{"k": kDone, "n": n, "e": e})
}

// maxErrorText bounds an error's message and stack as reported.
const maxErrorText = 64 << 10

// eventOf and jobOf rebuild what the handler's event and job arguments
// are made from; the parent's eventMsg and jobMsg wrote them.
func eventOf(o map[string]any) *engine.Event {
	if o == nil {
		return nil
	}
	m := msg(o)
	ev := &engine.Event{ID: m.str("id"), Name: m.str("name"), Source: m.str("source"), Parent: m.str("parent"),
		Payload: []byte(m.str("payload"))}
	if at, ok := m["receivedAt"].(int64); ok {
		ev.ReceivedAt = time.Unix(0, at)
	}
	if h := m.obj("headers"); len(h) > 0 {
		ev.Headers = make(map[string]string, len(h))
		for k, v := range h {
			ev.Headers[k], _ = v.(string)
		}
	}
	return ev
}

func jobOf(o map[string]any) *engine.Job {
	if o == nil {
		return nil
	}
	m := msg(o)
	return &engine.Job{ID: m.str("id"), Listener: m.str("listener"), Attempt: int(m.int("attempt")),
		MaxTries: int(m.int("maxTries")), OrderKey: m.str("orderKey")}
}

// lru holds compiled scripts by hash, dropping the least recently used.
type lru struct {
	byHash map[string]*script.Script
	order  []string // most recent last
}

func (l *lru) get(hash string) *script.Script {
	sc := l.byHash[hash]
	if sc != nil {
		l.touch(hash)
	}
	return sc
}

func (l *lru) put(hash string, sc *script.Script) {
	if l.byHash == nil {
		l.byHash = map[string]*script.Script{}
	}
	l.byHash[hash] = sc
	l.touch(hash)
	if len(l.order) > maxScripts {
		delete(l.byHash, l.order[0])
		l.order = l.order[1:]
	}
}

func (l *lru) touch(hash string) {
	for i, h := range l.order {
		if h == hash {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
	l.order = append(l.order, hash)
}
