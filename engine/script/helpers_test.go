package script

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// writeScripts writes files (relative path → source) under a temp dir and
// returns the dir.
func writeScripts(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compileSource compiles one handler file holding src.
func compileSource(t testing.TB, src string) *Script {
	t.Helper()
	dir := writeScripts(t, map[string]string{"handler.js": src})
	s, err := Compile(filepath.Join(dir, "handler.js"))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newInv(t testing.TB, payload any) (*engine.Invocation, *syncBuffer) {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	return &engine.Invocation{
		Ctx: context.Background(),
		Event: &engine.Event{
			ID: "evt_1", Name: "media.processed", Source: "ittybit",
			ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Headers:    map[string]string{"content-type": "application/json"},
			Payload:    raw,
		},
		Job:    &engine.Job{ID: "job_1", Listener: "thumbs", Attempt: 2, MaxTries: 3},
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, buf
}

// recordModule is a host module that records the invocation of each call.
type recordModule struct {
	mu  sync.Mutex
	got []*engine.Invocation
}

func (m *recordModule) Name() string { return "rec" }

func (m *recordModule) Exports(cur func() *engine.Invocation) any {
	return map[string]any{
		"whoami": func(tag string) string {
			inv := cur()
			m.mu.Lock()
			m.got = append(m.got, inv)
			m.mu.Unlock()
			return inv.Job.ID + ":" + tag
		},
	}
}

func runCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// heapCeiling aborts the test binary if the Go heap passes limit before
// the test ends: a regression that reads or allocates without bound then
// fails loudly instead of exhausting the machine the tests share.
func heapCeiling(t testing.TB, limit uint64) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > limit {
				panic(fmt.Sprintf("%s: heap reached %d MiB, past the test's ceiling of %d MiB", t.Name(), v>>20, limit>>20))
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// allocated returns the bytes the process has allocated so far (live or
// not); the difference over a call bounds what the call allocated.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func write(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
