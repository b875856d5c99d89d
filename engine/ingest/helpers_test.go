package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// recorder is a Submitter that records what it is given. The real queue
// lives in another package; this stands in for it.
type recorder struct {
	mu       sync.Mutex
	events   []*engine.Event
	payloads []any
	err      error // returned (with id "evt_earlier") when set
	block    chan struct{}
	entered  chan struct{}
}

func (r *recorder) Submit(_ context.Context, ev *engine.Event, payload any) (string, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "evt_earlier", r.err
	}
	r.events = append(r.events, ev)
	r.payloads = append(r.payloads, payload)
	return "evt_" + strconv.Itoa(len(r.events)), nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) last() *engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return nil
	}
	return r.events[len(r.events)-1]
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t testing.TB, opts Options, sub Submitter, sources ...Source) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	s, err := New(opts, sources, sub)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// sec is a source's Secrets from plain strings.
func sec(keys ...string) []engine.Secret {
	out := make([]engine.Secret, len(keys))
	for i, k := range keys {
		out[i] = engine.Secret(k)
	}
	return out
}

// post sends body to path with headers through App().Test.
func post(t testing.TB, s *Server, method, path string, headers map[string]string, body []byte) (*http.Response, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]string{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: response %q is not a JSON object of strings: %v", method, path, raw, err)
		}
	}
	return resp, out
}

// signed returns src's genuine headers for body, now.
func signed(t testing.TB, src Source, body []byte) map[string]string {
	t.Helper()
	h, err := Sign(src, body, time.Now())
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return h
}

// nullSubmitter accepts everything and keeps nothing, for benchmarks.
type nullSubmitter struct{}

func (nullSubmitter) Submit(context.Context, *engine.Event, any) (string, error) { return "evt_1", nil }
