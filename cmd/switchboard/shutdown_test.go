package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
)

const gateListener = `
[[listeners]]
name = "slow"
script = "scripts/slow.js"
on = ["media.processed"]
`

// gateConfig is a config whose one listener, slow, blocks on g.
func gateConfig(t *testing.T, g *gate, shutdownTimeout string, fixed bool) *config.Config {
	pc := procConfig{
		ShutdownTimeout: shutdownTimeout,
		Listeners:       gateListener,
		Scripts:         map[string]string{"scripts/slow.js": gateScript(g.URL)},
	}
	if fixed {
		pc.Listen, pc.AdminListen = fixedPorts(t)
	}
	return writeProcConfig(t, pc)
}

// jobOf returns the one job of a stored event.
func jobOf(t *testing.T, cfg *config.Config, eventID string) engine.Job {
	t.Helper()
	q := openStoppedQueue(t, cfg)
	defer q.Close(context.Background())
	_, jobs, err := q.GetEvent(context.Background(), eventID)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Fatalf("event %s has %d jobs, want 1", eventID, len(jobs))
	}
	return jobs[0]
}

// TestShutdown_GraceLetsJobFinish: SIGTERM while a listener runs, with
// time to spare: the server stops accepting, the job finishes and is
// recorded done, and the process exits 0.
func TestShutdown_GraceLetsJobFinish(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	g := newGate(t)
	cfg := gateConfig(t, g, "30s", true)
	proc := newChild(t, cfg)
	proc.start()

	code, id := postTo(t, proc.publicURL()+"/webhooks/ittybit", cfg.Sources[0], []byte(`{"id":"task_grace","status":"completed"}`))
	if code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	if q := g.await(t); q != "attempt=1" {
		t.Fatalf("gate got %q, want attempt=1", q)
	}
	proc.signal(syscall.SIGTERM)
	waitRefused(t, cfg.Server.Listen) // shutting down, the job still running
	if proc.hasExited() {
		t.Fatal("process exited before its running job finished")
	}
	g.open()
	if code := proc.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if j := jobOf(t, cfg, id); j.State != engine.JobDone || j.Attempt != 1 {
		t.Fatalf("job = %s attempt %d, want done attempt 1 (err %+v)", j.State, j.Attempt, j.LastError)
	}
}

// TestShutdown_TimeoutSnoozesJob: a job still running when the grace
// period ends is interrupted, not charged an attempt, and runs again as
// attempt 1 after a restart.
func TestShutdown_TimeoutSnoozesJob(t *testing.T) {
	g := newGate(t)
	cfg := gateConfig(t, g, "5s", false)
	app := launch(t, cfg, nil)
	code, out := post(t, app.App, []byte(`{"id":"task_snooze","status":"completed"}`), true)
	if code != http.StatusOK {
		t.Fatalf("post: %d %v", code, out)
	}
	if q := g.await(t); q != "attempt=1" {
		t.Fatalf("gate got %q, want attempt=1", q)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := app.stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close with a running job past the grace period: %v, want a deadline error", err)
	}

	j := jobOf(t, cfg, out["event"])
	if j.State != engine.JobPending || j.Attempt != 0 || j.Crashes != 0 {
		t.Fatalf("interrupted job = %s attempt %d crashes %d, want pending attempt 0 crashes 0", j.State, j.Attempt, j.Crashes)
	}
	again := launch(t, cfg, nil)
	g.open()
	if q := g.await(t); q != "attempt=1" {
		t.Fatalf("after restart the gate got %q, want attempt=1 again", q)
	}
	waitIdle(t, again.App)
	_, jobs, err := again.queue.GetEvent(context.Background(), out["event"])
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].State != engine.JobDone || jobs[0].Attempt != 1 {
		t.Fatalf("jobs after restart = %+v, want one done at attempt 1", jobs)
	}
}

// TestShutdown_SecondSignalInterrupts: a second SIGTERM during a long
// grace period interrupts the running job at once; the job is kept
// pending, its attempt not spent.
func TestShutdown_SecondSignalInterrupts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	g := newGate(t)
	cfg := gateConfig(t, g, "10m", true)
	proc := newChild(t, cfg)
	proc.start()

	code, id := postTo(t, proc.publicURL()+"/webhooks/ittybit", cfg.Sources[0], []byte(`{"id":"task_second","status":"completed"}`))
	if code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	g.await(t)
	proc.signal(syscall.SIGTERM)
	waitRefused(t, cfg.Server.Listen)
	proc.signal(syscall.SIGTERM)
	// Far less than the 10 minute grace: the second signal ended it.
	if code := proc.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if j := jobOf(t, cfg, id); j.State != engine.JobPending || j.Attempt != 0 || j.Crashes != 0 {
		t.Fatalf("job = %s attempt %d crashes %d, want pending attempt 0 crashes 0", j.State, j.Attempt, j.Crashes)
	}
}

// gate is an HTTP server whose requests block until released (or until
// the client goes away): a listener calling it is "running" for as long
// as the test wants.
type gate struct {
	*httptest.Server
	entered chan string // the query of each request, as it arrives
	release chan struct{}
	once    sync.Once
}

func newGate(t testing.TB) *gate {
	g := &gate{entered: make(chan string, 16), release: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.entered <- r.URL.RawQuery
		select {
		case <-g.release:
			fmt.Fprint(w, "ok")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		g.open()
		g.Close()
	})
	return g
}

// open lets every blocked and future request through.
func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// await returns the next request's query, failing after 15 s.
func (g *gate) await(t testing.TB) string {
	t.Helper()
	select {
	case q := <-g.entered:
		return q
	case <-time.After(15 * time.Second):
		t.Fatal("no listener called the gate within 15s")
		return ""
	}
}

// gateScript calls the gate with the job's attempt and waits for it.
func gateScript(url string) string {
	return fmt.Sprintf(`import { http } from "switchboard";

export default function handle(event, job) {
  const res = http.get(%q + "/?attempt=" + job.attempt);
  if (!res.ok) {
    throw new Error("gate answered " + res.status);
  }
}
`, url)
}
