package scripttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/host/emit"
	"github.com/switchboard/switchboard/engine/host/kv"
	"github.com/switchboard/switchboard/engine/script"
)

// testCase is the state of one running test: its own database, kv store,
// stubs and script engine (so listeners start with fresh module state).
type testCase struct {
	f      *fileRun
	name   string
	ctx    context.Context
	dbPath string
	db     *db.DB
	kv     *memKV
	eng    *script.Engine
	logger *slog.Logger
	stubs  map[string]stub
	calls  []Call // of the run() in progress
	runs   int
}

// stub is what t.stub set for one call name: a value, a function of the
// call's arguments, or an error to throw.
type stub struct {
	value any
	fn    goja.Callable
	err   error
}

var _ stubber = (*testCase)(nil)

func (s *suite) newCase(ctx context.Context, f *fileRun, name string) (*testCase, error) {
	s.seq++
	path := filepath.Join(s.tmp, fmt.Sprintf("app-%d.db", s.seq))
	appDB, err := db.Open(ctx, db.Options{Driver: "sqlite", DSN: engine.Secret(path), Dir: s.tmp})
	if err != nil {
		return nil, fmt.Errorf("open test database: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(f.out, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime}))
	tc := &testCase{f: f, name: name, ctx: ctx, dbPath: path, db: appDB, kv: newMemKV(), logger: logger, stubs: map[string]stub{}}
	modules := []engine.Module{&wrapped{inner: appDB, tests: tc}}
	for _, m := range s.shared {
		modules = append(modules, &wrapped{inner: m, dry: true, tests: tc})
	}
	modules = append(modules,
		&wrapped{inner: kv.New(tc.kv), tests: tc},
		&wrapped{inner: emit.New(noSubmit{}), dry: true, tests: tc})
	tc.eng = script.NewEngine(modules, script.Options{Logger: logger})
	return tc, nil
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func (tc *testCase) close() {
	tc.db.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tc.dbPath + suffix)
	}
}

func (tc *testCase) record(c Call) { tc.calls = append(tc.calls, c) }

func (tc *testCase) stubbed(rt *goja.Runtime, name string, args []any) (goja.Value, bool) {
	st, ok := tc.stubs[name]
	if !ok {
		return nil, false
	}
	if st.err != nil {
		panic(jsError(rt, st.err.Error()))
	}
	if st.fn == nil {
		return toJS(rt, st.value), true
	}
	vm := tc.f.vm
	jsArgs := make([]goja.Value, len(args))
	for i, a := range args {
		jsArgs[i] = toJS(vm, a)
	}
	ret, err := st.fn(goja.Undefined(), jsArgs...)
	if err != nil {
		panic(jsError(rt, thrownMessage(err)))
	}
	if ret == nil || goja.IsUndefined(ret) {
		return goja.Undefined(), true
	}
	return toJS(rt, exportArg(ret)), true
}

// jsError makes an Error of rt, as a listener would throw it.
func jsError(rt *goja.Runtime, msg string) *goja.Object {
	o, err := rt.New(rt.Get("Error"), rt.ToValue(msg))
	if err != nil {
		return rt.NewGoError(errors.New(msg))
	}
	return o
}

// thrownMessage is the message of what a stub function threw.
func thrownMessage(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		if o, ok := ex.Value().(*goja.Object); ok {
			if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
				return m.String()
			}
		}
		return ex.Value().String()
	}
	return err.Error()
}

// object builds the t handed to the test function.
func (tc *testCase) object() *goja.Object {
	vm := tc.f.vm
	o := vm.NewObject()
	_ = o.Set("name", tc.name)
	_ = o.Set("exec", tc.exec)
	_ = o.Set("query", func(query string, params ...goja.Value) goja.Value {
		return toJS(vm, tc.dbCall("query", query, params))
	})
	_ = o.Set("first", func(query string, params ...goja.Value) goja.Value {
		return toJS(vm, tc.dbCall("first", query, params))
	})
	_ = o.Set("schema", tc.schema)
	_ = o.Set("stub", tc.stub)
	_ = o.Set("kv", tc.kvObject)
	_ = o.Set("log", func(call goja.FunctionCall) goja.Value {
		tc.f.print("t.log", call.Arguments)
		return goja.Undefined()
	})
	return o
}

