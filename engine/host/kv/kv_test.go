package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
)

// memKV is an in-memory engine.KV; expiry is judged against now().
type memKV struct {
	mu   sync.Mutex
	data map[string]entry
	now  func() time.Time
}

type entry struct {
	value []byte
	until time.Time
}

func newMemKV() *memKV { return &memKV{data: map[string]entry{}, now: time.Now} }

func (m *memKV) KVGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.data[ns+"\x00"+key]
	if !ok || (!e.until.IsZero() && !m.now().Before(e.until)) {
		return nil, false, nil
	}
	return append([]byte(nil), e.value...), true, nil
}

func (m *memKV) KVSet(ctx context.Context, ns, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := entry{value: append([]byte(nil), value...)}
	if ttl > 0 {
		e.until = m.now().Add(ttl)
	}
	m.data[ns+"\x00"+key] = e
	return nil
}

func (m *memKV) KVDelete(ctx context.Context, ns, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, ns+"\x00"+key)
	return nil
}

type recorder struct{ calls []string }

func (r *recorder) Record(module, fn string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf("%s.%s %v", module, fn, args))
}

func runtime(t *testing.T, store engine.KV, listener string, rec engine.Recorder) *goja.Runtime {
	t.Helper()
	inv := &engine.Invocation{Ctx: context.Background(), Job: &engine.Job{ID: "j1", Listener: listener}, Recorder: rec}
	rt := goja.New()
	if err := rt.Set("kv", New(store).Exports(func() *engine.Invocation { return inv })); err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestKV_RoundTrip(t *testing.T) {
	store := newMemKV()
	rt := runtime(t, store, "a", nil)
	v, err := rt.RunString(`
		kv.set("obj", {n: 1, list: ["x", true, null], nested: {f: 1.5}});
		kv.set("str", "hello");
		kv.set("num", 42);
		const before = kv.get("str");
		kv.delete("str");
		kv.delete("never-set");
		JSON.stringify([kv.get("obj"), before, kv.get("str"), kv.get("num") + 1, kv.get("missing")]);
	`)
	if err != nil {
		t.Fatal(err)
	}
	// Objects come back as Go maps, whose key order is not kept: compare
	// decoded values, not text.
	var got, want any
	if err := json.Unmarshal([]byte(v.String()), &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(`[{"list":["x",true,null],"n":1,"nested":{"f":1.5}},"hello",null,43,null]`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %s\nwant %v", v, want)
	}
}

func TestKV_NamespacePerListener(t *testing.T) {
	store := newMemKV()
	if _, err := runtime(t, store, "a", nil).RunString(`kv.set("k", "from a")`); err != nil {
		t.Fatal(err)
	}
	v, err := runtime(t, store, "b", nil).RunString(`kv.get("k")`)
	if err != nil || !goja.IsNull(v) {
		t.Fatalf("listener b saw a's key: %v %v", v, err)
	}
}

func TestKV_TTL(t *testing.T) {
	tests := []struct {
		name string
		opts string
		want time.Duration
		err  string
	}{
		{"string", `{ttl: "1h"}`, time.Hour, ""},
		{"days", `{ttl: "7d"}`, 7 * 24 * time.Hour, ""},
		{"seconds", `{ttl: 90}`, 90 * time.Second, ""},
		{"fraction", `{ttl: 1.5}`, 1500 * time.Millisecond, ""},
		{"none", `undefined`, 0, ""},
		{"bad string", `{ttl: "soon"}`, 0, "is not a duration"},
		{"negative", `{ttl: -1}`, 0, "must be positive"},
		{"object", `{ttl: {}}`, 0, "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemKV()
			now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			store.now = func() time.Time { return now }
			_, err := runtime(t, store, "a", nil).RunString(`kv.set("k", 1, ` + tt.opts + `)`)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := store.data["a\x00k"]
			if got := time.Duration(0); !e.until.IsZero() {
				got = e.until.Sub(now)
				if got != tt.want {
					t.Fatalf("ttl = %s, want %s", got, tt.want)
				}
			} else if tt.want != 0 {
				t.Fatalf("no expiry stored, want %s", tt.want)
			}
		})
	}
}

func TestKV_Expired(t *testing.T) {
	store := newMemKV()
	now := time.Now()
	store.now = func() time.Time { return now }
	rt := runtime(t, store, "a", nil)
	if _, err := rt.RunString(`kv.set("k", "v", {ttl: 60})`); err != nil {
		t.Fatal(err)
	}
	now = now.Add(61 * time.Second)
	if v, err := rt.RunString(`kv.get("k")`); err != nil || !goja.IsNull(v) {
		t.Fatalf("expired key = %v, %v", v, err)
	}
}

func TestKV_DryRun(t *testing.T) {
	store := newMemKV()
	store.KVSet(context.Background(), "a", "k", []byte(`"old"`), 0)
	rec := &recorder{}
	v, err := runtime(t, store, "a", rec).RunString(`kv.set("k", "new"); kv.delete("k"); kv.get("k")`)
	if err != nil || v.String() != "old" {
		t.Fatalf("dry run changed the store: %v %v", v, err)
	}
	if len(rec.calls) != 2 || rec.calls[0] != "kv.set [k new map[]]" || rec.calls[1] != "kv.delete [k]" {
		t.Fatalf("recorded %q", rec.calls)
	}
}

func TestKV_Errors(t *testing.T) {
	store := newMemKV()
	m := New(store)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	inv := &engine.Invocation{Ctx: ctx, Job: &engine.Job{Listener: "a"}}
	f := m.Exports(func() *engine.Invocation { return inv }).(map[string]any)
	if _, err := f["get"].(func(string) (any, error))("k"); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("cancelled get: %v", err)
	}
	if _, err := f["get"].(func(string) (any, error))(""); err == nil || !strings.Contains(err.Error(), "key is empty") {
		t.Errorf("empty key: %v", err)
	}
	big := strings.Repeat("x", MaxValueBytes)
	if err := f["set"].(func(string, any, map[string]any) error)("k", big, nil); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized value: %v", err)
	}
}
