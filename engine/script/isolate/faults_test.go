package isolate

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/script"
)

const (
	loop       = `export default function () { for (;;) {} }`
	backtrack  = `export default function () { /(?=a)(a+)+$/.test("a".repeat(28) + "!") }` // 35 s in goja's regexp2, deaf to interrupts
	doubling   = `export default function () { let s = "x"; for (;;) s += s }`
	growing    = `export default function () { const a = []; for (let i = 0; ; i++) a.push({ i, s: "v" + i }) }`
	okScript   = `export default function (e) { if (e.payload.n !== 1) throw new Error("bad payload") }`
	stringBomb = `export default function () { const s = 'x'.repeat(1 << 20); JSON.stringify(new Array(100000).fill(s)) }`
)

// pids returns the pids of p's children.
func pids(p *Pool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for pr := range p.live {
		out = append(out, pr.cmd.Process.Pid)
	}
	return out
}

func mustRun(t *testing.T, p *Pool, src string) {
	t.Helper()
	inv, _ := newInv(t, map[string]any{"n": 1})
	if err := p.Run(runCtx(t, 10*time.Second), compile(t, src), inv); err != nil {
		t.Fatalf("ordinary script: %v", err)
	}
}

func runFor(t *testing.T, p *Pool, src string, d time.Duration) error {
	t.Helper()
	inv, _ := newInv(t, map[string]any{"n": 1})
	s := compile(t, src)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := p.Run(ctx, s, inv)
	if err == nil {
		t.Fatal("hostile script succeeded")
	}
	return err
}

// TestFaults_Timeout: a loop ends at the deadline inside the child,
// which lives on and runs the next attempt.
func TestFaults_Timeout(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	mustRun(t, p, okScript)
	err := runFor(t, p, loop, 300*time.Millisecond)
	e := engine.Classify(err, context.DeadlineExceeded, 300*time.Millisecond, false)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "listener timed out after") || e.Err.Kind != engine.KindTimeout {
		t.Fatalf("err = %v (kind %s), want a timeout after 300ms", err, e.Err.Kind)
	}
	mustRun(t, p, okScript)
	if st := p.Stats(); st.Started != 1 || st.Died != 0 {
		t.Fatalf("stats %+v: the interrupted child should have served the next attempt", st)
	}
}

// TestFaults_Unstoppable: a regexp no interrupt reaches is killed a
// grace after the deadline; the attempt times out and a new child runs
// the next one.
func TestFaults_Unstoppable(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20, Grace: 200 * time.Millisecond})
	start := time.Now()
	err := runFor(t, p, backtrack, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not stop within 200ms and was killed") {
		t.Fatalf("err = %v, want a timeout that killed the child", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	mustRun(t, p, okScript)
	if st := p.Stats(); st.Started != 2 || st.Died != 1 || st.Live != 1 {
		t.Fatalf("stats %+v, want the killed child replaced", st)
	}
}

// TestFaults_Shutdown: a cancelled context (shutdown) interrupts the
// attempt, which the worker then records as interrupted.
func TestFaults_Shutdown(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	inv, _ := newInv(t, nil)
	err := p.Run(ctx, compile(t, loop), inv)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "listener interrupted") {
		t.Fatalf("err = %v, want listener interrupted: context canceled", err)
	}
	if e := engine.Classify(err, ctx.Err(), time.Second, true); e.Outcome != engine.Interrupted {
		t.Fatalf("outcome %s, want interrupted", e.Outcome)
	}
}

// TestFaults_MemoryCap: a string doubled in a loop (one VM step per
// doubling, which nothing in the VM can stop) meets the kernel's cap:
// the child dies, the attempt fails with the memory error, this process
// stays small and the next attempt runs in a new child.
func TestFaults_MemoryCap(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	mustRun(t, p, okScript)
	runtime.GC()
	before := heapObjects()
	err := runFor(t, p, doubling, 30*time.Second)
	if !errors.Is(err, engine.ErrMemoryLimit) || !strings.Contains(err.Error(), "reached the 64 MiB memory cap") {
		t.Fatalf("err = %v, want the memory cap", err)
	}
	if e := engine.Classify(err, nil, time.Second, false); e.Err.Kind != engine.KindMemory {
		t.Fatalf("kind %s, want memory", e.Err.Kind)
	}
	if grew := int64(heapObjects()) - int64(before); grew > 16<<20 {
		t.Fatalf("this process's heap grew %d MiB", grew>>20)
	}
	mustRun(t, p, okScript)
	if st := p.Stats(); st.Died != 1 || st.Started != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFaults_Watchdog: growth in small steps is stopped by the child's
// heap watchdog at half the limit, with a clear message; the child lives.
func TestFaults_Watchdog(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 128 << 20})
	err := runFor(t, p, growing, 60*time.Second)
	if !errors.Is(err, engine.ErrMemoryLimit) {
		t.Fatalf("err = %v, want the memory limit", err)
	}
	// Whether the watchdog or the cap stopped it, the child must not be
	// taken for crashed, and the next attempt runs.
	if e := engine.Classify(err, nil, time.Second, false); e.Err.Kind != engine.KindMemory {
		t.Fatalf("kind %s", e.Err.Kind)
	}
	t.Logf("stopped by: %v (stats %+v)", err, p.Stats())
	mustRun(t, p, okScript)
}

// TestFaults_StringBomb: the payload fails with the guard's
// budget error in the child, exactly as in-process.
func TestFaults_StringBomb(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	err := runFor(t, p, stringBomb, 30*time.Second)
	if !strings.Contains(err.Error(), "JSON.stringify would exceed the script memory budget of 8 MiB per call") {
		t.Fatalf("err = %v", err)
	}
}