// dbCall runs the db module's own query or first against the test's
// database, so the test reads rows exactly as listeners do.
func (tc *testCase) dbCall(fn, query string, params []goja.Value) any {
	fns := tc.db.Exports(func() *engine.Invocation { return &engine.Invocation{Ctx: tc.ctx} }).(map[string]any)
	args := make([]any, len(params))
	for i, p := range params {
		args[i] = exportArg(p)
	}
	var (
		out any
		err error
	)
	switch fn {
	case "query":
		out, err = fns["query"].(func(string, ...any) ([]any, error))(query, args...)
	default:
		var row map[string]any
		row, err = fns["first"].(func(string, ...any) (map[string]any, error))(query, args...)
		if row != nil {
			out = row
		}
	}
	if err != nil {
		panic(tc.f.vm.NewGoError(fmt.Errorf("t.%s: %w", fn, err)))
	}
	return out
}

// exec runs SQL (several statements when there are no parameters) on
// the test's database: t.exec(sql, ...params) → {rowsAffected, lastInsertId}.
func (tc *testCase) exec(query string, params ...goja.Value) goja.Value {
	args := make([]any, len(params))
	for i, p := range params {
		args[i] = exportArg(p)
	}
	res, err := tc.db.SQL().ExecContext(tc.ctx, query, args...)
	if err != nil {
		panic(tc.f.vm.NewGoError(fmt.Errorf("t.exec: %w", err)))
	}
	out := map[string]any{"rowsAffected": int64(0), "lastInsertId": nil}
	if n, err := res.RowsAffected(); err == nil {
		out["rowsAffected"] = n
	}
	if id, err := res.LastInsertId(); err == nil {
		out["lastInsertId"] = id
	}
	return toJS(tc.f.vm, out)
}

// schema applies "demo" (the example app's users and media tables with
// Ada's sample rows) or a SQL file: relative to the test file when it
// starts with "./" or "../", else to the config's directory.
func (tc *testCase) schema(name string) {
	text := db.Schema("sqlite") + db.Seed("sqlite")
	if name != "demo" {
		data, err := os.ReadFile(tc.f.fixturePath(name, "."))
		if err != nil {
			panic(tc.f.vm.NewGoError(fmt.Errorf("t.schema: %w", err)))
		}
		text = string(data)
	}
	if _, err := tc.db.SQL().ExecContext(tc.ctx, text); err != nil {
		panic(tc.f.vm.NewGoError(fmt.Errorf("t.schema %s: %w", name, err)))
	}
}

// stub replaces the answer of a binding ("ittybit.createTask", "emit")
// for the rest of the test: with a value, with a function of the call's
// arguments (its return value is the answer; what it throws the binding
// throws), or with an Error, which the binding throws.
func (tc *testCase) stub(name string, v goja.Value) {
	vm := tc.f.vm
	if !tc.f.s.known[name] {
		panic(vm.NewGoError(fmt.Errorf("t.stub: no binding %q (bindings: %s)", name, tc.f.s.knownNames())))
	}
	if fn, ok := goja.AssertFunction(v); ok {
		tc.stubs[name] = stub{fn: fn}
		return
	}
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Error" {
		tc.stubs[name] = stub{err: errors.New(o.Get("message").String())}
		return
	}
	tc.stubs[name] = stub{value: exportArg(v)}
}

// kvObject is t.kv(listener): get, set and delete on that listener's
// keys in the test's kv store, to arrange state or check what was kept.
func (tc *testCase) kvObject(listener string) *goja.Object {
	vm := tc.f.vm
	fail := func(err error) { panic(vm.NewGoError(fmt.Errorf("t.kv(%q): %w", listener, err))) }
	o := vm.NewObject()
	_ = o.Set("get", func(key string) goja.Value {
		raw, ok, err := tc.kv.KVGet(tc.ctx, listener, key)
		if err != nil {
			fail(err)
		}
		if !ok {
			return goja.Null()
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			fail(err)
		}
		return toJS(vm, v)
	})
	_ = o.Set("set", func(key string, value goja.Value) {
		raw, err := json.Marshal(exportArg(value))
		if err != nil {
			fail(err)
		}
		if err := tc.kv.KVSet(tc.ctx, listener, key, raw, 0); err != nil {
			fail(err)
		}
	})
	_ = o.Set("delete", func(key string) {
		if err := tc.kv.KVDelete(tc.ctx, listener, key); err != nil {
			fail(err)
		}
	})
	return o
}
