package script

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestRun_ESMLocalImport(t *testing.T) {
	s, err := Compile("testdata/esm/handler.js")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(nil, Options{})
	inv, logs := newInv(t, map[string]any{"id": "med_1", "width": 640, "height": 360})
	if err := e.Run(context.Background(), s, inv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"meta":"med_1:640x360"`) {
		t.Errorf("log = %s", logs)
	}
}

func TestRun_TypeScript(t *testing.T) {
	s, err := Compile("testdata/ts/handler.ts")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(nil, Options{})
	inv, logs := newInv(t, map[string]any{"id": "task_1", "status": "completed"})
	if err := e.Run(context.Background(), s, inv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"msg":"task","attempt":2,"id":"task_1"`) {
		t.Errorf("log = %s", logs)
	}

	inv, _ = newInv(t, map[string]any{"id": "task_2", "status": "failed"})
	err = e.Run(context.Background(), s, inv)
	var ex *Exception
	if !errors.As(err, &ex) {
		t.Fatalf("err = %v (%T), want *Exception", err, err)
	}
	if ex.Message != "Error: task task_2 is failed" {
		t.Errorf("message = %q", ex.Message)
	}
	for _, want := range []string{"testdata/ts/lib/task.ts:9:11", "testdata/ts/handler.ts:10:"} {
		if !strings.Contains(ex.Stack, want) {
			t.Errorf("stack lacks %s:\n%s", want, ex.Stack)
		}
	}
	var st interface{ StackTrace() string }
	if !errors.As(err, &st) || st.StackTrace() != ex.Stack {
		t.Error("Exception does not offer StackTrace()")
	}
}

func TestRun_Outcomes(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, err error)
	}{
		{"returns", `export default function () { return 1 }`, wantNil},
		{"throws string", `export default function () { throw "nope" }`, wantException("nope")},
		{"throws TypeError", `export default function (e) { return e.payload.missing.deep }`, wantException("TypeError")},
		{"async resolves", `export default async function (e) { await null; const v = await Promise.resolve(e.payload.n); if (v !== 3) throw new Error("bad") }`, wantNil},
		{"async rejects", `export default async function () { await null; throw new Error("later") }`, wantException("Error: later")},
		{"async never settles", `export default function () { return new Promise(() => {}) }`, wantException("never settled")},
		{"snooze string", `import { snooze } from "switchboard"; export default function () { snooze("30s") }`, wantSnooze(30 * time.Second)},
		{"snooze seconds", `import { snooze } from "switchboard"; export default function () { snooze(1.5) }`, wantSnooze(1500 * time.Millisecond)},
		{"snooze in async", `import { snooze } from "switchboard"; export default async function () { await 1; snooze("1m") }`, wantSnooze(time.Minute)},
		{"snooze bad", `import { snooze } from "switchboard"; export default function () { snooze("soon") }`, wantException("TypeError")},
		{"cancel", `import { cancel } from "switchboard"; export default function () { cancel("gone") }`, wantCancel("gone")},
		{"require fs", `export default function (e) { const name = "f" + "s"; require(name) }`, wantException(`cannot import "fs"`)},
		{"import fs", `import fs from "fs"; export default function () { fs.readFileSync("/etc/passwd") }`, nil},
		{"no process", `export default function () { if (typeof process !== "undefined" || typeof setTimeout !== "undefined") throw new Error("leak") }`, wantNil},
		{"deep recursion", `function f(n) { return f(n + 1) + 1 } export default function () { f(0) }`, wantException("Maximum call stack size exceeded")},
		{"event and job", `export default function (e, j) {
			const got = [e.id, e.name, e.source, e.receivedAt, e.headers["content-type"], e.payload.items.length, Array.isArray(e.payload.items), j.id, j.listener, j.attempt, j.maxTries].join("|");
			if (got !== "evt_1|media.processed|ittybit|2026-01-02T03:04:05Z|application/json|2|true|job_1|thumbs|2|3") throw new Error(got);
		}`, wantNil},
		{"payload reads as data", `export default function (e) {
			if (e.payload !== e.payload) throw new Error("payload not stable");
			if (!Object.keys(e).includes("payload")) throw new Error("payload not enumerable");
			const p = JSON.parse(JSON.stringify(e.payload)); if (p.n !== 3 || p.items.length !== 2) throw new Error(JSON.stringify(e.payload));
			if (JSON.parse(JSON.stringify(e)).payload.n !== 3) throw new Error("event does not stringify its payload");
			e.payload.n = 4; if (e.payload.n !== 4) throw new Error("payload field not writable");
			e.payload = { x: 1 }; if (e.payload.x !== 1) throw new Error("payload not assignable");
		}`, wantNil},
	}
	e := NewEngine(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeScripts(t, map[string]string{"handler.js": tt.src})
			s, err := Compile(dir + "/handler.js")
			if tt.check == nil { // must not compile
				if err == nil {
					t.Fatal("compiled; want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			inv, _ := newInv(t, map[string]any{"n": 3, "items": []any{1, 2}})
			tt.check(t, e.Run(runCtx(t, 10*time.Second), s, inv))
		})
	}
}

func wantNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("err = %v", err)
	}
}

func wantException(sub string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ex *Exception
		if !errors.As(err, &ex) || !strings.Contains(ex.Message, sub) {
			t.Fatalf("err = %v (%T), want Exception containing %q", err, err, sub)
		}
	}
}

func wantSnooze(d time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var s *engine.SnoozeError
		if !errors.As(err, &s) || s.After != d {
			t.Fatalf("err = %v (%T), want snooze %s", err, err, d)
		}
	}
}

func wantCancel(reason string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var c *engine.CancelError
		if !errors.As(err, &c) || c.Reason != reason {
			t.Fatalf("err = %v (%T), want cancel %q", err, err, reason)
		}
	}
}

func TestRun_Timeout(t *testing.T) {
	s := compileSource(t, `export default function (e) { if (e.payload.spin) { while (true) {} } }`)
	e := NewEngine(nil, Options{})
	inv, _ := newInv(t, map[string]any{"spin": true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, s, inv) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "listener timed out after ") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its deadline")
	}
	inv, _ = newInv(t, map[string]any{"spin": false})
	if err := e.Run(context.Background(), s, inv); err != nil {
		t.Fatalf("next run: %v", err)
	}
}

func TestRun_TopLevelTimeout(t *testing.T) {
	dir := writeScripts(t, map[string]string{"handler.js": `while (globalThis.spin !== false) {} export default function () {}`})
	s, err := Compile(dir + "/handler.js") // the compile check gives up after a second
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := newInv(t, nil)
	err = NewEngine(nil, Options{}).Run(runCtx(t, 50*time.Millisecond), s, inv)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestRun_Cancelled(t *testing.T) {
	s := compileSource(t, `export default function () { while (true) {} }`)
	ctx, cancel := context.WithCancel(context.Background())
	inv, _ := newInv(t, nil)
	inv.Logger = nil
	done := make(chan error, 1)
	go func() { done <- NewEngine(nil, Options{}).Run(ctx, s, inv) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRun_Module(t *testing.T) {
	s := compileSource(t, `import { rec } from "switchboard";
		export default function (e, j) { const got = rec.whoami("x"); if (got !== j.id + ":x") throw new Error(got) }`)
	m := &recordModule{}
	e := NewEngine([]engine.Module{m}, Options{})
	var invs []*engine.Invocation
	for i := range 3 {
		inv, _ := newInv(t, nil)
		inv.Job.ID = "job_" + string(rune('a'+i))
		invs = append(invs, inv)
		if err := e.Run(context.Background(), s, inv); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.got) != 3 {
		t.Fatalf("module called %d times", len(m.got))
	}
	for i := range invs {
		if m.got[i] != invs[i] {
			t.Errorf("call %d saw invocation %p, want %p", i, m.got[i], invs[i])
		}
	}
}

func TestRun_Console(t *testing.T) {
	s := compileSource(t, `import { log } from "switchboard";
		export default function () { console.log("hello", 42, {a: 1}); log.warn("careful", {n: 2}) }`)
	inv, logs := newInv(t, nil)
	if err := NewEngine(nil, Options{}).Run(context.Background(), s, inv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"level":"INFO","msg":"hello 42 {\"a\":1}"`, `"level":"WARN","msg":"careful","n":2`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestRun_PoolReuse(t *testing.T) {
	s := compileSource(t, `let calls = 0; export default function () { calls++ }`)
	e := NewEngine(nil, Options{})
	inv, _ := newInv(t, nil)
	for range 100 {
		if err := e.Run(context.Background(), s, inv); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Stats().RuntimesCreated; n != 1 {
		t.Errorf("created %d runtimes for 100 sequential runs, want 1", n)
	}
}

func TestRun_PoolConcurrent(t *testing.T) {
	// busy is a per-runtime flag: a runtime used by two runs at once
	// would see it already set.
	s := compileSource(t, `import { rec } from "switchboard";
		let busy = false;
		export default function (e, j) {
			if (busy) throw new Error("runtime shared");
			busy = true;
			try { for (let i = 0; i < 200; i++) rec.whoami("x"); } finally { busy = false }
		}`)
	e := NewEngine([]engine.Module{&recordModule{}}, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				inv, _ := newInv(t, nil)
				errs <- e.Run(context.Background(), s, inv)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Stats().RuntimesCreated; n > 8 {
		t.Errorf("created %d runtimes for 8 goroutines", n)
	}
}

// A payload that does not decode (it is validated where events enter, so
// only a damaged record has one) fails the attempt where it is read, with
// a clear error, and costs nothing to a listener that does not read it.
func TestRun_UndecodablePayload(t *testing.T) {
	e := NewEngine(nil, Options{})
	inv, _ := newInv(t, nil)
	inv.Event.Payload = []byte(`{"id": "task_1",`)
	reads := compileSource(t, `export default function (e) { return e.payload.id }`)
	if err := e.Run(context.Background(), reads, inv); err == nil || !strings.Contains(err.Error(), "decode payload") {
		t.Fatalf("err = %v, want a decode payload error", err)
	}
	ignores := compileSource(t, `export default function (e, j) { return j.id }`)
	if err := e.Run(context.Background(), ignores, inv); err != nil {
		t.Fatalf("a listener that never reads the payload: %v", err)
	}
}

// TestRun_DynamicImport: import() with a literal local path loads the
// bundled module; with a computed name it fails with an error whose stack
// points at the listener's own file:line:col, never at the bundle.
func TestRun_DynamicImport(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"handler.js": `import { load } from "./lib/load.js";
export default async function (e) {
  const m = await import("./lib/answer.js");
  if (m.answer !== 42) throw new Error("literal import: " + m.answer);
  await load(e.payload.name);
}
`,
		"lib/answer.js": "export const answer = 42;\n",
		"lib/load.js": `export async function load(name) {
  const where = "lib/" + name;
  return await import(where);
}
`,
	})
	s, err := Compile(filepath.Join(dir, "handler.js"))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	for _, name := range []string{"fs", "./answer.js"} {
		inv, _ := newInv(t, map[string]any{"name": name})
		err := NewEngine(nil, Options{}).Run(runCtx(t, 10*time.Second), s, inv)
		var ex *Exception
		if !errors.As(err, &ex) || !strings.Contains(ex.Message, "cannot import") {
			t.Fatalf("%s: err = %v (%T), want an Exception saying it cannot import", name, err, err)
		}
		if want := filepath.Join("lib", "load.js") + ":3:"; !strings.Contains(ex.Stack, want) || strings.Contains(ex.Message+ex.Stack, bundleName) {
			t.Fatalf("%s: stack does not point at %s (or names the bundle):\n%s\n%s", name, want, ex.Message, ex.Stack)
		}
	}
}
