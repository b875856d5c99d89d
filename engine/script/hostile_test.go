package script

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostileLimit is the engine's MemoryLimit in these tests; MaxAllocBytes
// is its default, an eighth of it. Each payload would create at least
// several times hostileLimit if its built-in were not guarded, yet not so
// much that an unguarded run endangers the machine: heapCeiling stops
// the test binary first.
const hostileLimit = 64 << 20

// hostile are single built-in calls (or a few) that multiply memory far
// past what the script holds: by references to one large value, by an
// argument, by a per-element cost or by nesting that recurses in Go.
var hostile = []struct{ name, body string }{
	{"JSON.stringify of references", `const s = "x".repeat(1 << 20); JSON.stringify(new Array(1000).fill(s))`},
	{"JSON.stringify of a DAG", `let o = "x".repeat(1000); for (let i = 0; i < 20; i++) o = [o, o]; JSON.stringify(o)`},
	{"JSON.stringify with a replacer", `const s = "x".repeat(1 << 20); JSON.stringify(new Array(1000).fill(0), (k, v) => k === "" ? v : s)`},
	{"JSON.stringify with a property list", `const s = "x".repeat(1 << 20); JSON.stringify(new Array(1000).fill({ a: s, b: 1 }), ["a"])`},
	{"JSON.stringify of raw JSON", `const r = JSON.rawJSON('"' + "x".repeat(1 << 20) + '"'); JSON.stringify(new Array(1000).fill(r))`},
	{"JSON.stringify nested", `let a = []; for (let i = 0; i < 20000; i++) a = [a]; JSON.stringify(a)`},
	{"JSON.parse of many arrays", `JSON.parse("[" + "[],".repeat(1 << 20) + "0]")`},
	{"JSON.parse nested", `JSON.parse("[".repeat(20000) + "]".repeat(20000))`},
	{"join of references", `const s = "x".repeat(1 << 20); new Array(1000).fill(s).join("")`},
	{"join of objects", `const s = "x".repeat(1 << 20); new Array(1000).fill({ toString() { return s } }).join()`},
	{"toString of nested references", `const s = "x".repeat(1 << 20); String(new Array(1000).fill([s]))`},
	{"toLocaleString of references", `const s = "x".repeat(1 << 20); new Array(1000).fill({ toLocaleString() { return s } }).toLocaleString()`},
	{"concat of objects", `const s = "x".repeat(1 << 20); "".concat(...new Array(1000).fill({ toString: () => s }))`},
	{"replaceAll with a long replacement", `"x".repeat(1 << 16).replaceAll("x", "y".repeat(1 << 14))`},
	{"replaceAll with $\u0060", "\"x\".repeat(1 << 15).replaceAll(\"x\", \"$`\")"},
	{"replace with $' per RegExp match", `"x".repeat(1 << 15).replace(/x/g, "$'")`},
	{"replace with $& of a long match", `const p = "a".repeat(1000); p.repeat(1000).replace(new RegExp(p, "g"), "$&".repeat(1000))`},
	{"replace with a long capture", `const p = "a".repeat(1000); p.repeat(1000).replace(new RegExp("(" + p + ")", "g"), "$1".repeat(1000))`},
	{"replace with a function", `const s = "y".repeat(1 << 20); "x".repeat(1000).replace(/x/g, () => s)`},
	{"replaceAll with a function", `const s = "y".repeat(1 << 20); "x".repeat(1000).replaceAll("x", () => s)`},
	{"match of many groups", `"x".repeat(1 << 21).match(/()()()()()()()()()()()()()()()()/g)`},
	{"replace of many groups", `"x".repeat(1 << 21).replace(/()()()()()()()()()()()()()()()()/g, "")`},
	{"split with captures", `"x".repeat(1 << 21).split(/()()()()()()()()/)`},
	{"split into characters", `"x".repeat(1 << 22).split("")`},
	{"split on a separator", `",".repeat(1 << 22).split(",")`},
	{"String.raw of references", `const s = "x".repeat(1 << 20); String.raw({ raw: new Array(1000).fill(s) })`},
	{"Array concat of references", `const a = new Array(1 << 19).fill(0); [].concat(...new Array(200).fill(a))`},
	{"flat of references", `const a = new Array(1 << 19).fill(0); new Array(200).fill(a).flat()`},
	{"flatMap of references", `const a = new Array(1 << 19).fill(0); new Array(200).fill(0).flatMap(() => a)`},
	{"flat nested", `let a = [0]; for (let i = 0; i < 20000; i++) a = [a]; a.flat(Infinity)`},
	{"Array.from a string", `Array.from("x".repeat(1 << 22))`},
	{"Object.entries of an array", `Object.entries(new Array(1 << 19).fill(0))`},
	{"Object.keys of a string", `Object.keys("x".repeat(1 << 22))`},
	{"Object.values of a string", `Object.values("x".repeat(1 << 22))`},
	{"Object.assign of a string", `Object.assign({}, "x".repeat(1 << 22))`},
	{"apply of an array-like", `Math.max.apply(null, { length: 2 ** 26 })`},
	{"Reflect.apply of an array-like", `Reflect.apply(Math.max, null, { length: 2 ** 26 })`},
	{"Reflect.construct of an array-like", `Reflect.construct(Array, { length: 2 ** 26 })`},
	{"new Map of an array", `new Map(new Array(1 << 19).fill([1, 2]))`},
	{"new Set of a typed array", `new Set(new Int32Array(1 << 21).map((_, i) => i))`},
	{"Promise.all of an array", `Promise.all(new Array(1 << 19).fill(0))`},
	{"typed array join", `new Float64Array(1 << 20).fill(-1.2345678901234567e-300).join()`},
	{"normalize NFKD", `"\ufdfa".repeat(1 << 20).normalize("NFKD")`},
	{"toUpperCase", `"\u0390".repeat(1 << 21).toUpperCase()`},
	{"encodeURIComponent", `encodeURIComponent("\u4e00".repeat(1 << 21))`},
	{"eval of a large program", `eval("[" + "0,".repeat(1 << 20) + "0]")`},
	{"new Function of a large body", `new Function("return [" + "0,".repeat(1 << 20) + "0]")`},
	{"Function reached through a prototype", `new (Object.getPrototypeOf(function () {}).constructor)("return [" + "0,".repeat(1 << 20) + "0]")`},
	{"RegExp of a large source", `new RegExp("a".repeat(1 << 20))`},
	{"typed array constructor reached through a prototype", `new (Object.getPrototypeOf(new Uint8Array(1)).constructor)(2 ** 40)`},
}

