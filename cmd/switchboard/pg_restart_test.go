package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
)

// TestServe_PostgresRestart is issue 13's fault test through the binary:
// `switchboard serve` on a private PostgreSQL under signed load while the
// server crashes, is restarted as pg_ctlcluster does, and freezes. While
// it is down or frozen no webhook is answered 200, some are answered 503,
// none waits past the queue's 5 s call bound (plus slack), and /readyz is
// 503; once it is back the router is ready again by itself, takes
// webhooks again, and every event it acknowledged ran on both listeners.
func TestServe_PostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a private PostgreSQL server under a real switchboard")
	}
	srv := postgrestest.Start(t)
	listen, adminListen := fixedPorts(t)
	cfg := writeProcConfig(t, procConfig{
		Listen: listen, AdminListen: adminListen,
		Queue:     "backend = \"postgres\"\ndsn = \"" + srv.DSN() + "\"\nschema = \"serve_restart\"\npoll_interval = \"200ms\"\n",
		Listeners: twoRecorders,
		Scripts:   map[string]string{"scripts/first.js": recordScript, "scripts/second.js": recordScript},
	})
	execAppDB(t, cfg, "CREATE TABLE runs (event_id TEXT NOT NULL, listener TEXT NOT NULL, attempt INTEGER NOT NULL)")
	proc := newChild(t, cfg)
	proc.start()

	load := newSpreadLoad([]*child{proc}, 200, crashBody)
	ctx, stopLoad := context.WithCancel(context.Background())
	wg := load.run(ctx, 8)
	counts := func() (acked, unavailable int) {
		load.mu.Lock()
		defer load.mu.Unlock()
		return len(load.acked), load.other[http.StatusServiceUnavailable]
	}
	waitAcked := func(what string, more int) {
		t.Helper()
		want, _ := counts()
		want += more
		deadline := time.Now().Add(30 * time.Second)
		for n, _ := counts(); n < want; n, _ = counts() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d webhooks acknowledged, want %d within 30s", what, n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ready := func() bool {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rd, err := proc.admin().Ready(c)
		return err == nil && rd.Ready
	}

	for _, fault := range []struct {
		name       string
		down, back func()
		hold       time.Duration
	}{
		{"crash (immediate stop)", func() { srv.Stop("immediate") }, srv.StartServer, 2 * time.Second},
		{"restart (fast stop)", func() { srv.Stop("fast") }, srv.StartServer, 2 * time.Second},
		// Connections hang rather than fail: only the call bound ends them.
		{"frozen", srv.Freeze, srv.Thaw, 8 * time.Second},
	} {
		waitAcked(fault.name+", before", 100)
		fault.down()
		// Requests already committed may still be answering; after a
		// second nothing can be acknowledged until the server is back.
		time.Sleep(time.Second)
		ackedFrom, unavailableFrom := counts()
		wasReady := ready()
		time.Sleep(fault.hold)
		ackedTo, unavailableTo := counts()
		fault.back()
		if ackedTo != ackedFrom {
			t.Errorf("%s: %d webhooks answered 200 while PostgreSQL was down", fault.name, ackedTo-ackedFrom)
		}
		if unavailableTo == unavailableFrom {
			t.Errorf("%s: no webhook answered 503 while PostgreSQL was down", fault.name)
		}
		if wasReady {
			t.Errorf("%s: /readyz answered ready while PostgreSQL was down", fault.name)
		}
		back := time.Now()
		for !ready() {
			if time.Since(back) > 30*time.Second {
				t.Fatalf("%s: /readyz not ready 30s after PostgreSQL was back", fault.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitAcked(fault.name+", after", 100)
		t.Logf("%s: %d webhooks answered 503 while down; ready and accepting again %s after it was back",
			fault.name, unavailableTo-unavailableFrom, time.Since(back).Round(time.Millisecond))
	}
	stopLoad()
	wg.Wait()
	// Well under a lease (the listener's 30 s timeout plus a minute): a
	// lease the server committed as the connection froze, whose answer
	// never reached the worker, is given back at the next lease.
	drainFrom := time.Now()
	waitDrained(t, proc, 30*time.Second)
	t.Logf("drained %s after the load stopped", time.Since(drainFrom).Round(time.Millisecond))
	stopAll(t, []*child{proc})

	runs, rows := unionRuns(t, []*child{proc})
	load.mu.Lock()
	slowest, acked := load.slowest, len(load.acked)
	load.mu.Unlock()
	t.Logf("acknowledged=%d ran=%d (event×listener) rows=%d conn_errors=%d other=%v slowest answer=%s",
		acked, len(runs), rows, load.connErrs, load.other, slowest.Round(time.Millisecond))
	if bound := 5*time.Second + 2*time.Second; slowest > bound {
		t.Errorf("the slowest webhook answer took %s, want at most %s (the queue's call bound plus slack)", slowest, bound)
	}
	checkEveryJobRan(t, load, runs, "first", "second")
}
