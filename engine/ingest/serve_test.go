package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer serves s on 127.0.0.1:0 and returns its base URL; cleanup
// shuts it down and checks Serve returned nil.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func httpPost(t testing.TB, client *http.Client, url string, headers map[string]string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// TestServe_ConcurrentPayloadsIntact posts distinct signed bodies of many
// sizes over keep-alive connections and compares every stored payload
// byte for byte once all are done: fasthttp reuses request buffers, so a
// missing copy shows up as a corrupted earlier payload.
func TestServe_ConcurrentPayloadsIntact(t *testing.T) {
	const total, workers = 2000, 32
	rec := &recorder{}
	src := ittybitSource()
	src.Event, src.DeliveryID = "load", "field:n"
	s := newTestServer(t, Options{}, rec, src)
	url := startServer(t, s) + src.Path
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()

	bodies := make([][]byte, total)
	for i := range bodies {
		pad := strings.Repeat(string(rune('a'+i%26)), (i*37)%3000)
		bodies[i] = []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pad))
	}
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				h, err := Sign(src, bodies[i], time.Now())
				if err != nil {
					errs <- err
					return
				}
				code, raw, err := httpPost(t, client, url, h, bodies[i])
				if err != nil || code != 200 {
					errs <- fmt.Errorf("body %d: %d %s %v", i, code, raw, err)
					return
				}
			}
		}()
	}
	for i := range total {
		select {
		case jobs <- i:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != total {
		t.Fatalf("submitted %d events, want %d", len(rec.events), total)
	}
	seen := make([]bool, total)
	for _, ev := range rec.events {
		var p struct{ N int }
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.N < 0 || p.N >= total {
			t.Fatalf("stored payload %.80q is corrupt: %v", ev.Payload, err)
		}
		if !bytes.Equal(ev.Payload, bodies[p.N]) {
			t.Fatalf("stored payload %d differs from what was sent", p.N)
		}
		if ev.DeliveryID != fmt.Sprint(p.N) {
			t.Fatalf("payload %d has delivery id %q", p.N, ev.DeliveryID)
		}
		seen[p.N] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("body %d never stored", i)
		}
	}
}

func TestServe_BodyTooLarge(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	s := newTestServer(t, Options{BodyLimit: 1024}, rec, src)
	url := startServer(t, s) + src.Path
	body := []byte(`{"kind":"x","pad":"` + strings.Repeat("a", 4096) + `"}`)
	code, raw, err := httpPost(t, http.DefaultClient, url, signed(t, src, body), body)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusRequestEntityTooLarge || string(raw) != `{"error":"body too large"}` {
		t.Fatalf("got %d %s, want 413 body too large", code, raw)
	}
	if rec.count() != 0 {
		t.Fatal("oversized body submitted")
	}
}

// TestServe_ShutdownFinishesInFlight holds a request inside Submit, starts
// Shutdown, and checks the request still gets its 200 before Shutdown
// returns, and that new connections are refused.
func TestServe_ShutdownFinishesInFlight(t *testing.T) {
	rec := &recorder{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	src := ittybitSource()
	s := newTestServer(t, Options{}, rec, src)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	url := "http://" + ln.Addr().String() + src.Path

	body := []byte(`{"kind":"k"}`)
	type result struct {
		code int
		err  error
	}
	got := make(chan result, 1)
	go func() {
		code, _, err := httpPost(t, http.DefaultClient, url, signed(t, src, body), body)
		got <- result{code, err}
	}()
	<-rec.entered // the request is inside Submit

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// Shutdown closes the listener first; wait until a dial fails.
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond) // polling the listener; no signal exists for "closed"
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(rec.block)
	if r := <-got; r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request: %d %v, want 200", r.code, r.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServe_HeaderTooLarge(t *testing.T) {
	rec := &recorder{}
	src := ittybitSource()
	s := newTestServer(t, Options{HeaderLimit: 4096}, rec, src)
	url := startServer(t, s) + src.Path
	body := []byte(`{"kind":"k"}`)
	h := signed(t, src, body)
	h["X-Padding"] = strings.Repeat("p", 8192)
	code, raw, err := httpPost(t, http.DefaultClient, url, h, body)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusRequestHeaderFieldsTooLarge || rec.count() != 0 {
		t.Fatalf("got %d %s with %d submits, want 431 and none", code, raw, rec.count())
	}
}

// TestServe_SlowClientCut checks a client that never finishes its headers
// is disconnected by the read timeout rather than holding the connection.
func TestServe_SlowClientCut(t *testing.T) {
	src := ittybitSource()
	s := newTestServer(t, Options{ReadTimeout: 200 * time.Millisecond}, &recorder{}, src)
	addr := strings.TrimPrefix(startServer(t, s), "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST "+src.Path+" HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Generous bound: only a server without a read timeout reaches it.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("server kept a half-sent request open past its read timeout")
	}
}
