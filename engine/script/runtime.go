package script

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/switchboard/switchboard/engine"
)

// Runtime is one goja runtime with a script's module already evaluated.
// It is never used by two goroutines at once: the pool hands it to one
// Run at a time.
type Runtime struct {
	vm        *goja.Runtime
	handle    goja.Callable
	evaluated bool

	cur       atomic.Pointer[engine.Invocation]
	logger    *slog.Logger // used when no invocation is current (top level)
	overLimit atomic.Bool  // the watchdog interrupted it
}

// newRuntime prepares a runtime for s: sandbox guards, require, console
// and the "switchboard" module. The script's top level runs later, in
// evaluate, under the first Run's deadline.
func newRuntime(s *Script, modules []engine.Module, opts Options) (*Runtime, error) {
	r := &Runtime{vm: goja.New(), logger: opts.Logger}
	vm := r.vm
	vm.SetFieldNameMapper(goja.TagFieldNameMapper("json", true))
	vm.SetMaxCallStackSize(opts.MaxCallStackSize)
	// eval and new Function would otherwise open any file a
	// "//# sourceMappingURL=" line in their code names.
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	if err := installGuards(r, opts.MaxAllocBytes); err != nil {
		return nil, fmt.Errorf("install guards: %w", err)
	}
	sb := vm.NewObject()
	for _, m := range modules {
		if err := sb.Set(m.Name(), m.Exports(r.current)); err != nil {
			return nil, fmt.Errorf("install module %s: %w", m.Name(), err)
		}
	}
	_ = sb.Set("log", r.logObject())
	_ = sb.Set("snooze", r.snooze)
	_ = sb.Set("cancel", r.cancel)

	module := vm.NewObject()
	_ = module.Set("exports", vm.NewObject())
	g := vm.GlobalObject()
	_ = g.Set("module", module)
	_ = g.Set("exports", module.Get("exports"))
	_ = g.Set("require", func(name string) goja.Value {
		if name == "switchboard" {
			return sb
		}
		panic(vm.NewTypeError(importRefused(name)))
	})
	_ = g.Set("console", r.consoleObject())
	return r, nil
}

// importRefused says why a module named at run time (require(name),
// import(name) with a computed name) cannot be loaded. Local files are
// bundled at compile time, so only a literal name reaches them.
func importRefused(name string) string {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") {
		return fmt.Sprintf("cannot import %q: a local file is bundled only when named by a literal, as in import(\"./lib.js\")", name)
	}
	return fmt.Sprintf("cannot import %q: scripts may import only \"switchboard\" and local files", name)
}

// evaluate runs the script's top level once and finds its default export.
func (r *Runtime) evaluate(s *Script) error {
	if _, err := r.vm.RunProgram(s.program); err != nil {
		return err
	}
	def := r.vm.Get("module").ToObject(r.vm).Get("exports").ToObject(r.vm).Get("default")
	fn, ok := goja.AssertFunction(def)
	if !ok {
		return &CompileError{File: s.Name, Message: fmt.Sprintf("default export must be a function, got %s", typeOf(def))}
	}
	r.handle = fn
	r.evaluated = true
	return nil
}

// checkStop ends Go code running on behalf of the script (a guarded
// built-in) once the attempt's context has ended or the heap watchdog
// stopped it; the interrupt it set then ends the JS around it.
func (r *Runtime) checkStop() {
	if r.overLimit.Load() {
		panic(r.vm.NewGoError(ErrMemoryLimit))
	}
	if err := r.ctx().Err(); err != nil {
		panic(r.vm.NewGoError(err))
	}
}

// current returns the invocation the runtime is running, or nil between
// jobs. Modules receive it as their cur func.
func (r *Runtime) current() *engine.Invocation { return r.cur.Load() }

func (r *Runtime) log() *slog.Logger {
	if inv := r.cur.Load(); inv != nil && inv.Logger != nil {
		return inv.Logger
	}
	return r.logger
}

func (r *Runtime) ctx() context.Context {
	if inv := r.cur.Load(); inv != nil && inv.Ctx != nil {
		return inv.Ctx
	}
	return context.Background()
}

// logObject is the module's log: log.info(msg, fields?) and friends.
func (r *Runtime) logObject() *goja.Object {
	o := r.vm.NewObject()
	for name, level := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		_ = o.Set(name, func(call goja.FunctionCall) goja.Value {
			msg := call.Argument(0).String()
			r.log().Log(r.ctx(), level, msg, fieldAttrs(call.Argument(1))...)
			return goja.Undefined()
		})
	}
	return o
}

// consoleObject routes console.* to the job's logger, formatting the
// arguments roughly as console does.
func (r *Runtime) consoleObject() *goja.Object {
	o := r.vm.NewObject()
	for name, level := range map[string]slog.Level{
		"log": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		_ = o.Set(name, func(call goja.FunctionCall) goja.Value {
			r.log().Log(r.ctx(), level, r.format(call.Arguments), "source", "console")
			return goja.Undefined()
		})
	}
	return o
}

func (r *Runtime) format(args []goja.Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = r.inspect(a)
	}
	return strings.Join(parts, " ")
}

// inspect shows strings as they are and objects as JSON, as console does
// for plain data.
func (r *Runtime) inspect(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if o, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(o); isFn {
			return "[Function]"
		}
		if stack := o.Get("stack"); stack != nil && !goja.IsUndefined(stack) {
			return cleanStack(stack.String())
		}
		if b, err := o.MarshalJSON(); err == nil {
			return string(b)
		}
	}
	return v.String()
}

func fieldAttrs(v goja.Value) []any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	m, ok := v.Export().(map[string]any)
	if !ok {
		return []any{"fields", v.Export()}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]any, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return attrs
}

// snooze("30s") or snooze(30) asks for the job to run again later.
func (r *Runtime) snooze(call goja.FunctionCall) goja.Value {
	arg := call.Argument(0)
	var d time.Duration
	switch v := arg.Export().(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			panic(r.vm.NewTypeError(fmt.Sprintf("snooze: %q is not a duration", v)))
		}
	case int64:
		d = time.Duration(v) * time.Second
	case float64:
		d = time.Duration(v * float64(time.Second))
	default:
		panic(r.vm.NewTypeError("snooze: want a duration such as \"30s\" or a number of seconds"))
	}
	if d < 0 {
		panic(r.vm.NewTypeError("snooze: duration must not be negative"))
	}
	panic(r.vm.NewGoError(&engine.SnoozeError{After: d}))
}

// cancel("reason") fails the job for good.
func (r *Runtime) cancel(call goja.FunctionCall) goja.Value {
	reason := "cancelled by listener"
	if a := call.Argument(0); !goja.IsUndefined(a) {
		reason = a.String()
	}
	panic(r.vm.NewGoError(&engine.CancelError{Reason: reason}))
}

func typeOf(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if _, ok := v.(*goja.Object); ok {
		return "object"
	}
	return v.ExportType().String()
}