// heapPeak samples the heap while run runs and returns the most it held
// above what it held before.
func heapPeak(run func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	run()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// memoryError reports whether err is the clear memory error the sandbox
// promises: a RangeError naming the budget, or ErrMemoryLimit.
func memoryError(err error) bool {
	var ex *Exception
	return errors.Is(err, ErrMemoryLimit) ||
		(errors.As(err, &ex) && strings.HasPrefix(ex.Message, "RangeError:") && strings.Contains(ex.Message, "memory budget of"))
}

// TestSandbox_HostilePayloads runs each payload through the engine: the
// attempt fails with a memory error before its deadline, the heap never
// grows past MemoryLimit plus two MaxAllocBytes above where it started,
// and the same script then runs normally.
func TestSandbox_HostilePayloads(t *testing.T) {
	heapCeiling(t, 768<<20)
	opts := Options{MemoryLimit: hostileLimit}
	slack := uint64(opts.withDefaults().MaxAllocBytes) * 2
	e := NewEngine(nil, opts)
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			s := compileSource(t, "export default function (e) { if (e.payload.bomb) { "+tt.body+" } }")
			inv, _ := newInv(t, map[string]any{"bomb": true})
			var err error
			peak := heapPeak(func() { err = e.Run(runCtx(t, 20*time.Second), s, inv) })
			if !memoryError(err) {
				t.Fatalf("err = %v (%T), want a RangeError naming the memory budget or ErrMemoryLimit", err, err)
			}
			if peak > hostileLimit+slack {
				t.Errorf("heap grew %d MiB, past MemoryLimit (%d MiB) plus 2×MaxAllocBytes", peak>>20, hostileLimit>>20)
			}
			inv, _ = newInv(t, map[string]any{"bomb": false})
			if err := e.Run(runCtx(t, 20*time.Second), s, inv); err != nil {
				t.Fatalf("run after the payload: %v", err)
			}
		})
	}
}

