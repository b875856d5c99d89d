package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawPost writes a whole request (headers and body) on a fresh
// connection before reading anything, as Python's http.client and many
// webhook senders do, then reads the status line. A server that closes
// without reading the body makes the write or the read fail with a reset.
func rawPost(t *testing.T, addr, path string, headers map[string]string, body []byte) (int, string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Generous: the drain is bounded by a second; only a hang reaches it.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, len(body))
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	req.Write(body)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return 0, "", fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", fmt.Errorf("read answer: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// TestServe_OversizedBodyWrittenFirst: a 6 MiB body against the default
// 5 MiB limit, written in full before the answer is read, gets the 413
// (not ECONNRESET), and nothing is submitted.
func TestServe_OversizedBodyWrittenFirst(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	s := newTestServer(t, Options{}, rec, src)
	addr := strings.TrimPrefix(startServer(t, s), "http://")
	body := []byte(`{"kind":"x","pad":"` + strings.Repeat("a", 6<<20) + `"}`)
	for i := range 3 {
		code, answer, err := rawPost(t, addr, src.Path, signed(t, src, body), body)
		if err != nil {
			t.Fatalf("try %d: %v, want a readable 413", i, err)
		}
		if code != http.StatusRequestEntityTooLarge || answer != `{"error":"body too large"}` {
			t.Fatalf("try %d: %d %s, want 413 body too large", i, code, answer)
		}
	}
	if rec.count() != 0 {
		t.Fatal("oversized body submitted")
	}
	// The server still answers normally afterwards.
	ok := []byte(`{"kind":"k"}`)
	if code, answer, err := rawPost(t, addr, src.Path, signed(t, src, ok), ok); err != nil || code != 200 {
		t.Fatalf("after the 413s: %d %s %v, want 200", code, answer, err)
	}
}

// TestServe_PoisonNumber: a number no script can hold is refused with a
// 400 that names its field, instead of a 200 whose every attempt fails.
func TestServe_PoisonNumber(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	s := newTestServer(t, Options{}, rec, src)
	url := startServer(t, s) + src.Path
	for _, tc := range []struct{ body, field string }{
		{`{"kind":"k","n":1e400}`, `"n"`},
		{`{"kind":"k","data":{"sizes":[1,-2e309]}}`, `"data.sizes.1"`},
	} {
		body := []byte(tc.body)
		code, raw, err := httpPost(t, http.DefaultClient, url, signed(t, src, body), body)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct{ Error string }
		_ = json.Unmarshal(raw, &answer)
		if code != http.StatusBadRequest || !strings.Contains(answer.Error, "body field "+tc.field) || !strings.Contains(answer.Error, "does not fit") {
			t.Fatalf("%s: %d %s, want 400 naming %s", tc.body, code, raw, tc.field)
		}
	}
	// Large but representable numbers, and tiny ones that round to 0, pass.
	body := []byte(`{"kind":"k","big":1.7e308,"tiny":1e-400,"id":123456789012345678901234567890}`)
	if code, raw, err := httpPost(t, http.DefaultClient, url, signed(t, src, body), body); err != nil || code != 200 {
		t.Fatalf("representable numbers: %d %s %v, want 200", code, raw, err)
	}
	if rec.count() != 1 {
		t.Fatalf("submitted %d, want 1", rec.count())
	}
}

// observed records what Observe is told.
type observed struct {
	mu    sync.Mutex
	calls []string // "source code"
}

func (o *observed) observe(source string, code int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fmt.Sprintf("%s %d", source, code))
}

func (o *observed) count(call string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.calls {
		if c == call {
			n++
		}
	}
	return n
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServe_RejectionsCountedAndLogged: every refusal over a real
// listener, fasthttp's own (413, 431) included, reaches Observe with its
// code and the log with its status.
func TestServe_RejectionsCountedAndLogged(t *testing.T) {
	var logs lockedBuffer
	obs := &observed{}
	src := ittybitSource()
	s := newTestServer(t, Options{BodyLimit: 1024, HeaderLimit: 4096, Observe: obs.observe,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &recorder{}, src)
	base := startServer(t, s)
	url := base + src.Path

	big := []byte(`{"kind":"x","pad":"` + strings.Repeat("a", 4096) + `"}`)
	small := []byte(`{"kind":"k"}`)
	hugeHeaders := signed(t, src, small)
	hugeHeaders["X-Padding"] = strings.Repeat("p", 8192)
	notJSON := []byte(`nope`)
	for _, tc := range []struct {
		url     string
		headers map[string]string
		body    []byte
		code    int
		source  string
	}{
		{url, signed(t, src, big), big, 413, "ittybit"},
		{url, hugeHeaders, small, 431, ""}, // refused before the path is read
		{url, signed(t, src, notJSON), notJSON, 400, "ittybit"},
		{url, map[string]string{"Ittybit-Signature": "00"}, small, 401, "ittybit"},
		{base + "/nowhere", nil, small, 404, ""},
		{url, signed(t, src, small), small, 200, "ittybit"},
	} {
		code, raw, err := httpPost(t, http.DefaultClient, tc.url, tc.headers, tc.body)
		if err != nil || code != tc.code {
			t.Fatalf("want %d: got %d %s %v", tc.code, code, raw, err)
		}
		if n := obs.count(fmt.Sprintf("%s %d", tc.source, tc.code)); n != 1 {
			t.Errorf("%d from source %q observed %d times, want once (all: %v)", tc.code, tc.source, n, obs.calls)
		}
		if tc.code != 200 && !strings.Contains(logs.String(), fmt.Sprintf("status=%d", tc.code)) {
			t.Errorf("%d not logged:\n%s", tc.code, logs.String())
		}
	}
}

// TestServe_RejectionLogRateLimited: a flood of bad requests is counted
// in full but logs a bounded number of lines, the next of which says how
// many were left out.
func TestServe_RejectionLogRateLimited(t *testing.T) {
	var logs lockedBuffer
	obs := &observed{}
	src := ittybitSource()
	s := newTestServer(t, Options{Observe: obs.observe, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &recorder{}, src)
	url := startServer(t, s) + src.Path
	const flood = 500
	bad := map[string]string{"Ittybit-Signature": "00"}
	for i := range flood {
		if code, _, err := httpPost(t, http.DefaultClient, url, bad, []byte(`{}`)); err != nil || code != 401 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	if n := obs.count("ittybit 401"); n != flood {
		t.Fatalf("observed %d of %d rejections", n, flood)
	}
	lines := strings.Count(logs.String(), "webhook rejected")
	// The burst, plus what the refill allows while the flood runs.
	if lines < rejectBurst || lines >= flood/2 {
		t.Fatalf("%d log lines for %d rejections, want the burst (%d) and few more", lines, flood, rejectBurst)
	}
	// Wait for a token so the next rejection is logged with the count.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "not_logged_since_last=") {
		if time.Now().After(deadline) {
			t.Fatalf("no line reports the rejections left out:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond) // polling for the limiter's refill
		httpPost(t, http.DefaultClient, url, bad, []byte(`{}`))
	}
}
