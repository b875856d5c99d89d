package isolate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// checkTimeout bounds one script's compile check in the checker child.
const checkTimeout = 10 * time.Second

// Check is a script.Checker: it compiles b in a child process kept for
// checks (apart from the attempts' children, so a reload never waits
// for a running job) and returns the compile errors script.Compile
// would. A check that ends the child (goja folding a constant past the
// memory cap) or passes checkTimeout is a *script.CompileError saying
// so; the router process runs none of the script's code.
func (p *Pool) Check(b script.Bundle) error {
	p.checkMu.Lock()
	defer p.checkMu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("check %s: script processes: %w", b.Name, engine.ErrClosed)
	}
	if p.checker == nil || p.checker.dead || p.checker.exitedNow() {
		pr, err := p.spawn(context.Background())
		if err != nil {
			return fmt.Errorf("check %s: %w", b.Name, err)
		}
		p.checker = pr
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	err := p.checker.check(ctx, b)
	if p.checker.dead {
		p.checker.stop()
		p.checker = nil
		why := "compiling it ended its script process: " + err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			why = fmt.Sprintf("compiling it did not finish within %s (its script process was killed)", checkTimeout)
		}
		return &script.CompileError{File: b.Name, Message: why}
	}
	return err
}

// check sends b to be compiled and waits for the answer.
func (pr *proc) check(ctx context.Context, b script.Bundle) error {
	pr.seq++
	a := &attempt{ctx: ctx, start: time.Now(), n: pr.seq}
	pr.att = a
	unwatch := pr.watch(a)
	defer func() {
		unwatch()
		pr.att = nil
		pr.dropAttemptHandles()
	}()
	if err := pr.w.sendPlain(msg{"k": kCheck, "n": a.n, "hash": b.Hash, "bundle": bundleMsg(b)}); err != nil {
		return pr.death(a)
	}
	m, err := pr.wait(a)
	switch {
	case err != nil:
		return err
	case m.kind() != kChecked || m.int("n") != a.n:
		return pr.broken(a, fmt.Errorf("unexpected %q for check %d", m.kind(), a.n))
	}
	return decodeError(m.obj("e"))
}
