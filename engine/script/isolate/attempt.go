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

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// attempt is one Run on one child.
type attempt struct {
	ctx     context.Context
	start   time.Time
	n       int64
	graceAt time.Time // set once ctx ended and the child was interrupted
	killed  bool      // the grace ran out
}

// run sends the attempt, then serves the child's calls and logs until it
// reports the end, sending the bundle if the child asks for it.
func (pr *proc) run(a *attempt, sc *script.Script, inv *engine.Invocation) error {
	pr.seq++
	a.n = pr.seq
	pr.att = a
	pr.cur.Store(inv)
	unwatch := pr.watch(a)
	defer func() {
		unwatch()
		pr.att = nil
		pr.cur.Store(nil)
		pr.dropAttemptHandles()
	}()
	if err := pr.w.sendPlain(runMsg(a, sc, inv, false)); err != nil {
		return pr.death(a)
	}
	sent := false
	for {
		m, err := pr.wait(a)
		if err != nil {
			return err
		}
		switch {
		case m.kind() == kNeed && !sent && m.int("n") == a.n:
			sent = true
			pr.pool.bundles.Add(1)
			if err := pr.w.sendPlain(runMsg(a, sc, inv, true)); err != nil {
				return pr.death(a)
			}
		case m.kind() == kDone && m.int("n") == a.n:
			return pr.outcome(a, decodeError(m.obj("e")))
		default:
			return pr.broken(a, fmt.Errorf("unexpected %q for attempt %d", m.kind(), a.n))
		}
	}
}

// broken kills a child that broke the protocol and reports the attempt
// as crashed.
func (pr *proc) broken(a *attempt, err error) error {
	pr.protoErr = err
	pr.kill()
	return pr.death(a)
}

// watch makes a read of the child's stdout return when a's context
// ends (a deadline in the past), so that next can interrupt the child;
// the returned func undoes it.
func (pr *proc) watch(a *attempt) func() {
	var mu sync.Mutex
	over := false
	stop := context.AfterFunc(a.ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			pr.out.SetReadDeadline(time.Now())
		}
	})
	return func() {
		stop()
		mu.Lock()
		over = true
		mu.Unlock()
		pr.out.SetReadDeadline(time.Time{})
	}
}

// outcome words the child's own stops for this process: a timeout
// counts from when Run was called here (the child started later), and
// its heap watchdog's limit is half the cap.
func (pr *proc) outcome(a *attempt, err error) error {
	var ex *script.Exception
	switch {
	case err == nil || errors.As(err, &ex):
	case errors.Is(err, engine.ErrMemoryLimit):
		return fmt.Errorf("listener stopped: %w (its script process's heap passed %s, half of scripts.memory_limit)", engine.ErrMemoryLimit, mib(pr.pool.opts.MemoryLimit/2))
	case (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) && a.ctx.Err() != nil:
		// The child's clock and the interrupt race: the parent's context
		// says which it was.
		return script.ContextError(a.ctx, a.start, a.ctx.Err())
	}
	return err
}

// wait returns the child's next message that is not a call or a log,
// serving those meanwhile.
func (pr *proc) wait(a *attempt) (msg, error) {
	for {
		m, err := pr.next(a)
		if err != nil {
			return nil, err
		}
		switch m.kind() {
		case kLog:
			pr.log(m)
		case kCall:
			pr.answer(m)
		default:
			return m, nil
		}
	}
}

// next returns the child's next message, read on this goroutine. When
// the attempt's context ends (watch cuts the read short) it interrupts
// the child, and kills it if it has not finished within the grace; a
// child that is gone, or sent bytes that are no message, is reported by
// death.
func (pr *proc) next(a *attempt) (msg, error) {
	for {
		m, err := pr.w.receive(pr.dec)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, os.ErrClosed) {
				pr.protoErr = err
				pr.kill()
			}
			return nil, pr.death(a)
		}
		switch {
		case a.ctx.Err() == nil: // not this attempt's deadline
			pr.out.SetReadDeadline(time.Time{})
		case a.graceAt.IsZero():
			_ = pr.ctl.sendPlain(msg{"k": kInterrupt, "n": a.n})
			a.graceAt = time.Now().Add(pr.pool.opts.Grace)
			pr.out.SetReadDeadline(a.graceAt)
		default:
			a.killed = true
			pr.kill()
			pr.out.SetReadDeadline(time.Time{}) // read on to the end
		}
	}
}

// log writes a child's log record with the attempt's logger.
func (pr *proc) log(m msg) {
	logger := pr.pool.opts.Logger
	ctx := context.Background()
	if inv := pr.cur.Load(); inv != nil {
		if inv.Logger != nil {
			logger = inv.Logger
		}
		ctx = inv.Ctx
	}
	pairs := m.list("attrs")
	attrs := make([]any, 0, len(pairs))
	for _, p := range pairs {
		if kv, ok := p.([]any); ok && len(kv) == 2 {
			k, _ := kv[0].(string)
			attrs = append(attrs, slog.Any(k, kv[1]))
		}
	}
	logger.Log(ctx, slog.Level(m.int("level")), m.str("msg"), attrs...)
}

// runMsg describes the attempt: the script by hash (with its bundle when
// the child needs it), the deadline, the event and the job.
func runMsg(a *attempt, sc *script.Script, inv *engine.Invocation, bundle bool) msg {
	m := msg{"k": kRun, "n": a.n, "hash": sc.Hash, "event": eventMsg(inv.Event), "job": jobMsg(inv.Job)}
	if dl, ok := a.ctx.Deadline(); ok {
		m["deadline"] = dl.UnixNano()
	}
	if bundle {
		m["bundle"] = bundleMsg(sc.Bundle())
	}
	return m
}

func bundleMsg(b script.Bundle) map[string]any {
	return map[string]any{"path": b.Path, "name": b.Name, "code": b.Code, "map": string(b.SourceMap)}
}

func eventMsg(ev *engine.Event) any {
	if ev == nil {
		return nil
	}
	headers := make(map[string]any, len(ev.Headers))
	for k, v := range ev.Headers {
		headers[k] = v
	}
	m := map[string]any{"id": ev.ID, "name": ev.Name, "source": ev.Source, "parent": ev.Parent,
		"headers": headers, "payload": string(ev.Payload)}
	if !ev.ReceivedAt.IsZero() {
		m["receivedAt"] = ev.ReceivedAt.UnixNano()
	}
	return m
}

func jobMsg(j *engine.Job) any {
	if j == nil {
		return nil
	}
	return map[string]any{"id": j.ID, "listener": j.Listener, "attempt": int64(j.Attempt),
		"maxTries": int64(j.MaxTries), "orderKey": j.OrderKey}
}
