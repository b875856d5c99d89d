package script

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/dop251/goja"
)

const trivial = `export default function (event, job) { return event.payload.id }`

// samplePayload is an Ittybit-like task webhook of about 1 KiB.
var samplePayload = map[string]any{
	"id": "evt_123", "object": "event", "kind": "task.succeeded", "created_at": 1767225600,
	"data": map[string]any{
		"id": "task_abc", "object": "task", "kind": "thumbnail", "status": "succeeded",
		"input":  map[string]any{"url": "https://cdn.example.com/in/video.mp4", "size": 104857600},
		"output": map[string]any{"url": "https://cdn.example.com/out/thumb.jpg", "width": 1280, "height": 720, "format": "jpg"},
		"meta":   map[string]any{"media_id": "med_1", "user_id": "usr_9", "tags": []any{"a", "b", "c"}},
		"timings": []any{
			map[string]any{"step": "download", "ms": 1200}, map[string]any{"step": "render", "ms": 3400},
			map[string]any{"step": "upload", "ms": 800},
		},
	},
}

func BenchmarkRun_Trivial_Pooled(b *testing.B) { benchPooled(b, trivial) }

// BenchmarkRun_NoPayload_Pooled runs a listener that never reads the
// payload: with the lazy payload it is not decoded at all.
func BenchmarkRun_NoPayload_Pooled(b *testing.B) {
	benchPooled(b, `export default function (event, job) { return job.id }`)
}

// benchPooled runs src on the engine's pooled runtimes.
func benchPooled(b *testing.B, src string) {
	s := compileSource(b, src)
	e := NewEngine(nil, Options{})
	inv, _ := newInv(b, samplePayload)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Run(ctx, s, inv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRun_Trivial_Fresh(b *testing.B) {
	s := compileSource(b, trivial)
	e := NewEngine(nil, Options{})
	inv, _ := newInv(b, samplePayload)
	b.ReportAllocs()
	for b.Loop() {
		r, err := newRuntime(s, nil, e.opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.call(r, s, inv); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPayload(b *testing.B, convert func(vm *goja.Runtime, raw []byte) goja.Value) {
	raw, _ := json.Marshal(samplePayload)
	vm := goja.New()
	read, err := vm.RunString(`(function (p) { return p.data.output.width + p.data.timings.length })`)
	if err != nil {
		b.Fatal(err)
	}
	fn, _ := goja.AssertFunction(read)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fn(goja.Undefined(), convert(vm, raw)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPayload_ToValue(b *testing.B) {
	benchPayload(b, func(vm *goja.Runtime, raw []byte) goja.Value {
		v, err := payloadValue(vm, raw)
		if err != nil {
			b.Fatal(err)
		}
		return v
	})
}

func BenchmarkPayload_JSONParse(b *testing.B) {
	var parse goja.Callable
	benchPayload(b, func(vm *goja.Runtime, raw []byte) goja.Value {
		if parse == nil {
			parse, _ = goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
		}
		v, err := parse(goja.Undefined(), vm.ToValue(string(raw)))
		if err != nil {
			b.Fatal(err)
		}
		return v
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("testdata/ts/handler.ts"); err != nil {
			b.Fatal(err)
		}
	}
}
