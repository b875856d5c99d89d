package script

import (
	"encoding/json"
	"testing"

	"github.com/dop251/goja"
)

// guardBenches are everyday calls of guarded built-ins, sized like a
// webhook listener's work.
var guardBenches = []struct{ name, setup, expr string }{
	{"JSON.stringify 1KiB", "", "JSON.stringify(payload)"},
	{"JSON.stringify 100KiB", "const big = Array.from({ length: 100 }, () => payload)", "JSON.stringify(big)"},
	{"JSON.parse 1KiB", "const text = JSON.stringify(payload)", "JSON.parse(text)"},
	{"join 1000", "const parts = Array.from({ length: 1000 }, (_, i) => 'row' + i)", "parts.join('\\n')"},
	{"split 1000", "const csv = Array.from({ length: 1000 }, (_, i) => 'row' + i).join('\\n')", "csv.split('\\n')"},
	{"replace RegExp", "const url = 'https://cdn.example.com/out/thumb.jpg?x=1&y=2'", "url.replace(/[?&]([^=]+)=([^&]*)/g, '$1:$2;')"},
	{"replaceAll string", "const s = 'a-b-c-d-e-f-g-h'", "s.replaceAll('-', '+')"},
	{"concat", "const a = 'abc', b = 'def'", "a.concat(b, a, b)"},
}

// BenchmarkGuards measures each call with the guards and, as the
// baseline in the same run, in a runtime without them.
func BenchmarkGuards(b *testing.B) {
	raw, _ := json.Marshal(samplePayload)
	for _, bb := range guardBenches {
		for _, mode := range []string{"plain", "guarded"} {
			b.Run(bb.name+"/"+mode, func(b *testing.B) {
				var vm *goja.Runtime
				if mode == "plain" {
					vm = goja.New()
				} else {
					r, err := newRuntime(nil, nil, Options{}.withDefaults())
					if err != nil {
						b.Fatal(err)
					}
					vm = r.vm
				}
				if _, err := vm.RunString("var payload = " + string(raw) + ";" + bb.setup + "; var bench = () => " + bb.expr); err != nil {
					b.Fatal(err)
				}
				fn, _ := goja.AssertFunction(vm.Get("bench"))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := fn(goja.Undefined()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
