package isolate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

// probe is a host module shaped like the real ones: Go funcs goja
// converts, an error return, a callback like db.tx's, results of the
// types bindings return.
type probe struct{}

func (probe) Name() string { return "probe" }

func (probe) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		// types shows the Go types goja converted the arguments to.
		"types": func(args ...any) string {
			parts := make([]string, len(args))
			for i, a := range args {
				parts[i] = fmt.Sprintf("%T=%v", a, a)
				if m, ok := a.(map[string]any); ok {
					parts[i] = fmt.Sprintf("map(%d)", len(m))
				}
			}
			return strings.Join(parts, " ")
		},
		"str":  func(s string) string { return "<" + s + ">" },
		"opts": func(m map[string]any) (int, error) { return len(m), nil },
		"fail": func(kind string) (any, error) {
			switch kind {
			case "deadline":
				return nil, fmt.Errorf("probe.fail: %w", context.DeadlineExceeded)
			case "snooze":
				return nil, &engine.SnoozeError{After: time.Minute}
			}
			return nil, errors.New("probe.fail: " + kind)
		},
		"set": func(string) error { return nil },
		"rows": func() ([]any, error) {
			return []any{map[string]any{"id": int64(1), "big": int64(1) << 60, "f": 2.5, "n": nil, "s": "é"}}, nil
		},
		"none":  func() (map[string]any, error) { return nil, nil },
		"typed": func() []map[string]any { return []map[string]any{{"a": int64(1)}} },
		"job":   func() string { return cur().Job.ID },
		// tx calls fn with an object of functions, as db.tx does, and
		// hands fn's error back unchanged.
		"tx": func(fn func(tx map[string]any) (any, error)) (any, error) {
			if fn == nil {
				return nil, errors.New("probe.tx: expects a function")
			}
			inner := map[string]any{"get": func(k string) string { return "tx:" + k }}
			return fn(inner)
		},
	}
}

// sameCases run in-process and isolated; both must end alike.
var sameCases = []struct{ name, src string }{
	{"returns", `export default function () { return 1 }`},
	{"throws", `export default function () { throw new Error("boom") }`},
	{"throws string", `export default function () { throw "nope" }`},
	{"type error", `export default function (e) { return e.payload.missing.deep }`},
	{"async rejects", `export default async function () { await null; throw new RangeError("later") }`},
	{"snooze", `import { snooze } from "switchboard"; export default function () { snooze("30s") }`},
	{"cancel", `import { cancel } from "switchboard"; export default function () { cancel("gone") }`},
	{"event and job", `export default function (e, j) { throw new Error(JSON.stringify([e, j])) }`},
	{"argument types", `import { probe } from "switchboard";
export default function () { throw new Error(probe.types(1, 2.5, -0, 2**60, "s", true, null, undefined, [1, "a"], {a: {b: 1}}, NaN, Infinity, new Date(0))) }`},
	{"string conversion", `import { probe } from "switchboard";
export default function () { throw new Error([probe.str(5), probe.str(1.5), probe.str(undefined), probe.str(null), probe.str({}), probe.str()].join()) }`},
	{"binding error", `import { probe } from "switchboard"; export default function () { probe.fail("bad") }`},
	{"binding error caught", `import { probe } from "switchboard";
export default function () { try { probe.fail("bad") } catch (e) { throw new Error(e.name + "|" + e.message + "|" + (e instanceof Error)) } }`},
	{"binding deadline", `import { probe } from "switchboard"; export default function () { probe.fail("deadline") }`},
	{"binding snooze", `import { probe } from "switchboard"; export default function () { probe.fail("snooze") }`},
	{"bad argument", `import { probe } from "switchboard"; export default function () { probe.tx(5) }`},
	{"bad argument caught", `import { probe } from "switchboard";
export default function () { try { probe.tx(5) } catch (e) { throw new Error(e.name + ": " + e.message) } }`},
	{"undefined result", `import { probe } from "switchboard"; export default function () { throw new Error(String(probe.set("k")) + typeof probe.set("k")) }`},
	{"results", `import { probe } from "switchboard";
export default function () { const r = probe.rows(), row = r[0];
  throw new Error(JSON.stringify([Object.keys(row).sort(), row.id, row.big, row.f, row.n, row.s, row.big === 2**60, r.length, Array.isArray(r), probe.none(), probe.typed()[0].a, probe.job()])) }`},
	{"tx", `import { probe } from "switchboard";
export default function () { const v = probe.tx(tx => tx.get("a") + "/" + tx.get("b")); throw new Error(v) }`},
	{"tx rethrows the same value", `import { probe } from "switchboard";
export default function () { const mine = new TypeError("mine"); try { probe.tx(() => { throw mine }) } catch (e) { throw new Error(String(e === mine)) } }`},
	{"tx throws", `import { probe } from "switchboard"; export default function () { probe.tx(() => { throw new Error("inside") }) }`},
	{"snooze in tx", `import { probe, snooze } from "switchboard"; export default function () { probe.tx(() => snooze("1m")) }`},
	{"tx nested", `import { probe } from "switchboard";
export default function () { throw new Error(probe.tx(a => probe.tx(b => a.get("1") + b.get("2")))) }`},
	{"console", `export default function () { console.log("a", 1, {b: [2]}, undefined); console.error(new Error("x")) }`},
	{"log fields", `import { log } from "switchboard"; export default function () { log.warn("w", { n: 1, s: "t", o: { p: true } }) }`},
	{"stack overflow", `function f() { return f() + 1 } export default function () { f() }`},
	{"guarded built-in", `export default function () { "x".repeat(1 << 30) }`},
}

