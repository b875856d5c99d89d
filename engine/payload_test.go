package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name, raw string
		path      string // of the *PayloadError, when one is wanted
		reason    string
	}{
		{name: "object", raw: `{"a":{"b":[1,"x",true,null]}}`},
		{name: "any value", raw: ` [1, 2] `},
		{name: "big but finite", raw: `{"n":1.7976931348623157e308,"m":-1e308}`},
		{name: "underflow rounds to zero", raw: `{"n":1e-400}`},
		{name: "wide integer", raw: `{"id":123456789012345678901234567890}`},
		{name: "overflow", raw: `{"n":1e400}`, path: "n", reason: "number 1e400 does not fit a 64-bit float"},
		{name: "overflow nested", raw: `{"a":{"list":[0,{"x":-2e308}]}}`, path: "a.list.1.x", reason: "number -2e308 does not fit"},
		{name: "overflow at the top", raw: `1e999`, path: "", reason: "number 1e999 does not fit"},
		{name: "syntax", raw: `{"a":}`, reason: "is not JSON: invalid character '}'"},
		{name: "truncated", raw: `{"a":1`, reason: "is not JSON: unexpected end"},
		{name: "empty", raw: ``, reason: "is not JSON: unexpected end"},
		{name: "data after", raw: `{} {}`, reason: "is not JSON: data after the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodePayload([]byte(tt.raw))
			f, ferr := DecodePayloadFloat([]byte(tt.raw))
			if tt.reason == "" {
				if err != nil || ferr != nil {
					t.Fatalf("DecodePayload: %v; DecodePayloadFloat: %v", err, ferr)
				}
				var want any
				if err := json.Unmarshal([]byte(tt.raw), &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(f, want) || !reflect.DeepEqual(floats(v), want) {
					t.Fatalf("DecodePayloadFloat = %#v, DecodePayload = %#v, want what json.Unmarshal gives: %#v", f, v, want)
				}
				return
			}
			var pe *PayloadError
			if !errors.As(err, &pe) || pe.Path != tt.path || !strings.Contains(pe.Reason, tt.reason) {
				t.Fatalf("error = %#v, want path %q and a reason containing %q", err, tt.path, tt.reason)
			}
			if ferr == nil || ferr.Error() != err.Error() {
				t.Fatalf("DecodePayloadFloat error = %v, want DecodePayload's: %v", ferr, err)
			}
		})
	}
}

func TestDecodePayload_NumbersExact(t *testing.T) {
	v, err := DecodePayload([]byte(`{"id":9007199254740993,"big":123456789012345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["id"] != json.Number("9007199254740993") || m["big"] != json.Number("123456789012345678901234567890") {
		t.Fatalf("numbers = %#v, want their exact text", m)
	}
}

// TestFilter_Numbers: payload and filter numbers compare by value, and
// exactly where a float64 would blur two integers.
func TestFilter_Numbers(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		when    any
		want    bool
	}{
		{"int", `{"n":3}`, int64(3), true},
		{"float text equals int", `{"n":3.0}`, int64(3), true},
		{"exponent", `{"n":1e2}`, int64(100), true},
		{"float", `{"n":0.5}`, 0.5, true},
		{"float differs", `{"n":0.25}`, 0.5, false},
		{"past 2^53, equal", `{"n":9007199254740993}`, int64(9007199254740993), true},
		{"past 2^53, one apart", `{"n":9007199254740992}`, int64(9007199254740993), false},
		{"number is not its string", `{"n":3}`, "3", false},
		{"string is not a number", `{"n":"3"}`, int64(3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilter("when", map[string]any{"n": tt.when})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(decode(t, tt.payload)); got != tt.want {
				t.Fatalf("Match(%s) with n = %#v: %v, want %v", tt.payload, tt.when, got, tt.want)
			}
		})
	}
}

func TestNewFilter_NotFinite(t *testing.T) {
	for _, v := range []any{inf(), -inf()} {
		if _, err := NewFilter("listeners[0].when", map[string]any{"n": v}); err == nil || !strings.Contains(err.Error(), "listeners[0].when.n: ") {
			t.Fatalf("NewFilter(%v) = %v, want an error naming the key", v, err)
		}
	}
}

func inf() float64 { var z float64; return 1 / z }

// FuzzDecodePayload: the two decoders accept exactly the same bytes, with
// the same error, and agree on the value.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{`{"n":1e400}`, `{"a":[1,2.5,-0,"x",null,true]}`, `1e-400`, `{} x`, `"\ud800"`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := DecodePayload(raw)
		fv, ferr := DecodePayloadFloat(raw)
		if (err == nil) != (ferr == nil) {
			t.Fatalf("DecodePayload: %v, DecodePayloadFloat: %v", err, ferr)
		}
		if err != nil {
			if err.Error() != ferr.Error() {
				t.Fatalf("errors differ: %q vs %q", err, ferr)
			}
			return
		}
		if !reflect.DeepEqual(floats(v), fv) {
			t.Fatalf("values differ: %#v vs %#v", v, fv)
		}
	})
}

// floats turns DecodePayload's json.Numbers into float64s.
func floats(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			panic(err)
		}
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = floats(item)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = floats(item)
		}
		return out
	}
	return v
}
