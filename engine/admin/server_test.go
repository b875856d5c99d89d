package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

func TestServer_ServeAndShutdown(t *testing.T) {
	_, _, srv := testServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestServer_ShutdownBeforeServe(t *testing.T) {
	_, _, srv := testServer(t, nil)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still open")
	}
}

func TestServer_Timeouts(t *testing.T) {
	_, _, srv := testServer(t, nil)
	if srv.srv.ReadHeaderTimeout == 0 || srv.srv.ReadTimeout == 0 || srv.srv.WriteTimeout == 0 || srv.srv.IdleTimeout == 0 {
		t.Fatalf("timeouts unset: %+v", srv.srv)
	}
}

func TestServer_WarmsTheDaysChartsOnServe(t *testing.T) {
	_, fs, srv := testServer(t, nil)
	now := time.Now().UTC().Truncate(time.Minute)
	fs.AddSamples(t.Context(), []engine.Sample{{Minute: now.Add(-3 * time.Hour), Series: engine.JobSeries("a"), Count: 1}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.charts.mu.Lock()
		n := len(srv.charts.buckets)
		srv.charts.mu.Unlock()
		if n >= 140 { // the day's settled 10-minute buckets
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d buckets cached after Serve, want the day's", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
