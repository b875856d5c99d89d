package scripttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/switchboard/switchboard/engine/script"
)

// registered is a test the file's top level declared.
type registered struct {
	name string
	fn   goja.Callable
	skip bool
}

// fileRun is one test file: its own goja runtime, where the file's top
// level and then each of its tests run. Listeners never run here; run()
// hands them to the engine, which gives them runtimes of their own.
type fileRun struct {
	s     *suite
	name  string // as shown in results
	dir   string // the test file's directory, for "./" fixtures
	code  *script.Script
	vm    *goja.Runtime
	tests []registered
	out   *bytes.Buffer // output of the top level or of the running test
	cur   *testCase     // the running test, nil at top level
}

func newFile(s *suite, code *script.Script) (*fileRun, error) {
	vm := goja.New()
	vm.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	vm.SetMaxCallStackSize(1024)
	vm.SetParserOptions(parser.WithDisableSourceMaps) // eval never opens a file a comment names
	f := &fileRun{s: s, name: code.Name, dir: filepath.Dir(code.Path), code: code, vm: vm, out: new(bytes.Buffer)}

	host := vm.NewObject()
	_ = host.Set("register", f.register)
	_ = host.Set("run", f.run)
	_ = host.Set("fixture", f.fixture)
	factory, err := vm.RunProgram(s.prelude)
	if err != nil {
		return nil, fmt.Errorf("load test prelude: %w", err)
	}
	build, ok := goja.AssertFunction(factory)
	if !ok {
		return nil, errors.New("load test prelude: not a function")
	}
	api, err := build(goja.Undefined(), host)
	if err != nil {
		return nil, fmt.Errorf("load test prelude: %w", err)
	}

	module := vm.NewObject()
	_ = module.Set("exports", vm.NewObject())
	g := vm.GlobalObject()
	_ = g.Set("module", module)
	_ = g.Set("exports", module.Get("exports"))
	_ = g.Set("require", func(name string) goja.Value {
		switch name {
		case "switchboard/test":
			return api
		case "switchboard":
			panic(vm.NewGoError(errors.New(`test files import from "switchboard/test"; listeners get "switchboard" when run() runs them`)))
		}
		panic(vm.NewGoError(fmt.Errorf("cannot import %q: test files may import only \"switchboard/test\" and local files", name)))
	})
	_ = g.Set("console", f.console())
	return f, nil
}

// load runs the file's top level, which registers its tests.
func (f *fileRun) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, f.s.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { f.vm.Interrupt("test file top level timed out") })
	_, err := f.vm.RunProgram(f.code.Program())
	if !stop() {
		f.vm.ClearInterrupt()
	}
	if err != nil {
		return script.Thrown(err)
	}
	return nil
}

func (f *fileRun) register(name string, fn goja.Value, skip bool) {
	call, ok := goja.AssertFunction(fn)
	if !ok && !skip {
		panic(f.vm.NewTypeError(fmt.Sprintf("test %q: expected a function", name)))
	}
	f.tests = append(f.tests, registered{name: name, fn: call, skip: skip})
}

// runTest runs one test in a fresh testCase and reports how it went.
func (f *fileRun) runTest(ctx context.Context, t registered) Result {
	start := time.Now()
	f.out = new(bytes.Buffer)
	res := func(r Result) Result {
		r.Output, r.Elapsed = f.out.String(), time.Since(start)
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, f.s.opts.Timeout)
	defer cancel()
	tc, err := f.s.newCase(ctx, f, t.name)
	if err != nil {
		return res(Result{File: f.name, Name: t.name, Status: Fail, Message: err.Error()})
	}
	defer tc.close()
	f.cur = tc
	defer func() { f.cur = nil }()

	stop := context.AfterFunc(ctx, func() { f.vm.Interrupt(ctx.Err()) })
	ret, err := t.fn(goja.Undefined(), tc.object())
	if err == nil {
		err = settled(ret)
	}
	if !stop() {
		f.vm.ClearInterrupt()
	}
	var intr *goja.InterruptedError
	switch {
	case err == nil:
		return res(Result{File: f.name, Name: t.name, Status: Pass})
	case errors.As(err, &intr) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return res(Result{File: f.name, Name: t.name, Status: Fail, Message: fmt.Sprintf("test timed out after %s", f.s.opts.Timeout)})
	case errors.As(err, &intr):
		return res(Result{File: f.name, Name: t.name, Status: Fail, Message: "test interrupted"})
	}
	return res(failure(f.name, t.name, script.Thrown(err)))
}

// settled turns a test's returned promise into its outcome. Without
// timers every promise a test can make settles before the call returns.
func settled(ret goja.Value) error {
	o, ok := ret.(*goja.Object)
	if !ok {
		return nil
	}
	p, ok := o.Export().(*goja.Promise)
	if !ok {
		return nil
	}
	switch p.State() {
	case goja.PromiseStateRejected:
		return script.Rejected(p.Result())
	case goja.PromiseStatePending:
		return errors.New("test returned a promise that never settled (there are no timers: await only values and bindings)")
	}
	return nil
}

// run is run(listener, payload, opts) of "switchboard/test".
func (f *fileRun) run(call goja.FunctionCall) goja.Value {
	if f.cur == nil {
		panic(f.vm.NewGoError(errors.New("run() can be called only inside a test")))
	}
	return f.cur.run(call)
}

// fixture is fixture(name) of "switchboard/test": the parsed JSON of
// <config dir>/testdata/name, or of a path relative to the test file
// when name starts with "./" or "../".
func (f *fileRun) fixture(name string) goja.Value {
	path := f.fixturePath(name, "testdata")
	data, err := os.ReadFile(path)
	if err != nil {
		panic(f.vm.NewGoError(fmt.Errorf("fixture %s: %w", name, err)))
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		panic(f.vm.NewGoError(fmt.Errorf("fixture %s: not JSON: %w", name, err)))
	}
	return toJS(f.vm, v)
}

// fixturePath resolves name against the test file's directory when it
// starts with "./" or "../", else against base below the config's dir.
func (f *fileRun) fixturePath(name, base string) string {
	if filepath.IsAbs(name) {
		return name
	}
	if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		return filepath.Join(f.dir, name)
	}
	return filepath.Join(f.s.cfg.Resolve(base), name)
}

// console writes console.* of test code to the test's output.
func (f *fileRun) console() *goja.Object {
	o := f.vm.NewObject()
	for _, name := range []string{"log", "info", "debug", "warn", "error"} {
		_ = o.Set(name, func(call goja.FunctionCall) goja.Value {
			f.print("console."+name, call.Arguments)
			return goja.Undefined()
		})
	}
	return o
}

func (f *fileRun) print(prefix string, args []goja.Value) {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = inspect(a)
	}
	fmt.Fprintf(f.out, "%s: %s\n", prefix, strings.Join(parts, " "))
}

// inspect shows strings as they are and other values as JSON.
func inspect(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if o, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(o); isFn {
			return "[Function]"
		}
		if b, err := o.MarshalJSON(); err == nil {
			return string(b)
		}
	}
	return v.String()
}
