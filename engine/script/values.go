package script

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
)

// eventValue builds the handler's event argument:
// {id, name, source, receivedAt, headers, payload}.
func eventValue(vm *goja.Runtime, ev *engine.Event) (goja.Value, error) {
	o := vm.NewObject()
	if ev == nil {
		return o, nil
	}
	headers := vm.NewObject()
	for k, v := range ev.Headers {
		_ = headers.Set(k, v)
	}
	_ = o.Set("id", ev.ID)
	_ = o.Set("name", ev.Name)
	_ = o.Set("source", ev.Source)
	_ = o.Set("receivedAt", ev.ReceivedAt.UTC().Format(time.RFC3339Nano))
	_ = o.Set("headers", headers)
	if err := lazyPayload(vm, o, ev.Payload); err != nil {
		return nil, fmt.Errorf("event %s payload: %w", ev.ID, err)
	}
	if ev.Parent != "" {
		_ = o.Set("parent", ev.Parent)
	}
	return o, nil
}

// lazyPayload defines event.payload as an enumerable accessor that decodes
// raw on first read: a listener that never reads the payload (or reads it
// only on some paths) does not pay for decoding it. Assigning to it
// replaces the value, as for a data property. raw was checked where the
// event came in (ingest answers 400, `run` refuses the file, emit
// marshals it), so it is not scanned again per job; bytes that still do
// not decode throw where they are read.
func lazyPayload(vm *goja.Runtime, o *goja.Object, raw json.RawMessage) error {
	var val goja.Value
	get := vm.ToValue(func(goja.FunctionCall) goja.Value {
		if val == nil {
			v, err := payloadValue(vm, raw)
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("decode payload: %w", err)))
			}
			val = v
		}
		return val
	})
	set := vm.ToValue(func(c goja.FunctionCall) goja.Value {
		val = c.Argument(0)
		return goja.Undefined()
	})
	return o.DefineAccessorProperty("payload", get, set, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// payloadValue decodes raw with engine.DecodePayloadFloat, which accepts
// exactly what ingest accepted (so a payload answered 200 always decodes
// here) and gives numbers as float64, what JSON.parse would give; goja
// wraps the maps and slices lazily: measured cheaper than JSON.parse in
// JS (see BenchmarkPayload_*).
func payloadValue(vm *goja.Runtime, raw json.RawMessage) (goja.Value, error) {
	if len(raw) == 0 {
		return goja.Null(), nil
	}
	v, err := engine.DecodePayloadFloat(raw)
	if err != nil {
		return nil, err
	}
	return vm.ToValue(v), nil
}

// jobValue builds the handler's job argument: {id, listener, attempt, maxTries}.
func jobValue(vm *goja.Runtime, j *engine.Job) goja.Value {
	o := vm.NewObject()
	if j == nil {
		return o
	}
	_ = o.Set("id", j.ID)
	_ = o.Set("listener", j.Listener)
	_ = o.Set("attempt", j.Attempt)
	_ = o.Set("maxTries", j.MaxTries)
	if j.OrderKey != "" {
		_ = o.Set("orderKey", j.OrderKey)
	}
	return o
}
