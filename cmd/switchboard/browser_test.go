package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
)

// The console, driven in a real browser (Debian's chromium through the
// DevTools protocol) against the real server: the App with bbolt in a
// temp dir. .ci/run installs chromium when it is missing; elsewhere the
// test skips, saying so.

const browserToken = "console-test-token"

// hostile is what an attacker could put in a payload or make a script
// throw: it must show as text, run nothing and load nothing.
const hostile = `<script>window.__pwned=1</script>"><img src=x onerror=window.__pwned=2>`

// chromiumPath finds the browser: $SWITCHBOARD_CHROMIUM, else chromium on
// the PATH. Without one the test skips, unless SWITCHBOARD_REQUIRE_BROWSER
// is set (CI sets it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SWITCHBOARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SWITCHBOARD_REQUIRE_BROWSER") != "" {
		t.Fatal("SWITCHBOARD_REQUIRE_BROWSER is set but no chromium is on PATH")
	}
	t.Skip("browser tests skipped: no chromium on PATH (apt-get install -y chromium; .ci/run installs it)")
	return ""
}

// consoleLog collects what the page wrote to the browser console that an
// operator would call a problem: errors, exceptions, CSP reports.
type consoleLog struct {
	mu   sync.Mutex
	bad  []string
	seen int
}

func (c *consoleLog) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen++
	text := m.String()
	if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(text, "Content Security Policy") ||
		strings.Contains(text, "Refused to") {
		c.bad = append(c.bad, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, text))
	}
}

func (c *consoleLog) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bad...)
}

// newBrowser starts a headless chromium with a fresh profile and returns
// a tab context; the console messages of the tab go to log.
func newBrowser(t *testing.T, log *consoleLog) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser, with no timeout on it
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			log.add(m)
		}
	}()
	return ctx
}

// browse runs steps with a deadline; poll waits for a JS condition.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
		t.Fatalf("%s: %v\npage: %.2000s", what, err, page)
	}
}

// until waits for a JS condition to hold. A navigation under way (a form
// post, a redirect) ends a poll early: it then polls the new document.
func until(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(15 * time.Second)
		// A page half loaded may lack what js reads: not yet, not an error.
		safe := `(() => { try { return !!(` + js + `); } catch (e) { return false; } })()`
		for {
			poll := chromedp.Poll[bool](safe, chromedp.WithPollingInterval(50*time.Millisecond),
				chromedp.WithPollingTimeout(time.Until(deadline)))
			_, err := poll(ctx, t)
			if err == nil {
				return chromedp.Void{}, nil
			}
			navigated := strings.Contains(err.Error(), "navigated") || strings.Contains(err.Error(), "context")
			if !navigated || time.Now().After(deadline) || ctx.Err() != nil {
				return chromedp.Void{}, fmt.Errorf("waiting for %s: %w", js, err)
			}
		}
	}
}

// clickWhen clicks the first element sel matches as soon as there is one
// (and it is not disabled), finding and clicking it in one evaluation: a
// page that re-renders between a lookup and a click (the console
// refreshes itself) cannot leave the click on a node that is gone.
func clickWhen(sel string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel)
	return until(`(() => { const el = document.querySelector(` + string(q) + `);` +
		` if (!el || el.disabled) return false; el.click(); return true; })()`)
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// consoleConfig writes a config of three test listeners (steady, echo,
// flaky) and one hmac source on the bbolt queue; extra is appended.
func consoleConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	return consoleConfigOn(t, "", extra)
}

// consoleConfigOn is consoleConfig with queueKeys added to [queue] (the
// backend and its settings).
func consoleConfigOn(t *testing.T, queueKeys, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	scripts := map[string]string{
		// steady succeeds; flaky fails, echoing the payload's title, until
		// its kv says "ok".
		"steady.js": "export default function handle(event) { return event.id; }\n",
		"echo.js":   "export default function handle() {}\n",
		"flaky.js": `import { kv } from "switchboard";
export default function handle(event) {
  if (kv.get("mode") !== "ok") {
    throw new Error("cannot render " + event.payload.data.title);
  }
}
`,
	}
	for name, body := range scripts {
		writeFile(t, filepath.Join(dir, "scripts", name), body)
	}
	writeFile(t, filepath.Join(dir, "config.toml"), `
[server]
listen = "127.0.0.1:0"
shutdown_timeout = "5s"
[admin]
listen = "127.0.0.1:0"
token = "`+browserToken+`"
[storage]
dir = "data"
[queue]
workers = 2
`+queueKeys+`
[database]
dsn = "data/app.db"
[mail]
dir = "data/mail"
[log]
level = "warn"

[[sources]]
name = "hooks"
path = "/webhooks/hooks"
verify = "hmac"
header = "X-Signature"
secret = "browser-test-secret"
event_field = "type"

[[listeners]]
name = "steady"
script = "scripts/steady.js"
on = ["tick"]

[[listeners]]
name = "echo"
script = "scripts/echo.js"
on = ["tick"]

[[listeners]]
name = "flaky"
script = "scripts/flaky.js"
on = ["render"]
tries = 2
backoff = ["50ms"]
`+extra)
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startConsoleApp runs the App (bbolt in a temp dir) until the test ends.
func startConsoleApp(t *testing.T, cfg *config.Config) *App {
	t.Helper()
	return launch(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).App
}

// send posts a signed webhook and returns the stored event's id.
func send(t *testing.T, app *App, payload map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(payload)
	headers, err := ingest.Sign(ingestSource(app.cfg.Sources[0]), body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.PublicAddr.String()+"/webhooks/hooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK || out["event"] == "" {
		t.Fatalf("webhook answered %d %v", resp.StatusCode, out)
	}
	return out["event"]
}

// consoleJob returns the job of listener l for event ev, waiting until it is in
// state want.
func consoleJob(t *testing.T, app *App, ev, l string, want engine.JobState) engine.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, jobs, err := app.queue.GetEvent(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Listener == l && j.State == want {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s job of %s for %s: %+v", want, l, ev, jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queueBackends are the queue backends a test runs an app on, each as
// the lines it adds under [queue] (and a [nats] table): bbolt always,
// PostgreSQL when SWITCHBOARD_TEST_POSTGRES_DSN names one (a fresh schema,
// dropped afterwards), NATS JetStream on an in-process server.
func queueBackends(t *testing.T) map[string]func(t *testing.T) string {
	out := map[string]func(*testing.T) string{
		"bbolt": func(*testing.T) string { return "" },
		"nats": func(t *testing.T) string {
			srv := natstest.Run(t, natstest.Options{})
			return natsQueueConfig([]string{srv.URL()}, 1, "sb")
		},
	}
	dsn := os.Getenv(postgrestest.EnvDSN)
	if dsn == "" {
		t.Log(postgrestest.EnvDSN + " is not set: no run on PostgreSQL")
		return out
	}
	out["postgres"] = func(t *testing.T) string {
		schema := postgrestest.Schema(t, dsn, "sbapp_")
		return fmt.Sprintf("backend = \"postgres\"\ndsn = %q\nschema = %q\n", dsn, schema)
	}
	return out
}
