package isolate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// The bridge is the parent's half of the "switchboard" module: one goja
// runtime per child whose only job is calling the real module exports
// (engine.Module.Exports) with the arguments a script passed, so goja's
// own argument conversion applies as in-process and the bindings run
// unchanged, for the attempt's Invocation.

// entry is a function the child may call.
type entry struct {
	fn   goja.Callable
	name string
}

// hello builds the bridge and describes it to the child: every module
// with its functions as handles, plus the child's budgets.
func (pr *proc) hello() msg {
	o := pr.pool.opts
	pr.vm = goja.New()
	pr.vm.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	pr.enc.fn = func(v any) uint64 { return pr.register(v, "") }
	modules := map[string]any{}
	for _, m := range o.Modules {
		modules[m.Name()] = pr.shape(m.Exports(pr.current), m.Name())
	}
	pr.permanent = pr.nextID
	names := make([]any, pr.nextID)
	for id, e := range pr.handles {
		names[id-1] = e.name
	}
	level := slog.LevelError + 1
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if o.Logger.Enabled(context.Background(), l) {
			level = l
			break
		}
	}
	return msg{"k": kHello, "v": int64(protocolVersion), "modules": modules, "names": names,
		"watch": o.MemoryLimit / 2, "alloc": o.budget(), "stack": int64(o.MaxCallStackSize), "level": int64(level)}
}

func (pr *proc) current() *engine.Invocation { return pr.cur.Load() }

// shape replaces the functions in a module's exports by handles.
func (pr *proc) shape(v any, name string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = pr.shape(item, name+"."+k)
		}
		return out
	}
	if v != nil && reflect.TypeOf(v).Kind() == reflect.Func {
		return handle(pr.register(v, name))
	}
	return v
}

// register makes the Go function v callable by the child and returns its
// handle. Handles made during an attempt (the tx object of db.tx) last
// until it ends.
func (pr *proc) register(v any, name string) uint64 {
	fn, ok := goja.AssertFunction(pr.vm.ToValue(v))
	if !ok {
		return 0
	}
	pr.nextID++
	pr.handles[pr.nextID] = entry{fn: fn, name: name}
	return pr.nextID
}

func (pr *proc) dropAttemptHandles() {
	for id := range pr.handles {
		if id > pr.permanent {
			delete(pr.handles, id)
		}
	}
}

// answer runs the binding the child called and sends its result, or the
// error the script is to see thrown.
func (pr *proc) answer(m msg) {
	e, ok := pr.handles[uint64(m.int("h"))]
	if !ok {
		pr.reply(kErr, map[string]any{"t": errJS, "name": "TypeError",
			"m": "this function is no longer callable: the call or transaction it came from has ended"})
		return
	}
	args := m.list("args")
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = jsValue(pr.vm, a)
	}
	res, err := e.fn(goja.Undefined(), vals...)
	if err != nil {
		pr.reply(kErr, callError(err))
		return
	}
	var v any = undefined
	if !goja.IsUndefined(res) && res != nil {
		v = res.Export()
	}
	if err := pr.w.send(&pr.enc, msg{"k": kRet, "v": v}); errors.Is(err, errEncoding) {
		pr.reply(kErr, map[string]any{"t": errJS, "name": "TypeError", "m": fmt.Sprintf("%s: result cannot be passed to the script: %v", e.name, err)})
	}
}

func (pr *proc) reply(kind string, e map[string]any) {
	_ = pr.w.sendPlain(msg{"k": kind, "e": e})
}

// callError describes what a binding call raised: a reference to what
// the child's callback threw (to be rethrown as that very value), the
// binding's Go error, or the JS error goja raised converting arguments.
func callError(err error) map[string]any {
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		return encodeError(err)
	}
	if g := ex.Unwrap(); g != nil {
		var cx *crossError
		if errors.As(g, &cx) {
			return map[string]any{"t": errRef, "ref": cx.ref}
		}
		return encodeError(g)
	}
	if o, ok := ex.Value().(*goja.Object); ok {
		if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
			return map[string]any{"t": errJS, "name": o.Get("name").String(), "m": m.String()}
		}
	}
	return map[string]any{"t": errValue, "m": ex.Value().String()}
}

// crossError is what a child's callback threw, as the binding that
// called it sees it: cause is its Go error (snooze, a deadline…), if any.
type crossError struct {
	ref   int64
	cause error
}

func (e *crossError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return "the listener's callback threw"
}

func (e *crossError) Unwrap() error { return e.cause }

// childFunc builds the function standing for the child's callback h
// (the function given to db.tx). It runs on the reader goroutine and so
// only makes a closure.
func (pr *proc) childFunc(h uint64) (any, error) {
	if h == 0 {
		return notCallable, nil
	}
	return func(call goja.FunctionCall, vm *goja.Runtime) goja.Value {
		return pr.callChild(vm, h, call.Arguments)
	}, nil
}

// callChild calls the child's callback h from inside a binding and waits
// for its result, serving the child's calls (tx.query…) meanwhile.
func (pr *proc) callChild(vm *goja.Runtime, h uint64, args []goja.Value) goja.Value {
	a := pr.att
	if a == nil {
		panic(vm.NewTypeError("the listener's callback is no longer callable: its attempt has ended"))
	}
	vals := make([]any, len(args))
	for i, arg := range args {
		vals[i] = undefined
		if arg != nil && !goja.IsUndefined(arg) {
			vals[i] = arg.Export()
		}
	}
	if err := pr.w.send(&pr.enc, msg{"k": kCall, "h": int64(h), "args": vals}); err != nil {
		panic(vm.NewGoError(fmt.Errorf("call the listener's callback: %w", err)))
	}
	m, err := pr.wait(a)
	if err != nil {
		panic(vm.NewGoError(err))
	}
	switch m.kind() {
	case kRet:
		return jsValue(vm, m["v"])
	case kErr:
		e := msg(m.obj("e"))
		if e.str("t") == errRef {
			panic(vm.NewGoError(&crossError{ref: e.int("ref"), cause: decodeError(e.obj("cause"))}))
		}
		panic(vm.NewGoError(decodeError(e)))
	}
	err = pr.broken(a, fmt.Errorf("unexpected %q during a callback", m.kind()))
	panic(vm.NewGoError(err))
}