// TestFaults_Crash: a child that dies otherwise (here SIGABRT) fails
// its attempt as crashed, naming the signal.
func TestFaults_Crash(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	mustRun(t, p, okScript)
	pid := pids(p)[0]
	time.AfterFunc(200*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGABRT) })
	err := runFor(t, p, loop, 30*time.Second)
	if !errors.Is(err, engine.ErrCrashed) || !strings.Contains(err.Error(), "SIGABRT") {
		t.Fatalf("err = %v, want a crash by SIGABRT", err)
	}
	if e := engine.Classify(err, nil, time.Second, false); e.Err.Kind != engine.KindCrash {
		t.Fatalf("kind %s, want crash", e.Err.Kind)
	}
	mustRun(t, p, okScript)
}

// TestFaults_OthersKeepRunning: while one child doubles a string to its
// death, attempts in the other go on succeeding.
func TestFaults_OthersKeepRunning(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20, Processes: 2})
	ok := compile(t, okScript)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var runs, fails int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			inv, _ := newInv(t, map[string]any{"n": 1})
			if err := p.Run(runCtx(t, 10*time.Second), ok, inv); err != nil {
				fails++
			}
			runs++
		}
	}()
	err := runFor(t, p, doubling, 30*time.Second)
	close(stop)
	wg.Wait()
	if !errors.Is(err, engine.ErrMemoryLimit) || runs == 0 || fails != 0 {
		t.Fatalf("hostile: %v; others: %d runs, %d failed", err, runs, fails)
	}
}

// TestCap_IsSet: the kernel holds each child to its start-up size plus
// MemoryLimit (RLIMIT_DATA), and its GOMEMLIMIT is set.
func TestCap_IsSet(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 96 << 20})
	mustRun(t, p, okScript)
	var pr *proc
	p.mu.Lock()
	for x := range p.live {
		pr = x
	}
	p.mu.Unlock()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pr.cmd.Process.Pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(pr.cap, 10)
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max data size") {
			f := strings.Fields(line)
			found = len(f) >= 5 && f[3] == want && f[4] == want
		}
	}
	if !found || pr.cap < 96<<20 {
		t.Fatalf("cap %d; limits:\n%s", pr.cap, b)
	}
	env, _ := os.ReadFile("/proc/" + strconv.Itoa(pr.cmd.Process.Pid) + "/environ")
	if !strings.Contains(string(env), "GOMEMLIMIT="+strconv.Itoa(96<<20)) {
		t.Fatalf("environ = %q", env)
	}
	t.Logf("start-up data size %d MiB, cap %d MiB", (pr.cap-96<<20)>>20, pr.cap>>20)
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestFaults_SingleSteps: what no interrupt or guard reaches in-process
// (one VM step that allocates or runs without end) ends its child here:
// at the memory cap, or killed a grace after the deadline. The pool
// goes on with a new child each time.
func TestFaults_SingleSteps(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20, Grace: 200 * time.Millisecond})
	for _, c := range []struct{ name, src, want string }{
		// Operands from the payload: with literals goja would fold them
		// while compiling (see TestCheck_CompileHazards).
		{"BigInt shift", `export default function (e) { const one = BigInt(e.payload.n); return one << (one << 40n) }`, "memory"},
		{"BigInt power", `export default function (e) { const n = BigInt(e.payload.n); return (3n * n) ** (n << 36n) }`, "any"},
		{"spread of a string", `export default function () { return [..."x".repeat(3 << 20)].length }`, "memory"},
		{"spread into a call", `export default function () { return Math.max(..."1".repeat(3 << 20)) }`, "any"},
	} {
		t.Run(c.name, func(t *testing.T) {
			died := p.Stats().Died
			start := time.Now()
			d := time.Second // what runs without end is killed a grace after it
			if c.want == "memory" {
				d = 20 * time.Second // a slow (race-enabled) child reaches the cap in time
			}
			err := runFor(t, p, c.src, d)
			memory, timeout := errors.Is(err, engine.ErrMemoryLimit), errors.Is(err, context.DeadlineExceeded)
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			switch {
			case c.want == "memory" && !memory, !memory && !timeout:
				t.Fatalf("err = %v, want %s", err, c.want)
			}
			if p.Stats().Died != died+1 {
				t.Fatalf("stats %+v: the child should have ended", p.Stats())
			}
			mustRun(t, p, okScript)
		})
	}
}

// TestCheck_CompileHazards: compiling runs code too (goja folds constant
// expressions, the default-export check runs the top level). With a
// Checker the router only bundles; what blows up does so in the checker
// child, as a compile error, and the next check gets a new child. What
// is fine compiles with the same errors as in-process.
func TestCheck_CompileHazards(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	for _, c := range []struct{ name, src, want string }{
		{"BigInt folded", `export default function () { return 1n << (1n << 40n) }`, "compiling it ended its script process: listener stopped: memory limit exceeded"},
		{"top level doubling", "let s = 'x'; for (;;) s += s;\nexport default function () {}", "compiling it ended its script process: listener stopped: memory limit exceeded"},
		{"no default export", `export const x = 1`, "default export must be a function, got undefined"},
		{"fine", `export default function () {}`, ""},
		{"top level loop", "for (;;) {}\nexport default function () {}", ""}, // left for the first run, as in-process
	} {
		t.Run(c.name, func(t *testing.T) {
			before := heapObjects()
			_, err := compileIn(t, p, c.src)
			if grew := int64(heapObjects()) - int64(before); grew > 16<<20 {
				t.Errorf("this process's heap grew %d MiB", grew>>20)
			}
			var ce *script.CompileError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case c.want != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "handler.js")):
				t.Fatalf("err = %v, want a CompileError in handler.js with %q", err, c.want)
			}
		})
	}
}
