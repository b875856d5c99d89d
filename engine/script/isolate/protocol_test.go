package isolate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// TestProtocol_BrokenChild: a child that announces a 4 GB frame, or
// sends a count no frame can hold, is killed before this process
// allocates for it, and the attempt fails as crashed.
func TestProtocol_BrokenChild(t *testing.T) {
	for mode, want := range map[string]string{"huge": "frame too large", "corrupt": "corrupt value"} {
		t.Run(mode, func(t *testing.T) {
			p := newPool(t, Options{MemoryLimit: 64 << 20, Command: brokenCommand(mode)})
			s := compile(t, okScript)
			inv, _ := newInv(t, nil)
			before := heapAllocs()
			err := p.Run(runCtx(t, 10*time.Second), s, inv)
			if grew := heapAllocs() - before; grew > 4<<20 {
				t.Errorf("allocated %d MiB for the broken frame", grew>>20)
			}
			if !errors.Is(err, engine.ErrCrashed) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want a crash naming %q", err, want)
			}
			if st := p.Stats(); st.Live != 0 {
				t.Fatalf("broken child still running: %+v", st)
			}
		})
	}
}

// TestArgs_Budget: a binding call's arguments may cost the per-call
// budget (MemoryLimit/8); past it the call throws a RangeError in the
// child, which the script can catch.
func TestArgs_Budget(t *testing.T) {
	p := newPool(t, Options{Modules: []engine.Module{probe{}}, MemoryLimit: 64 << 20})
	s := compile(t, `import { probe } from "switchboard";
export default function (e) {
  const m = "x".repeat(1 << 20), three = m + m + m; // repeat alone may make 4 Mi characters
  if (probe.str(three).length !== (3 << 20) + 2) throw new Error("3 MiB did not pass");
  try { probe.str(three + three + three) } catch (err) { throw new Error("caught " + err.name + ": " + err.message) }
}`)
	inv, _ := newInv(t, nil)
	err := p.Run(runCtx(t, 10*time.Second), s, inv)
	if err == nil || err.Error() != "Error: caught RangeError: probe.str arguments would exceed the script memory budget of 8 MiB per call" {
		t.Fatalf("err = %v", err)
	}
}

// TestReload_NewVersions: each script version reaches a child once (the
// bundle is sent when the child lacks it), versions run side by side,
// and a child keeps the runtimes of the versions it has.
func TestReload_NewVersions(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20})
	v1 := compile(t, `let runs = 0; export default function () { runs++; throw new Error("v1 run " + runs) }`)
	v2 := compile(t, `export default function () { throw new Error("v2") }`)
	for _, step := range []struct {
		v    int
		want string
	}{{1, "Error: v1 run 1"}, {1, "Error: v1 run 2"}, {2, "Error: v2"}, {1, "Error: v1 run 3"}} {
		s := v1
		if step.v == 2 {
			s = v2
		}
		inv, _ := newInv(t, nil)
		if err := p.Run(runCtx(t, 10*time.Second), s, inv); err == nil || err.Error() != step.want {
			t.Fatalf("run v%d: %v, want %s", step.v, err, step.want)
		}
	}
	if st := p.Stats(); st.Bundles != 2 || st.Started != 1 {
		t.Fatalf("stats %+v, want 2 bundles sent to 1 child", st)
	}
}

// TestClose_StopsChildren: Close ends every child; Run then fails.
func TestClose_StopsChildren(t *testing.T) {
	p := newPool(t, Options{MemoryLimit: 64 << 20, Processes: 2})
	done := make(chan error, 2)
	for range 2 {
		go func() {
			inv, _ := newInv(t, map[string]any{"n": 1})
			done <- p.Run(runCtx(t, 10*time.Second), compile(t, okScript), inv)
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ids := pids(p)
	if len(ids) != 2 {
		t.Fatalf("pids %v, want 2 children", ids)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pid := range ids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
	inv, _ := newInv(t, nil)
	if err := p.Run(context.Background(), compile(t, okScript), inv); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if st := p.Stats(); st.Died != 0 || st.Live != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCodec_RoundTrip: what bindings return and goja exports comes back
// with the same Go types.
func TestCodec_RoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	for _, v := range []any{
		nil, true, false, int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 1.5, math.Inf(-1), math.Copysign(0, -1),
		"", "é\x00\n\"", []byte{0, 1, 255}, at, []any{}, []any{int64(1), "a", nil}, map[string]any{},
		map[string]any{"a": map[string]any{"b": []any{2.5}}}, undefined,
	} {
		b, err := encode(v)
		if err != nil {
			t.Fatalf("encode %#v: %v", v, err)
		}
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode %#v: %v", v, err)
		}
		if tm, ok := got.(time.Time); ok && tm.Equal(at) {
			continue
		}
		if f, ok := v.(float64); ok && math.Signbit(f) != math.Signbit(got.(float64)) {
			t.Fatalf("%v lost its sign", v)
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("round trip %#v → %#v", v, got)
		}
	}
	// Other Go types come back as what a script would see of them.
	b, _ := encode(map[string]any{"i": int32(3), "u": uint8(4), "f": float32(0.5), "l": []string{"x"},
		"m": map[string]int{"k": 1}, "s": struct{ A int }{1}, "p": new(int)})
	got, _ := decode(b)
	want := map[string]any{"i": int64(3), "u": int64(4), "f": 0.5, "l": []any{"x"},
		"m": map[string]any{"k": int64(1)}, "s": map[string]any{"A": 1.0}, "p": int64(0)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

// TestCodec_Limits: the decoded cost is bounded, cycles and deep nesting
// are refused, and the encoder's estimate is never below the decoder's.
func TestCodec_Limits(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := encode(cyclic); err == nil || !strings.Contains(err.Error(), "cyclic") {
		t.Fatalf("cyclic: %v", err)
	}
	v := make([]any, 1000)
	for i := range v {
		v[i] = map[string]any{"k": fmt.Sprint(i)}
	}
	e := encoder{}
	if err := e.value(v, 0); err != nil {
		t.Fatal(err)
	}
	d := decoder{buf: e.buf, limit: e.cost}
	if _, err := d.top(); err != nil || d.cost > e.cost {
		t.Fatalf("decode within the encoder's estimate %d: cost %d, %v", e.cost, d.cost, err)
	}
	d = decoder{buf: e.buf, limit: e.cost / 2}
	if _, err := d.top(); !errors.Is(err, errTooLarge) {
		t.Fatalf("decode past the limit: %v", err)
	}
}

// heapAllocs is the bytes this process has allocated so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
