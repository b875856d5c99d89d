package scripttest

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// Call is one binding call a listener made during run().
type Call struct {
	Module string // "mail"
	Fn     string // "send"; for a module that is a single function (emit), the module name
	Args   []any  // the arguments as the script passed them, exported to Go values
}

// Name is "module.fn", or just the module for single-function modules.
func (c Call) Name() string {
	if c.Fn == c.Module {
		return c.Module
	}
	return c.Module + "." + c.Fn
}

// stubber answers calls in place of bindings; the current test implements it.
type stubber interface {
	// record notes a call made by the running listener.
	record(c Call)
	// stubbed returns the stub's answer for name, and whether there is one.
	// A stub that throws makes the binding throw (panics with a JS error
	// of rt).
	stubbed(rt *goja.Runtime, name string, args []any) (goja.Value, bool)
}

// wrapped is a host module whose every export is recorded and may be
// stubbed. When dry, the inner module runs with a Recorder that discards,
// which is its dry-run mode: nothing leaves the process. Otherwise it runs
// for real (the per-test database and kv store).
type wrapped struct {
	inner engine.Module
	dry   bool
	tests stubber
}

var _ engine.Module = (*wrapped)(nil)

func (w *wrapped) Name() string { return w.inner.Name() }

func (w *wrapped) Exports(cur func() *engine.Invocation) any {
	innerCur := func() *engine.Invocation {
		inv := *cur()
		inv.Recorder = nil
		if w.dry {
			inv.Recorder = discard{}
		}
		return &inv
	}
	name := w.inner.Name()
	ex := w.inner.Exports(innerCur)
	fns, ok := ex.(map[string]any)
	if !ok {
		return w.wrap(name, name, ex)
	}
	out := make(map[string]any, len(fns))
	for fn, v := range fns {
		out[fn] = w.wrap(name, fn, v)
	}
	return out
}

// wrap returns a JS function that records the call, answers from a stub
// when there is one, and otherwise calls the inner export.
func (w *wrapped) wrap(module, fn string, inner any) func(goja.FunctionCall, *goja.Runtime) goja.Value {
	var callInner goja.Callable // Exports runs once per runtime, so this is per runtime
	return func(call goja.FunctionCall, rt *goja.Runtime) goja.Value {
		c := Call{Module: module, Fn: fn, Args: make([]any, len(call.Arguments))}
		for i, a := range call.Arguments {
			c.Args[i] = exportArg(a)
		}
		w.tests.record(c)
		if v, ok := w.tests.stubbed(rt, c.Name(), c.Args); ok {
			return v
		}
		if callInner == nil {
			f, ok := goja.AssertFunction(rt.ToValue(inner))
			if !ok {
				panic(rt.NewTypeError(c.Name() + " is not a function"))
			}
			callInner = f
		}
		v, err := callInner(call.This, call.Arguments...)
		if err != nil {
			var ex *goja.Exception
			var intr *goja.InterruptedError
			if errors.As(err, &ex) || errors.As(err, &intr) {
				panic(err) // rethrown as is, keeping the Go cause
			}
			panic(rt.NewGoError(err))
		}
		return v
	}
}

// exportArg exports a script argument; functions are shown, not kept,
// since they belong to the listener's runtime.
func exportArg(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	if _, ok := goja.AssertFunction(v); ok {
		return "[Function]"
	}
	return v.Export()
}

// exportNames lists the call names a module offers ("mail.send", "emit").
func exportNames(m engine.Module) []string {
	ex := m.Exports(func() *engine.Invocation { return &engine.Invocation{Ctx: context.Background()} })
	fns, ok := ex.(map[string]any)
	if !ok {
		return []string{m.Name()}
	}
	names := make([]string, 0, len(fns))
	for fn := range fns {
		names = append(names, m.Name()+"."+fn)
	}
	sort.Strings(names)
	return names
}

// discard is the Recorder that puts bindings in dry-run mode; the wrapper
// records the calls itself, with the script's own arguments.
type discard struct{}

func (discard) Record(string, string, ...any) {}

// errOffline is what a binding gets when it tries the network in a test.
var errOffline = errors.New("switchboard test makes no network requests: stub this call with t.stub(name, value)")

type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) { return nil, errOffline }

// noSubmit refuses to store events; emit runs dry in tests, so it is
// never called.
type noSubmit struct{}

func (noSubmit) Submit(context.Context, *engine.Event, any) (string, error) {
	return "", errors.New("switchboard test stores no events")
}

// memKV is a per-test engine.KV in memory.
type memKV struct {
	mu   sync.Mutex
	vals map[string]memValue
}

type memValue struct {
	data    []byte
	expires time.Time
}

var _ engine.KV = (*memKV)(nil)

func newMemKV() *memKV { return &memKV{vals: map[string]memValue{}} }

func kvKey(ns, key string) string { return ns + "\x00" + key }

func (m *memKV) KVGet(_ context.Context, ns, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[kvKey(ns, key)]
	if !ok || !v.expires.IsZero() && time.Now().After(v.expires) {
		return nil, false, nil
	}
	return append([]byte(nil), v.data...), true, nil
}

func (m *memKV) KVSet(_ context.Context, ns, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := memValue{data: append([]byte(nil), value...)}
	if ttl > 0 {
		v.expires = time.Now().Add(ttl)
	}
	m.vals[kvKey(ns, key)] = v
	return nil
}

func (m *memKV) KVDelete(_ context.Context, ns, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.vals, kvKey(ns, key))
	return nil
}

// matchCall reports whether c is selected by name: "mail.send" selects
// that function, "mail" every call of the module, "" every call.
func matchCall(c Call, name string) bool {
	if name == "" || c.Name() == name || c.Module == name {
		return true
	}
	return strings.EqualFold(c.Name(), name)
}
