package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func ittybitSource() Source {
	return Source{Name: "ittybit", Path: "/webhooks/ittybit", Verify: "ittybit", Secrets: sec(secretA), EventField: "kind"}
}

func TestHandler_Accepted(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	s := newTestServer(t, Options{}, rec, src)
	body := []byte(`{"id":"evt_42","object":"event","kind":"task.succeeded","data":{"n":12345678901234567890}}`)
	h := signed(t, src, body)
	h["User-Agent"] = "ittybit-webhooks/1"
	resp, out := post(t, s, http.MethodPost, "/webhooks/ittybit", h, body)
	if resp.StatusCode != http.StatusOK || out["status"] != "ok" || out["event"] != "evt_1" {
		t.Fatalf("got %d %v, want 200 ok evt_1", resp.StatusCode, out)
	}
	ev := rec.last()
	if ev.Name != "task.succeeded" || ev.Source != "ittybit" || ev.DeliveryID != "evt_42" || !ev.ReceivedAt.IsZero() {
		// ReceivedAt is the router's to set (engine.Router.Submit), once.
		t.Fatalf("event = %+v", ev)
	}
	if !bytes.Equal(ev.Payload, body) {
		t.Fatalf("payload %s, want %s", ev.Payload, body)
	}
	if ev.Headers["user-agent"] != "ittybit-webhooks/1" || ev.Headers["content-type"] != "application/json" {
		t.Fatalf("headers = %v", ev.Headers)
	}
	for k := range ev.Headers {
		if strings.Contains(strings.ToLower(k), "signature") {
			t.Fatalf("signature header %q stored with the event", k)
		}
	}
	n, _ := engine.Lookup(rec.payloads[0], "data.n")
	if num, ok := n.(json.Number); !ok || num.String() != "12345678901234567890" {
		t.Fatalf("data.n = %#v, want json.Number keeping every digit", n)
	}
}

