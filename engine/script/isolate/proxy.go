package isolate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// This file is the child's "switchboard" module: every host function is
// a proxy that sends its arguments to the parent, which runs the real
// binding, and turns the answer into a value or an exception.

// proxyModule is one host module of the parent as the child's scripts
// see it: value is its exports with proxies in place of functions.
type proxyModule struct {
	name  string
	value any
}

func (m proxyModule) Name() string { return m.name }

// Exports returns a fresh copy per runtime, as the real modules do, so a
// script that assigns to db.query changes only its own runtime.
func (m proxyModule) Exports(func() *engine.Invocation) any { return copyValue(m.value) }

func copyValue(v any) any {
	o, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(o))
	for k, x := range o {
		out[k] = copyValue(x)
	}
	return out
}

// handle marks a function of the sender's that the receiver may call.
type handle uint64

// notCallable stands for a function nested inside an argument or result:
// only functions passed as arguments themselves (db.tx's callback) or
// given by the parent (the tx object's query) are called across.
var notCallable = func(_ goja.FunctionCall, vm *goja.Runtime) goja.Value {
	panic(vm.NewTypeError("a function nested in a value cannot be called across the script process boundary"))
}

// parentFunc builds the function standing for the parent's function h
// (a closure: it touches no runtime until called).
func (s *server) parentFunc(h uint64) (any, error) {
	if h == 0 {
		return notCallable, nil
	}
	return func(call goja.FunctionCall, vm *goja.Runtime) goja.Value {
		return s.call(vm, h, call.Arguments)
	}, nil
}

// call runs the parent's function h with args and waits for its answer,
// answering the parent's calls of this attempt's callbacks meanwhile.
func (s *server) call(vm *goja.Runtime, h uint64, args []goja.Value) goja.Value {
	vals := make([]any, len(args))
	for i, a := range args {
		switch fn, isFn := goja.AssertFunction(a); {
		case a == nil || goja.IsUndefined(a):
			vals[i] = undefined
		case isFn:
			s.nextID++
			s.callbacks[s.nextID] = fn
			vals[i] = handle(s.nextID)
		default:
			vals[i] = a.Export()
		}
	}
	s.enc.limit, s.enc.fn = s.budget, nil
	err := s.w.send(&s.enc, msg{"k": kCall, "h": int64(h), "args": vals})
	switch {
	case errors.Is(err, errTooLarge):
		panic(jsError(vm, "RangeError", fmt.Sprintf("%s arguments would exceed the script memory budget of %s per call", s.names[h], budgetText(s.budget))))
	case errors.Is(err, errEncoding):
		panic(vm.NewTypeError(fmt.Sprintf("%s arguments: %v", s.names[h], err)))
	case err != nil:
		s.gone(vm)
	}
	return s.await(vm)
}

// await reads the parent's messages until the answer to the call just
// sent.
func (s *server) await(vm *goja.Runtime) goja.Value {
	for {
		m, err := s.w.receive(s.dec)
		if err != nil {
			s.gone(vm)
		}
		switch m.kind() {
		case kRet:
			return jsValue(vm, m["v"])
		case kErr:
			s.throw(vm, m.obj("e"))
		case kCall:
			s.invoke(vm, m)
		default:
			panic(vm.NewGoError(fmt.Errorf("script host: unexpected %q during a call", m.kind())))
		}
	}
}

// gone ends the process: the parent closed the pipe.
func (s *server) gone(vm *goja.Runtime) {
	s.exit(0)
	panic(vm.NewGoError(errors.New("script host: the router closed the pipe")))
}

// invoke runs a callback of this attempt's for the parent (the function
// given to db.tx) and answers with its result, or with a reference to
// what it threw, which comes back to be rethrown as the same value.
func (s *server) invoke(vm *goja.Runtime, m msg) {
	fn, ok := s.callbacks[uint64(m.int("h"))]
	if !ok {
		s.reply(kErr, map[string]any{"t": errJS, "name": "TypeError", "m": "the callback is no longer callable: its attempt has ended"})
		return
	}
	args := m.list("args")
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = jsValue(vm, a)
	}
	res, err := fn(goja.Undefined(), vals...)
	if err != nil {
		s.nextID++
		s.thrown[s.nextID] = err
		s.reply(kErr, map[string]any{"t": errRef, "ref": int64(s.nextID), "cause": encodeError(errors.Unwrap(err))})
		return
	}
	var v any = undefined
	if !goja.IsUndefined(res) {
		v = res.Export()
	}
	s.enc.limit, s.enc.fn = s.budget, nil
	if err := s.w.send(&s.enc, msg{"k": kRet, "v": v}); errors.Is(err, errTooLarge) {
		s.reply(kErr, map[string]any{"t": errJS, "name": "RangeError",
			"m": fmt.Sprintf("a callback's result would exceed the script memory budget of %s per call", budgetText(s.budget))})
	}
}

