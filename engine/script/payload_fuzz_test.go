package script

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/ingest"
)

// lastEvent is an ingest.Submitter keeping the last event it was given.
type lastEvent struct {
	mu sync.Mutex
	ev *engine.Event
}

func (l *lastEvent) Submit(_ context.Context, ev *engine.Event, _ any) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = ev
	return "evt_1", nil
}

// FuzzPayload_IngestThenScript: whatever body the webhook server answers
// 200, the payload a listener reads decodes, every attempt of it: a
// webhook is never accepted that its listeners cannot read (the poison
// number 1e400 was).
func FuzzPayload_IngestThenScript(f *testing.F) {
	src := ingest.Source{Name: "s", Path: "/hook", Verify: "ittybit", Secrets: []engine.Secret{"k"}, Event: "e"}
	sub := &lastEvent{}
	srv, err := ingest.New(ingest.Options{BodyLimit: 1 << 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, []ingest.Source{src}, sub)
	if err != nil {
		f.Fatal(err)
	}
	vm := goja.New()
	read, err := vm.RunString(`(function (p) { return JSON.stringify(p) })`)
	if err != nil {
		f.Fatal(err)
	}
	stringify, _ := goja.AssertFunction(read)
	f.Fuzz(func(t *testing.T, body []byte) {
		headers, err := ingest.Sign(src, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, src.Path, bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := srv.App().Test(req, -1)
		if err != nil {
			t.Fatalf("Test: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return
		}
		sub.mu.Lock()
		raw := sub.ev.Payload
		sub.mu.Unlock()
		v, err := payloadValue(vm, raw)
		if err != nil {
			t.Fatalf("ingest accepted %q, the script cannot decode it: %v", raw, err)
		}
		if _, err := stringify(goja.Undefined(), v); err != nil {
			t.Fatalf("ingest accepted %q, the script cannot read it: %v", raw, err)
		}
	})
}