func TestHandler_Rejected(t *testing.T) {
	src := ittybitSource()
	body := []byte(`{"kind":"task.succeeded"}`)
	good := signed(t, src, body)
	forged := map[string]string{"Ittybit-Signature": strings.Repeat("ab", 32)}
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    []byte
		code    int
		msg     string
	}{
		{name: "missing signature", method: "POST", path: src.Path, body: body, code: 401, msg: "invalid signature"},
		{name: "bad signature on invalid JSON is 401 not 400", method: "POST", path: src.Path, headers: forged, body: []byte(`{not json`), code: 401, msg: "invalid signature"},
		{name: "tampered body", method: "POST", path: src.Path, headers: good, body: []byte(`{"kind":"task.failed"}`), code: 401, msg: "invalid signature"},
		{name: "not JSON", method: "POST", path: src.Path, headers: signed(t, src, []byte(`hello`)), body: []byte(`hello`), code: 400, msg: "body is not JSON: invalid character 'h' looking for beginning of value at byte 1"},
		{name: "trailing data", method: "POST", path: src.Path, headers: signed(t, src, []byte(`{} {}`)), body: []byte(`{} {}`), code: 400, msg: "body is not JSON: data after the value"},
		{name: "array", method: "POST", path: src.Path, headers: signed(t, src, []byte(`[1]`)), body: []byte(`[1]`), code: 400, msg: "body is not a JSON object"},
		{name: "missing event field", method: "POST", path: src.Path, headers: signed(t, src, []byte(`{"type":"x"}`)), body: []byte(`{"type":"x"}`), code: 400, msg: `payload field "kind" with the event name is missing or not a string`},
		{name: "event field not a string", method: "POST", path: src.Path, headers: signed(t, src, []byte(`{"kind":7}`)), body: []byte(`{"kind":7}`), code: 400, msg: `payload field "kind" with the event name is missing or not a string`},
		{name: "unknown path", method: "POST", path: "/webhooks/nobody", headers: good, body: body, code: 404, msg: "not found"},
		{name: "wrong method", method: "GET", path: src.Path, code: 405, msg: "method not allowed: use POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := newTestServer(t, Options{}, rec, src)
			resp, out := post(t, s, tc.method, tc.path, tc.headers, tc.body)
			if resp.StatusCode != tc.code || out["error"] != tc.msg {
				t.Fatalf("got %d %v, want %d %q", resp.StatusCode, out, tc.code, tc.msg)
			}
			if rec.count() != 0 {
				t.Fatalf("Submit called %d times for a rejected request", rec.count())
			}
			if tc.code == 405 && resp.Header.Get("Allow") != "POST" {
				t.Fatalf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestHandler_SubmitErrors(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		code       int
		out        map[string]string
		retryAfter string
	}{
		{name: "duplicate", err: fmt.Errorf("enqueue: %w", engine.ErrDuplicate), code: 200, out: map[string]string{"status": "duplicate", "event": "evt_earlier"}},
		{name: "unavailable", err: fmt.Errorf("enqueue: disk full: %w", engine.ErrUnavailable), code: 503, out: map[string]string{"error": "queue unavailable, retry later"}, retryAfter: "5"},
		{name: "other", err: errors.New("bbolt: page 7 corrupt"), code: 500, out: map[string]string{"error": "internal error"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := ittybitSource()
			s := newTestServer(t, Options{}, &recorder{err: tc.err}, src)
			body := []byte(`{"kind":"k"}`)
			resp, out := post(t, s, http.MethodPost, src.Path, signed(t, src, body), body)
			if resp.StatusCode != tc.code || fmt.Sprint(out) != fmt.Sprint(tc.out) {
				t.Fatalf("got %d %v, want %d %v", resp.StatusCode, out, tc.code, tc.out)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestHandler_RateLimit(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	src.Rate = engine.Rate{N: 2, Per: time.Minute}
	s := newTestServer(t, Options{}, rec, src)
	body := []byte(`{"kind":"k"}`)
	for i := range 2 {
		if resp, out := post(t, s, http.MethodPost, src.Path, signed(t, src, body), body); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %v, want 200 within the burst", i, resp.StatusCode, out)
		}
	}
	resp, out := post(t, s, http.MethodPost, src.Path, signed(t, src, body), body)
	if resp.StatusCode != http.StatusTooManyRequests || out["error"] != "rate limit exceeded" {
		t.Fatalf("got %d %v, want 429", resp.StatusCode, out)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", ra)
	}
	if rec.count() != 2 {
		t.Fatalf("submitted %d, want 2", rec.count())
	}
	// A reload that keeps the rate keeps the bucket: still limited.
	if err := s.SetSources([]Source{src}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := post(t, s, http.MethodPost, src.Path, signed(t, src, body), body); resp.StatusCode != 429 {
		t.Fatalf("after reload: %d, want 429 (bucket kept)", resp.StatusCode)
	}
}

func TestHandler_DeliveryID(t *testing.T) {
	body := []byte(`{"id":"evt_9","object":"event","kind":"k","ref":{"n":77}}`)
	legacy := []byte(`{"id":"task_1","object":"task","kind":"k"}`)
	with := func(src Source, f func(*Source)) Source { f(&src); return src }
	cases := []struct {
		name  string
		src   Source
		body  []byte
		extra map[string]string
		want  string
	}{
		{name: "ittybit event envelope", src: ittybitSource(), body: body, want: "evt_9"},
		{name: "ittybit legacy task: body hash", src: ittybitSource(), body: legacy, want: bodyID(legacy)},
		{name: "header", src: with(ittybitSource(), func(s *Source) { s.DeliveryID = "header:X-Request-Id" }), body: body, extra: map[string]string{"X-Request-Id": "req-5"}, want: "req-5"},
		{name: "header missing: body hash", src: with(ittybitSource(), func(s *Source) { s.DeliveryID = "header:X-Request-Id" }), body: body, want: bodyID(body)},
		{name: "field number", src: with(ittybitSource(), func(s *Source) { s.DeliveryID = "field:ref.n" }), body: body, want: "77"},
		{name: "body", src: with(ittybitSource(), func(s *Source) { s.DeliveryID = "body" }), body: body, want: bodyID(body)},
		{name: "stripe payload id", src: with(ittybitSource(), func(s *Source) { s.Verify = "stripe" }), body: body, want: "evt_9"},
		{name: "hmac: body hash", src: with(ittybitSource(), func(s *Source) { s.Verify, s.Header = "hmac", "X-Sig" }), body: body, want: bodyID(body)},
		{name: "github delivery header", src: with(ittybitSource(), func(s *Source) { s.Verify = "github" }), body: body, want: "from-header"},
		{name: "standard webhooks id", src: with(ittybitSource(), func(s *Source) { s.Verify = "standard-webhooks" }), body: body, want: "from-header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := newTestServer(t, Options{}, rec, tc.src)
			h := signed(t, tc.src, tc.body)
			for k, v := range tc.extra {
				h[k] = v
			}
			want := tc.want
			if want == "from-header" {
				want = MapHeader(h).Get("X-GitHub-Delivery") + MapHeader(h).Get("webhook-id")
			}
			if resp, out := post(t, s, http.MethodPost, tc.src.Path, h, tc.body); resp.StatusCode != 200 {
				t.Fatalf("got %d %v", resp.StatusCode, out)
			}
			if got := rec.last().DeliveryID; got != want {
				t.Fatalf("delivery id %q, want %q", got, want)
			}
		})
	}
}

func TestHandler_EventName(t *testing.T) {
	fixed := ittybitSource()
	fixed.Event, fixed.EventField = "media.processed", "kind"
	fromHeader := ittybitSource()
	fromHeader.Verify, fromHeader.EventField = "github", "header:X-GitHub-Event"
	body := []byte(`{"kind":"task.succeeded"}`)
	cases := []struct {
		name  string
		src   Source
		extra map[string]string
		code  int
		want  string
	}{
		{name: "fixed name wins", src: fixed, code: 200, want: "media.processed"},
		{name: "payload field", src: ittybitSource(), code: 200, want: "task.succeeded"},
		{name: "header", src: fromHeader, extra: map[string]string{"X-GitHub-Event": "push"}, code: 200, want: "push"},
		{name: "header missing", src: fromHeader, code: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := newTestServer(t, Options{}, rec, tc.src)
			h := signed(t, tc.src, body)
			for k, v := range tc.extra {
				h[k] = v
			}
			resp, out := post(t, s, http.MethodPost, tc.src.Path, h, body)
			if resp.StatusCode != tc.code {
				t.Fatalf("got %d %v, want %d", resp.StatusCode, out, tc.code)
			}
			if tc.code == 200 && rec.last().Name != tc.want {
				t.Fatalf("name %q, want %q", rec.last().Name, tc.want)
			}
			if tc.code == 200 && tc.extra != nil && rec.last().Headers["x-github-event"] != tc.want {
				t.Fatalf("headers %v lack x-github-event", rec.last().Headers)
			}
		})
	}
}

func TestServer_SetSources(t *testing.T) {
	rec := &recorder{}
	a := ittybitSource()
	s := newTestServer(t, Options{}, rec, a)
	b := Source{Name: "gh", Path: "/webhooks/github", Verify: "github", Secrets: sec("gh-secret"), Event: "push"}
	body := []byte(`{"kind":"k"}`)

	if err := s.SetSources([]Source{b}); err != nil {
		t.Fatalf("SetSources: %v", err)
	}
	if resp, out := post(t, s, http.MethodPost, b.Path, signed(t, b, body), body); resp.StatusCode != 200 {
		t.Fatalf("new path: %d %v, want 200", resp.StatusCode, out)
	}
	if resp, _ := post(t, s, http.MethodPost, a.Path, signed(t, a, body), body); resp.StatusCode != 404 {
		t.Fatalf("removed path: %d, want 404", resp.StatusCode)
	}

	// Config names the key of a bad value; the server refuses only what
	// it cannot build a verifier or a table from, naming the source.
	bad := []Source{
		{Name: "x", Path: "/x", Verify: "github", Event: "e"},                                  // no secret
		{Name: "y", Path: "/y", Verify: "rot13", Secrets: sec("s"), Event: "e"},                // unknown scheme
		{Name: "gh", Path: "/webhooks/github", Verify: "github", Secrets: sec(""), Event: "e"}, // empty secret
	}
	err := s.SetSources(bad)
	if err == nil {
		t.Fatal("SetSources accepted invalid sources")
	}
	for _, want := range []string{`source "x": secret: must be set`, `source "y": verify: "rot13"`, `source "gh": secret: [0] is empty`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if resp, _ := post(t, s, http.MethodPost, b.Path, signed(t, b, body), body); resp.StatusCode != 200 {
		t.Fatalf("after a refused reload: %d, want 200 from the last good table", resp.StatusCode)
	}
	dup := []Source{b, {Name: "other", Path: b.Path, Verify: "github", Secrets: sec("s"), Event: "e"}}
	if err := s.SetSources(dup); err == nil || !strings.Contains(err.Error(), `sources "gh" and "other" share the path "/webhooks/github"`) {
		t.Fatalf("duplicate path: %v", err)
	}
}

func TestHandler_LogsNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	src := ittybitSource()
	s, err := New(Options{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}, []Source{src}, &recorder{err: errors.New("boom")})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"kind":"k","card":"4242424242424242"}`)
	good := signed(t, src, body)
	post(t, s, http.MethodPost, src.Path, good, body)
	post(t, s, http.MethodPost, src.Path, map[string]string{"Ittybit-Signature": "00"}, body)
	logs := buf.String()
	for _, leak := range []string{secretA, good["Ittybit-Signature"], "4242424242424242"} {
		if strings.Contains(logs, leak) {
			t.Fatalf("log leaks %q:\n%s", leak, logs)
		}
	}
	if !strings.Contains(logs, "source=ittybit") || !strings.Contains(logs, "status=401") || !strings.Contains(logs, "status=500") {
		t.Fatalf("log lacks the source or status:\n%s", logs)
	}
}