// TestSame_AsInProcess runs every case in-process and in a child: the
// same error (type, message, stack in the listener's file), the same
// outcome once classified, the same log records.
func TestSame_AsInProcess(t *testing.T) {
	modules := []engine.Module{probe{}}
	local := script.NewEngine(modules, script.Options{MemoryLimit: 64 << 20})
	p := newPool(t, Options{Modules: modules, MemoryLimit: 64 << 20})
	for _, c := range sameCases {
		t.Run(c.name, func(t *testing.T) {
			s := compile(t, c.src)
			inv, localLogs := newInv(t, map[string]any{"n": 1})
			want := local.Run(runCtx(t, 10*time.Second), s, inv)
			inv, isoLogs := newInv(t, map[string]any{"n": 1})
			got := p.Run(runCtx(t, 10*time.Second), s, inv)
			if describe(got) != describe(want) {
				t.Errorf("isolated:\n%s\nin-process:\n%s", describe(got), describe(want))
			}
			if g, w := logLines(isoLogs.String()), logLines(localLogs.String()); g != w {
				t.Errorf("isolated logs:\n%s\nin-process logs:\n%s", g, w)
			}
		})
	}
}

// describe is everything about an error that callers can observe.
func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	ending := engine.Classify(err, nil, time.Second, false)
	var st interface{ StackTrace() string }
	stack := ""
	if errors.As(err, &st) {
		stack = st.StackTrace()
	}
	kinds := []string{}
	for name, s := range sentinels {
		if errors.Is(err, s) {
			kinds = append(kinds, name)
		}
	}
	sort.Strings(kinds)
	var snooze *engine.SnoozeError
	var cancel *engine.CancelError
	var ex *script.Exception
	out := fmt.Sprintf("%s\noutcome %s %+v snooze=%v cancel=%v exception=%v is=%v\nstack:\n%s",
		err.Error(), ending.Outcome, ending.Err, errors.As(err, &snooze), errors.As(err, &cancel), errors.As(err, &ex), kinds, stack)
	return nativeFrame.ReplaceAllString(out, "at <go function> (native)")
}

var logTime = regexp.MustCompile(`"time":"[^"]*",`)

// nativeFrame is a Go function's frame in a JS stack: in-process it is
// the binding's own function, isolated the proxy that calls it.
var nativeFrame = regexp.MustCompile(`at \S+ \(native\)`)

func logLines(s string) string { return logTime.ReplaceAllString(s, "") }
