package script

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRun_MemoryGuards(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"repeat", `"x".repeat(2 ** 40)`},
		{"padStart", `"x".padStart(2 ** 40)`},
		{"padEnd", `"x".padEnd(2 ** 33, "ab")`},
		{"join of references", `const s = "x".repeat(1 << 20); Array(1 << 12).fill(s).join("")`},
		{"join of sparse array", `const a = []; a.length = 2 ** 32 - 1; a.join("x")`},
		{"fill sparse array", `Array(2 ** 32 - 1).fill(0)`},
		{"map sparse array", `const a = []; a.length = 2 ** 31; a.map(x => x)`},
		{"Array.from length", `Array.from({ length: 2 ** 32 - 1 })`},
		{"concat", `const s = "x".repeat(1 << 22); s.concat(s, s, s, s)`},
		{"replaceAll", `"x".repeat(1 << 20).replaceAll("", "yyyyyyyyyyyyyyyy")`},
		{"ArrayBuffer", `new ArrayBuffer(2 ** 40)`},
		{"Uint8Array", `new Uint8Array(2 ** 40)`},
		{"Float64Array from array-like", `new Float64Array({ length: 2 ** 35 })`},
	}
	e := NewEngine(nil, Options{MemoryLimit: 128 << 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compileSource(t, "export default function () { "+tt.body+" }")
			inv, _ := newInv(t, nil)
			err := e.Run(runCtx(t, 30*time.Second), s, inv)
			var ex *Exception
			if !errors.As(err, &ex) || !strings.Contains(ex.Message, "RangeError") || !strings.Contains(ex.Message, "memory budget") {
				t.Fatalf("err = %v (%T), want a RangeError about the memory budget", err, err)
			}
		})
	}
}

func TestRun_MemoryGuards_Transparent(t *testing.T) {
	s := compileSource(t, `export default function () {
		const check = (got, want) => { if (got !== want) throw new Error(got + " !== " + want) };
		check("ab".repeat(3), "ababab");
		check("5".padStart(3, "0"), "005");
		check([1, 2, 3].join("-"), "1-2-3");
		check([1, 2, 3].map(x => x * 2).join(), "2,4,6");
		check(String([1, [2, 3]]), "1,2,3");
		check("a-b-c".replaceAll("-", "+"), "a+b+c");
		check(new Uint8Array([1, 2, 3]).length, 3);
		check(new Uint8Array(4) instanceof Uint8Array, true);
		check(new Uint8Array(2).constructor === Uint8Array, true);
		check(new ArrayBuffer(8).byteLength, 8);
		check(Array.from({ length: 2 }, (_, i) => i).join(), "0,1");
		check(Array.prototype.map.name, "map");
		class Bytes extends Uint8Array {}
		check(new Bytes(2) instanceof Bytes, true);
	}`)
	inv, _ := newInv(t, nil)
	if err := NewEngine(nil, Options{}).Run(context.Background(), s, inv); err != nil {
		t.Fatal(err)
	}
}

func TestRun_MemoryWatchdog(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"string doubling", `let s = "x"; for (const a = [];;) a.push(s += s)`},
		{"many small arrays", `const keep = []; for (;;) keep.push(new Array(1000).fill(0).map((_, i) => ({ i })))`},
	}
	e := NewEngine(nil, Options{MemoryLimit: 128 << 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compileSource(t, "export default function (e) { if (e.payload.bomb) { "+tt.body+" } }")
			inv, _ := newInv(t, map[string]any{"bomb": true})
			err := e.Run(runCtx(t, 60*time.Second), s, inv)
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("err = %v (%T), want ErrMemoryLimit", err, err)
			}
			inv, _ = newInv(t, map[string]any{"bomb": false})
			if err := e.Run(runCtx(t, 60*time.Second), s, inv); err != nil {
				t.Fatalf("run after the bomb: %v", err)
			}
		})
	}
}