func (s *server) reply(kind string, e map[string]any) {
	_ = s.w.sendPlain(msg{"k": kind, "e": e})
}

// throw raises in vm what the parent's answer describes: the very value
// a callback threw, the JS error goja raised there (a TypeError for a
// bad argument), or a GoError wrapping the binding's Go error, as
// in-process.
func (s *server) throw(vm *goja.Runtime, e map[string]any) {
	m := msg(e)
	switch m.str("t") {
	case errRef:
		if err, ok := s.thrown[uint64(m.int("ref"))]; ok {
			rethrow(vm, err)
		}
	case errJS:
		panic(jsError(vm, m.str("name"), m.str("m")))
	case errValue:
		panic(vm.ToValue(m.str("m")))
	}
	panic(vm.NewGoError(decodeError(e)))
}

// rethrow raises an error a goja call returned, as goja would.
func rethrow(vm *goja.Runtime, err error) {
	var ex *goja.Exception
	var interrupted *goja.InterruptedError
	var overflow *goja.StackOverflowError
	switch {
	case errors.As(err, &ex):
		panic(ex)
	case errors.As(err, &interrupted):
		panic(interrupted)
	case errors.As(err, &overflow):
		panic(overflow)
	}
	panic(vm.NewGoError(err))
}

// jsError makes an Error of the named standard kind.
func jsError(vm *goja.Runtime, name, message string) goja.Value {
	switch name {
	case "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "URIError", "EvalError":
	default:
		name = "Error"
	}
	if ctor, ok := vm.Get(name).(*goja.Object); ok {
		if o, err := vm.New(ctor, vm.ToValue(message)); err == nil {
			return o
		}
	}
	return vm.NewTypeError(message)
}

// jsValue gives a decoded value to JS as goja would give the binding's
// Go result: undefined stays undefined, maps and slices are wrapped.
func jsValue(vm *goja.Runtime, v any) goja.Value {
	if v == undefined {
		return goja.Undefined()
	}
	return vm.ToValue(v)
}

func budgetText(b int64) string {
	if b >= 1<<20 {
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

// forward is the child's slog handler: each record goes to the parent,
// which logs it with the attempt's logger (listener, event, job and
// attempt attached).
type forward struct {
	s      *server
	level  slog.Level
	attrs  []slog.Attr
	prefix string
}

func (f *forward) Enabled(_ context.Context, l slog.Level) bool { return l >= f.level }

func (f *forward) Handle(_ context.Context, r slog.Record) error {
	attrs := make([]any, 0, len(f.attrs)+r.NumAttrs())
	add := func(a slog.Attr) bool {
		attrs = append(attrs, []any{f.prefix + a.Key, a.Value.Resolve().Any()})
		return true
	}
	for _, a := range f.attrs {
		add(a)
	}
	r.Attrs(add)
	m := msg{"k": kLog, "level": int64(r.Level), "msg": r.Message, "attrs": attrs}
	err := f.s.w.send(&encoder{limit: f.s.budget}, m)
	if errors.Is(err, errTooLarge) {
		text := r.Message
		if len(text) > maxErrorText {
			text = text[:maxErrorText] + "… (cut)"
		}
		return f.s.w.sendPlain(msg{"k": kLog, "level": int64(r.Level), "msg": text, "attrs": []any{}})
	}
	return err
}

func (f *forward) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *f
	c.attrs = append(append([]slog.Attr(nil), f.attrs...), attrs...)
	return &c
}

func (f *forward) WithGroup(name string) slog.Handler {
	c := *f
	c.prefix = f.prefix + name + "."
	return &c
}
