package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/store"
)

// Helpers shared by the process-level tests: the real binary run as a
// child, configs in a temp dir, and an in-process App the test can stop
// on its own terms.

const procAdminToken = "proc-admin-token"

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == scriptHostVerb {
		// An App under test with scripts.isolation = "process" started
		// this test binary as its script process.
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// Race-enabled script processes need not sleep a second at exit.
	if _, ok := os.LookupEnv("GORACE"); !ok {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// switchboardBinary builds the real binary once per test run (not
// race-built: the child's speed matters more than its race checks).
func switchboardBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "switchboard-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "switchboard")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/switchboard")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freePort returns a port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// procConfig describes a config written into a temp dir: scripts/ for the
// listeners' scripts, data/ for the queue and the SQLite app database.
type procConfig struct {
	Listen          string // server.listen; default 127.0.0.1:0
	AdminListen     string // admin.listen; default 127.0.0.1:0
	ShutdownTimeout string // default 5s
	Queue           string // extra lines under [queue]
	Storage         string // lines under [storage]; default dir = "data"
	Listeners       string // [[listeners]] tables; script paths relative to the config
	Scripts         map[string]string
}

// writeProcConfig writes the config and its scripts into a new temp dir
// and returns the loaded config.
func writeProcConfig(t testing.TB, pc procConfig) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, body := range pc.Scripts {
		writeFile(t, filepath.Join(dir, name), body)
	}
	writeFile(t, filepath.Join(dir, "config.toml"), procConfigText(pc))
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.Resolve("data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func procConfigText(pc procConfig) string {
	if pc.Listen == "" {
		pc.Listen = "127.0.0.1:0"
	}
	if pc.AdminListen == "" {
		pc.AdminListen = "127.0.0.1:0"
	}
	if pc.ShutdownTimeout == "" {
		pc.ShutdownTimeout = "5s"
	}
	if pc.Storage == "" {
		pc.Storage = `dir = "data"`
	}
	return fmt.Sprintf(`
[server]
listen = %q
shutdown_timeout = %q
[admin]
listen = %q
token = %q
[storage]
%s
[queue]
workers = 4
%s
[defaults]
tries = 5
backoff = ["50ms"]
timeout = "20s"
[database]
driver = "sqlite"
dsn = "data/app.db"
[mail]
transport = "log"
from = "Media <media@example.com>"
[http]
allow_cidrs = ["127.0.0.0/8"]
[log]
level = "info"

[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "proc-webhook-secret"
event = "media.processed"
%s`, pc.Listen, pc.ShutdownTimeout, pc.AdminListen, procAdminToken, pc.Storage, pc.Queue, pc.Listeners)
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// execAppDB runs statements against the config's app database (the
// server's own process must not hold it in a way that conflicts: SQLite
// in WAL mode allows this beside a running server).
func execAppDB(t testing.TB, cfg *config.Config, stmts ...string) {
	t.Helper()
	d, err := db.Open(context.Background(), dbOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, s := range stmts {
		if _, err := d.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// queryAppDB returns every row of query against the config's app database.
func queryAppDB(t testing.TB, cfg *config.Config, query string, args ...any) []map[string]any {
	t.Helper()
	d, err := db.Open(context.Background(), dbOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// child is the real binary serving one config, restartable.
type child struct {
	t      testing.TB
	bin    string
	cfg    *config.Config
	logs   *os.File // every run's stderr, appended
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // from Wait, valid once exited is closed
}

func newChild(t testing.TB, cfg *config.Config) *child {
	t.Helper()
	logs, err := os.Create(filepath.Join(t.TempDir(), "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, bin: switchboardBinary(t), cfg: cfg, logs: logs}
	t.Cleanup(func() {
		if c.cmd != nil && !c.hasExited() {
			c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			t.Logf("child log (tail):\n%s", b)
		}
		logs.Close()
	})
	return c
}

// start runs the binary and waits until its admin /healthz answers.
func (c *child) start() {
	c.t.Helper()
	cmd := exec.Command(c.bin, "serve", "-c", c.cfg.Path)
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmd, c.exited, c.err = cmd, make(chan struct{}), nil
	go func(exited chan struct{}) {
		err := cmd.Wait()
		c.err = err
		close(exited)
	}(c.exited)
	cl := c.admin()
	// Longer than a shared queue's start-up bound (the jetstream backend
	// gives a cluster that is recovering 30 s to answer), so a start that
	// fails says why instead of being cut off.
	const healthyWithin = 45 * time.Second
	deadline := time.Now().Add(healthyWithin)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cl.Health(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-c.exited:
			c.t.Fatalf("switchboard exited before it was healthy: %v", c.err)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("switchboard not healthy after %s: %v", healthyWithin, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *child) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !c.hasExited() {
		c.t.Fatal(err)
	}
	<-c.exited
}

func (c *child) signal(sig os.Signal) {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to limit for the process to exit and returns its exit
// code; it fails the test if the process is still running.
func (c *child) wait(limit time.Duration) int {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(limit):
		c.t.Fatalf("switchboard still running %s after it was told to stop", limit)
	}
	var exit *exec.ExitError
	if errors.As(c.err, &exit) {
		return exit.ExitCode()
	}
	if c.err != nil {
		c.t.Fatalf("wait: %v", c.err)
	}
	return 0
}

func (c *child) publicURL() string { return "http://" + c.cfg.Server.Listen }

func (c *child) admin() *admin.Client {
	return &admin.Client{BaseURL: "http://" + c.cfg.Admin.Listen, Token: procAdminToken}
}

// fixedPorts returns server and admin addresses on ports free right now.
func fixedPorts(t testing.TB) (string, string) {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

// waitRefused waits until nothing accepts connections on addr: the
// process has begun shutting down (or is gone).
func waitRefused(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// launched is an in-process App the test stops when it chooses.
type launched struct {
	*App
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopped  atomic.Bool
	stopErr  error
}

// launch opens and runs an App for cfg; it is stopped (with a 10 s grace)
// when the test ends unless stop ran first.
func launch(t testing.TB, cfg *config.Config, logger *slog.Logger) *launched {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	app, err := Open(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l := &launched{App: app, cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- app.Run(runCtx) }()
	select {
	case <-app.Ready:
	case err := <-l.done:
		app.Close(context.Background())
		t.Fatalf("app stopped before it was ready: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if l.stopped.Load() {
			return // the test stopped it and checked the error
		}
		if err := l.stop(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

// stop ends Run as a signal would and closes the app with ctx as the
// grace period for running jobs; its error is Close's.
func (l *launched) stop(ctx context.Context) error {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		l.cancel()
		<-l.done
		l.stopErr = l.App.Close(ctx)
	})
	return l.stopErr
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// postTo signs body as src would and posts it to url, returning the
// status and the event id of the answer.
func postTo(t testing.TB, url string, src config.Source, body []byte) (int, string) {
	t.Helper()
	headers, err := ingest.Sign(ingestSource(src), body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Event string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Event
}

// openStoppedQueue opens a stopped server's queue file to inspect it.
func openStoppedQueue(t testing.TB, cfg *config.Config) *store.Queue {
	t.Helper()
	q, err := store.Open(store.Options{Path: filepath.Join(cfg.Resolve(cfg.Storage.Dir), "queue.db"), CrashLimit: cfg.Queue.CrashLimit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}
