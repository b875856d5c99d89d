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
	payload, err := payloadValue(vm, ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("event %s payload: %w", ev.ID, err)
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
	_ = o.Set("payload", payload)
	if ev.Parent != "" {
		_ = o.Set("parent", ev.Parent)
	}
	return o, nil
}

// payloadValue decodes the raw JSON in Go and hands the result to goja,
// which wraps maps and slices lazily: measured cheaper than JSON.parse in
// JS (see BenchmarkPayload_*).
func payloadValue(vm *goja.Runtime, raw json.RawMessage) (goja.Value, error) {
	if len(raw) == 0 {
		return goja.Null(), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
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
	return o
}
