package isolate

import (
	"reflect"
	"testing"
	"time"
)

// FuzzDecode feeds the decoder what a broken child could send: it must
// refuse or decode within its limit, never panic, and what it decodes
// must encode back to a value that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{
		nil, undefined, true, int64(-7), 2.5, "é", []byte{1}, time.Unix(0, 1),
		[]any{int64(1), []any{"x"}}, map[string]any{"k": map[string]any{"n": nil}},
		map[string]any{"k": "call", "h": int64(3), "args": []any{handle(2)}},
	} {
		b, err := encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{tagArray, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{tagObject, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decoder{buf: b, limit: 1 << 20, fn: func(h uint64) (any, error) { return handle(h), nil }}
		v, err := d.top()
		if err != nil {
			return
		}
		if d.cost > d.limit {
			t.Fatalf("decoded past the limit: %d > %d", d.cost, d.limit)
		}
		e := encoder{}
		if err := e.value(v, 0); err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		d2 := decoder{buf: e.buf, fn: func(h uint64) (any, error) { return handle(h), nil }}
		v2, err := d2.top()
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if !reflect.DeepEqual(normal(v), normal(v2)) {
			t.Fatalf("round trip changed %#v into %#v", v, v2)
		}
	})
}

// normal makes values comparable: NaN is not equal to itself, and dates
// carry a monotonic-free location.
func normal(v any) any {
	switch x := v.(type) {
	case float64:
		if x != x {
			return "NaN"
		}
	case time.Time:
		return x.UnixNano()
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normal(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = normal(item)
		}
		return out
	}
	return v
}