// TestSandbox_IssuePayload is the payload from the report at full size:
// it fails with a memory error instead of growing to 2 GB (the deadline
// is generous: the error, not the clock, is what is promised). It runs
// only after the scaled-down payload held, so a regression cannot make
// it take the machine down.
func TestSandbox_IssuePayload(t *testing.T) {
	heapCeiling(t, 768<<20)
	e := NewEngine(nil, Options{MemoryLimit: hostileLimit})
	s := compileSource(t, "export default function () { const s = 'x'.repeat(1 << 20); JSON.stringify(new Array(1000).fill(s)); }")
	inv, _ := newInv(t, nil)
	if err := e.Run(runCtx(t, 60*time.Second), s, inv); !memoryError(err) {
		t.Fatalf("scaled payload: err = %v, want a memory error; not running the full one", err)
	}
	s = compileSource(t, "export default function () { const s = 'x'.repeat(1 << 20); JSON.stringify(new Array(100000).fill(s)); }")
	var err error
	peak := heapPeak(func() { err = e.Run(runCtx(t, 60*time.Second), s, inv) })
	if !memoryError(err) {
		t.Fatalf("err = %v (%T), want a memory error", err, err)
	}
	if peak > hostileLimit {
		t.Errorf("heap grew %d MiB", peak>>20)
	}
}

// TestSandbox_OthersKeepRunning: while hostile payloads fail one after
// another, another listener's attempts on the same engine all succeed.
func TestSandbox_OthersKeepRunning(t *testing.T) {
	heapCeiling(t, 768<<20)
	e := NewEngine(nil, Options{MemoryLimit: hostileLimit})
	bomb := compileSource(t, `export default function (e) { const s = "x".repeat(1 << 20); new Array(1000).fill(s).join("") }`)
	calm := compileSource(t, "export default function (e) { let n = 0; for (let i = 0; i < 100; i++) n += JSON.stringify({ i, s: 'x'.repeat(i) }).length; return n }")
	stop := make(chan struct{})
	var ran, failed atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				inv, _ := newInv(t, nil)
				if err := e.Run(runCtx(t, 20*time.Second), calm, inv); err != nil {
					t.Errorf("calm listener failed: %v", err)
					failed.Add(1)
				}
				ran.Add(1)
			}
		}()
	}
	for range 10 {
		inv, _ := newInv(t, nil)
		if err := e.Run(runCtx(t, 20*time.Second), bomb, inv); !memoryError(err) {
			t.Errorf("bomb: err = %v, want a memory error", err)
		}
	}
	for ran.Load() < 10 { // let the calm listener show it kept running
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d calm attempts failed", failed.Load(), ran.Load())
	}
}

// TestSandbox_WatchdogBound: JS that grows memory step by step (no
// single built-in call doing it) is stopped by the heap watchdog with
// ErrMemoryLimit. Growth in small steps ends under twice MemoryLimit. A
// string doubled in a loop (s += s) ends under eight times it: each
// doubling is one VM step that no interrupt can cut short, and one more
// may start while the watchdog's collection decides (measured 3.5–7×).
func TestSandbox_WatchdogBound(t *testing.T) {
	heapCeiling(t, 768<<20)
	tests := []struct {
		name, body string
		bound      uint64
	}{
		{"objects pushed", `const keep = []; for (;;) keep.push({ a: [1, 2, 3], s: "abc" + keep.length })`, 2 * hostileLimit},
		{"arrays mapped", `const keep = []; for (;;) keep.push(new Array(1000).fill(0).map((_, i) => ({ i })))`, 2 * hostileLimit},
		{"strings appended", `const keep = []; const s = "x".repeat(1 << 20); for (;;) keep.push(s + "y")`, 2 * hostileLimit},
		{"string kept doubling", `let s = "x"; for (const keep = [];;) keep.push(s += s)`, 8 * hostileLimit},
		{"string doubling", `let s = "x"; for (;;) s += s`, 8 * hostileLimit},
	}
	e := NewEngine(nil, Options{MemoryLimit: hostileLimit})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compileSource(t, "export default function () { "+tt.body+" }")
			inv, _ := newInv(t, nil)
			var err error
			peak := heapPeak(func() { err = e.Run(runCtx(t, 60*time.Second), s, inv) })
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("err = %v, want ErrMemoryLimit", err)
			}
			t.Logf("heap peak %d MiB above the start (limit %d MiB)", peak>>20, hostileLimit>>20)
			if peak > tt.bound {
				t.Errorf("heap grew %d MiB, past %d MiB", peak>>20, tt.bound>>20)
			}
		})
	}
}
