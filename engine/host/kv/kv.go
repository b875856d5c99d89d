package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// MaxValueBytes bounds one stored value (its JSON encoding).
const MaxValueBytes = 1 << 20

// Module is the "kv" host module over an engine.KV. Each listener sees its
// own namespace (the listener's name).
type Module struct {
	store engine.KV
}

var _ engine.Module = (*Module)(nil)

// New returns the module over store.
func New(store engine.KV) *Module { return &Module{store: store} }

// Name is the export name, "kv".
func (m *Module) Name() string { return "kv" }

// Exports returns get, set and delete. Values are stored as JSON, so
// objects, arrays, numbers, strings and booleans round-trip; get of an
// absent or expired key returns null. set's options take ttl as a
// duration string ("1h", "7d") or a number of seconds. In a dry run set
// and delete are recorded and skipped; get still reads.
func (m *Module) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"get": func(key string) (any, error) {
			inv := cur()
			ns, err := namespace(inv, key)
			if err != nil {
				return nil, fmt.Errorf("kv.get: %w", err)
			}
			raw, ok, err := m.store.KVGet(inv.Ctx, ns, key)
			if err != nil {
				return nil, fmt.Errorf("kv.get %q: %w", key, err)
			}
			if !ok {
				return nil, nil
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("kv.get %q: stored value is not JSON: %w", key, err)
			}
			return v, nil
		},
		"set": func(key string, value any, opts map[string]any) error {
			inv := cur()
			ns, err := namespace(inv, key)
			if err != nil {
				return fmt.Errorf("kv.set: %w", err)
			}
			ttl, err := parseTTL(opts["ttl"])
			if err != nil {
				return fmt.Errorf("kv.set %q: %w", key, err)
			}
			raw, err := json.Marshal(value)
			if err != nil {
				return fmt.Errorf("kv.set %q: value is not JSON-serialisable: %w", key, err)
			}
			if len(raw) > MaxValueBytes {
				return fmt.Errorf("kv.set %q: value is %d bytes, more than %d", key, len(raw), MaxValueBytes)
			}
			if inv.Recorder != nil {
				inv.Recorder.Record("kv", "set", key, value, opts)
				return nil
			}
			if err := m.store.KVSet(inv.Ctx, ns, key, raw, ttl); err != nil {
				return fmt.Errorf("kv.set %q: %w", key, err)
			}
			return nil
		},
		"delete": func(key string) error {
			inv := cur()
			ns, err := namespace(inv, key)
			if err != nil {
				return fmt.Errorf("kv.delete: %w", err)
			}
			if inv.Recorder != nil {
				inv.Recorder.Record("kv", "delete", key)
				return nil
			}
			if err := m.store.KVDelete(inv.Ctx, ns, key); err != nil {
				return fmt.Errorf("kv.delete %q: %w", key, err)
			}
			return nil
		},
	}
}

func namespace(inv *engine.Invocation, key string) (string, error) {
	if key == "" {
		return "", errors.New("key is empty")
	}
	if inv.Job == nil || inv.Job.Listener == "" {
		return "", errors.New("no listener to scope the key to")
	}
	return inv.Job.Listener, nil
}

// parseTTL accepts nothing (keep forever), a duration string or a number
// of seconds.
func parseTTL(v any) (time.Duration, error) {
	var d time.Duration
	switch t := v.(type) {
	case nil:
		return 0, nil
	case string:
		var err error
		if d, err = engine.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("ttl: %w", err)
		}
	case int64:
		d = time.Duration(t) * time.Second
	case float64:
		if math.IsNaN(t) || t > math.MaxInt64/float64(time.Second) {
			return 0, fmt.Errorf("ttl: %v is not a number of seconds", t)
		}
		d = time.Duration(t * float64(time.Second))
	default:
		return 0, fmt.Errorf("ttl: %v is not a duration or a number of seconds", v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("ttl: %v must be positive", v)
	}
	return d, nil
}
