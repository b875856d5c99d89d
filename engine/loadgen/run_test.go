package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorder is an httptest server that checks signatures, keeps every body
// and answers 429 to every fourth request.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string]int
	n      int
}

func newRecorder(t *testing.T, secret []byte) *recorder {
	r := &recorder{bodies: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Header.Get(SignatureHeader) != SignBaseline(secret, body)[SignatureHeader] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.bodies[string(body)]++
		r.n++
		n := r.n
		r.mu.Unlock()
		if n%4 == 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func TestRun_Requests(t *testing.T) {
	secret := []byte("s3cret")
	tests := []struct {
		name        string
		connections int
		requests    int
		bodySize    int
		wantSize    int
	}{
		{"one connection", 1, 20, 0, 1024},
		{"many connections", 8, 200, 0, 1024},
		{"more connections than requests", 16, 5, 2048, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, secret)
			res, err := Run(context.Background(), Options{
				URL:         srv.URL + "/webhooks/x",
				Connections: tt.connections,
				Requests:    tt.requests,
				BodySize:    tt.bodySize,
				Sign:        func(b []byte) map[string]string { return SignBaseline(secret, b) },
			})
			if err != nil {
				t.Fatal(err)
			}
			want429 := tt.requests / 4
			if res.Sent != tt.requests || res.Errors != 0 || res.OK != tt.requests-want429 ||
				res.Statuses[200] != tt.requests-want429 || res.Statuses[429] != want429 || len(res.Statuses) != 2 && want429 > 0 {
				t.Fatalf("result = %+v, want %d sent, %d ok, %d 429s", res, tt.requests, tt.requests-want429, want429)
			}
			if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.P999 || res.P999 > res.Max || res.RPS <= 0 {
				t.Fatalf("figures out of order: %+v", res)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.bodies) != tt.requests {
				t.Fatalf("server saw %d distinct bodies, want %d", len(srv.bodies), tt.requests)
			}
			for b, n := range srv.bodies {
				var v struct{ ID string }
				if n != 1 || len(b) != tt.wantSize || json.Unmarshal([]byte(b), &v) != nil || v.ID == "" {
					t.Fatalf("body seen %d times, %d bytes, id %q: %.80s", n, len(b), v.ID, b)
				}
			}
		})
	}
}

func TestRun_Duration(t *testing.T) {
	srv := newRecorder(t, []byte("k"))
	res, err := Run(context.Background(), Options{URL: srv.URL, Connections: 2, Duration: 50 * time.Millisecond,
		Sign: func(b []byte) map[string]string { return SignBaseline([]byte("k"), b) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Sent != res.OK+res.Statuses[429] {
		t.Fatalf("result = %+v", res)
	}
}

func TestRun_Unsigned(t *testing.T) {
	srv := newRecorder(t, []byte("k"))
	res, err := Run(context.Background(), Options{URL: srv.URL, Requests: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Statuses[401] != 3 {
		t.Fatalf("unsigned requests: %+v, want three 401s", res)
	}
}

func TestRun_ConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Options{URL: "http://" + addr + "/", Connections: 2, Requests: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 4 || res.Errors != 4 || res.OK != 0 || res.FirstError == "" {
		t.Fatalf("result = %+v, want 4 errors", res)
	}
}

func TestRun_BadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no url", Options{Requests: 1}},
		{"not http", Options{URL: "ftp://x/y", Requests: 1}},
		{"no stop condition", Options{URL: "http://127.0.0.1:1/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tt.opts); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestRun_ContextCancelled(t *testing.T) {
	srv := newRecorder(t, []byte("k"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Options{URL: srv.URL, Requests: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 {
		t.Fatalf("sent %d after cancel", res.Sent)
	}
}

// Rate caps requests over all connections: 300ms at 100/s with a burst of
// one per connection allows at most 2 + 30 of them, where an uncapped run
// against a local server sends thousands.
func TestRun_Rate(t *testing.T) {
	secret := []byte("s3cret")
	rec := newRecorder(t, secret)
	res, err := Run(context.Background(), Options{URL: rec.URL, Connections: 2, Duration: 300 * time.Millisecond, Rate: 100,
		Sign: func(b []byte) map[string]string { return SignBaseline(secret, b) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent < 1 || res.Sent > 2+30 {
		t.Fatalf("sent %d requests in 300ms at 100/s; want at most 32", res.Sent)
	}
}
