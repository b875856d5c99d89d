package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
)

// heapCeiling aborts the test binary if the Go heap passes limit before
// the test ends, so a regression that reads without bound fails loudly
// instead of exhausting the machine the tests share.
func heapCeiling(t testing.TB, limit uint64) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > limit {
				panic(fmt.Sprintf("%s: heap reached %d MiB, past the test's ceiling of %d MiB", t.Name(), v>>20, limit>>20))
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// allocated is the bytes the process has allocated so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

const sandboxSecret = "sb-admin-token-5e4d3c2b1a"

// secretTokenFile writes a file holding only sandboxSecret, as the
// admin token file does.
func secretTokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin.token")
	writeFile(t, p, sandboxSecret+"\n")
	return p
}

// TestCheck_SourceMapCommentsNotOpened runs `switchboard check` over
// listeners whose last line names /dev/zero, /dev/urandom and a secret
// as their source map: check finishes with bounded memory, and neither
// its success nor its report of a real error shows the secret.
func TestCheck_SourceMapCommentsNotOpened(t *testing.T) {
	heapCeiling(t, 512<<20)
	token := secretTokenFile(t)
	dir := t.TempDir()
	body := "export default function () {}\n"
	writeFile(t, filepath.Join(dir, "zero.js"), body+"//# sourceMappingURL=/dev/zero\n")
	writeFile(t, filepath.Join(dir, "random.js"), body+"//# sourceMappingURL=/dev/urandom\n")
	writeFile(t, filepath.Join(dir, "secret.js"), body+"//# sourceMappingURL="+token+"\n")
	var listeners strings.Builder
	for _, name := range []string{"zero", "random", "secret"} {
		fmt.Fprintf(&listeners, "[[listeners]]\nname = %q\nscript = \"%s.js\"\non = [\"e\"]\n", name, name)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	writeFile(t, cfgPath, listeners.String())

	before := allocated()
	code, out, errOut := runMain(t, "check", "-c", cfgPath)
	if took := allocated() - before; took > 128<<20 {
		t.Errorf("check allocated %d MiB", took>>20)
	}
	if code != 0 || strings.Contains(out+errOut, sandboxSecret) {
		t.Fatalf("check: exit %d, output\n%s%s\nwant exit 0 and no secret", code, out, errOut)
	}

	writeFile(t, filepath.Join(dir, "broken.js"), "export default function () {\n  const x = ;\n}\n//# sourceMappingURL="+token+"\n")
	writeFile(t, cfgPath, listeners.String()+"[[listeners]]\nname = \"broken\"\nscript = \"broken.js\"\non = [\"e\"]\n")
	code, out, errOut = runMain(t, "check", "-c", cfgPath)
	if code != 1 || !strings.Contains(errOut, "broken.js:2:") || strings.Contains(out+errOut, sandboxSecret) {
		t.Fatalf("check: exit %d, output\n%s%s\nwant exit 1 naming broken.js:2 and no secret", code, out, errOut)
	}
}

// TestServe_SourceMapCommentsNotOpened starts a server whose listener
// already ends in a /dev/zero source-map comment (it starts with bounded
// memory and runs it), then one whose listener is broken and names a
// secret as its map: start-up is refused naming the file:line, and the
// secret is neither in that error nor in the log.
func TestServe_SourceMapCommentsNotOpened(t *testing.T) {
	heapCeiling(t, 512<<20)
	token := secretTokenFile(t)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	before := allocated()
	cfg := writeProcConfig(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("v1") + "//# sourceMappingURL=/dev/zero\n"},
	})
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	app := launch(t, cfg, logger)
	if took := allocated() - before; took > 128<<20 {
		t.Errorf("start-up allocated %d MiB", took>>20)
	}
	if got := versionRun(t, app, "marker"); got != "v1" {
		t.Fatalf("version %q, want v1", got)
	}

	broken := writeProcConfig(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": "export default function () {\n  const x = ;\n}\n//# sourceMappingURL=" + token + "\n"},
	})
	_, err := Open(context.Background(), broken, logger)
	if err == nil || !strings.Contains(err.Error(), "marker.js:2") {
		t.Fatalf("start-up with a broken listener: %v, want an error naming marker.js:2", err)
	}
	for where, out := range map[string]string{"start-up error": err.Error(), "log": logs.String()} {
		if strings.Contains(out, sandboxSecret) {
			t.Errorf("%s shows the secret:\n%s", where, out)
		}
	}
}

// TestReload_SourceMapCommentsNotOpened saves, under a running server, a
// listener ending in a /dev/zero source-map comment (it reloads and runs)
// and a broken one naming a secret (refused, and the secret is in none
// of the reload status, /readyz, /api/config/status or the log).
func TestReload_SourceMapCommentsNotOpened(t *testing.T) {
	heapCeiling(t, 512<<20)
	token := secretTokenFile(t)
	cfg := writeProcConfig(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("v0")},
	})
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	var logs syncBuffer
	app := launch(t, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	path := cfg.Resolve("scripts/marker.js")

	saved := time.Now()
	before := allocated()
	writeFile(t, path, markScript("v1")+"//# sourceMappingURL=/dev/zero\n")
	waitReload(t, app, saved, true)
	if took := allocated() - before; took > 128<<20 {
		t.Errorf("reload allocated %d MiB", took>>20)
	}
	if got := versionRun(t, app, "marker"); got != "v1" {
		t.Fatalf("version %q, want v1", got)
	}

	saved = time.Now()
	writeFile(t, path, "export default function () {\n  const x = ;\n}\n//# sourceMappingURL="+token+"\n")
	st := waitReload(t, app, saved, false)
	adminURL := "http://" + app.AdminAddr.String()
	outputs := map[string]string{
		"reload status":          st.Error,
		"GET /readyz":            adminGet(t, adminURL+"/readyz", procAdminToken),
		"GET /api/config/status": adminGet(t, adminURL+"/api/config/status", procAdminToken),
		"log":                    logs.String(),
	}
	if !strings.Contains(outputs["GET /api/config/status"], "marker.js:2") {
		t.Fatalf("config status does not report the error: %s", outputs["GET /api/config/status"])
	}
	for where, out := range outputs {
		if strings.Contains(out, sandboxSecret) {
			t.Errorf("%s shows the secret:\n%s", where, out)
		}
	}
	if got := versionRun(t, app, "marker"); got != "v1" {
		t.Fatalf("version %q, want the last good v1", got)
	}
}

// TestRun_DynamicImportPointsAtListener runs, through `switchboard run`,
// a listener whose import(name) cannot load: the error's stack names the
// listener's file and line, not the internal bundle.
func TestRun_DynamicImportPointsAtListener(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dyn.js"), "export default async function (event) {\n  const name = event.payload.module;\n  await import(name);\n}\n")
	writeFile(t, filepath.Join(dir, "config.toml"), "[[listeners]]\nname = \"dyn\"\nscript = \"dyn.js\"\non = [\"e\"]\n")
	payload := filepath.Join(dir, "payload.json")
	writeFile(t, payload, `{"module":"fs"}`)
	code, out, errOut := runMain(t, "run", "-c", filepath.Join(dir, "config.toml"), "dyn", payload)
	if code != 1 || !strings.Contains(errOut, `cannot import "fs"`) || !strings.Contains(errOut, "dyn.js:3:") || strings.Contains(out+errOut, "__switchboard_bundle") {
		t.Fatalf("exit %d, output\n%s%s\nwant 1, the import error and dyn.js:3 (never the bundle)", code, out, errOut)
	}
}

// reloadCount is switchboard_reloads_total (ok and refused) from /metrics.
func reloadCount(t *testing.T, app *launched) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(adminGet(t, "http://"+app.AdminAddr.String()+"/metrics", procAdminToken), "\n") {
		if !strings.HasPrefix(line, "switchboard_reloads_total{") {
			continue
		}
		var n float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n); err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		total += int(n)
	}
	return total
}

// noise rewrites each file every 10 ms until the test ends, as a log or a
// database beside the scripts does, and returns a channel that receives
// the count of rounds written.
func noise(t *testing.T, files ...string) <-chan int {
	t.Helper()
	rounds := make(chan int)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 1; ; n++ {
			for _, f := range files {
				if err := os.WriteFile(f, []byte(strings.Repeat("x", n)), 0o644); err != nil {
					t.Error(err)
					return
				}
			}
			select {
			case rounds <- n:
			default:
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped })
	return rounds
}

// awaitRounds waits until n more rounds of noise were written.
func awaitRounds(rounds <-chan int, n int) {
	first := <-rounds
	for r := first; r < first+n; {
		r = <-rounds
	}
}

// TestReload_IgnoresOtherFiles: a log and a database rewritten every
// 10 ms inside scripts/ cause no reload under a running server, neither
// after a good reload nor after a refused one, and do not hold back the
// reload of a save of the listener's script made meanwhile (a watcher
// that debounced them too would wait for the noise to stop).
func TestReload_IgnoresOtherFiles(t *testing.T) {
	app, cfg := reloadApp(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("v0")},
	})
	scripts := cfg.Resolve("scripts")
	rounds := noise(t, filepath.Join(scripts, "server.log"), filepath.Join(scripts, "cache.db"), filepath.Join(scripts, "cache.db-wal"))
	before := reloadCount(t, app)
	awaitRounds(rounds, 100) // ≥ 1 s: ten debounce periods
	if n := reloadCount(t, app) - before; n != 0 {
		t.Fatalf("%d reload(s) while only the log and the database changed", n)
	}

	path := cfg.Resolve("scripts/marker.js")
	saved := time.Now()
	writeFile(t, path, markScript("v1"))
	waitReload(t, app, saved, true)
	if got := versionRun(t, app, "marker"); got != "v1" {
		t.Fatalf("version %q, want v1", got)
	}

	saved = time.Now()
	writeFile(t, path, "export default function () {\n  const x = ;\n}\n")
	waitReload(t, app, saved, false)
	before = reloadCount(t, app)
	awaitRounds(rounds, 50)
	if n := reloadCount(t, app) - before; n != 0 {
		t.Fatalf("%d reload(s) from the log and the database after a refused reload", n)
	}
	saved = time.Now()
	writeFile(t, path, markScript("v2"))
	waitReload(t, app, saved, true)
	if got := versionRun(t, app, "marker"); got != "v2" {
		t.Fatalf("version %q, want v2", got)
	}
	if n := reloadCount(t, app) - before; n != 1 {
		t.Fatalf("%d reloads for one save, want 1", n)
	}
}

// TestReload_NewModuleAfterRefusal: a save importing a file that does not
// exist yet is refused; creating that file (which no compiled script
// depends on yet) reloads.
func TestReload_NewModuleAfterRefusal(t *testing.T) {
	app, cfg := reloadApp(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("v0")},
	})
	saved := time.Now()
	writeFile(t, cfg.Resolve("scripts/marker.js"), `import { db } from "switchboard";
import { version } from "./lib/later.js";

export default function handle(event, job) {
  db.exec("INSERT INTO marks (event_id, listener, version) VALUES (?, ?, ?)", event.id, job.listener, version);
}
`)
	waitReload(t, app, saved, false)
	saved = time.Now()
	writeFile(t, cfg.Resolve("scripts/lib/later.js"), `export const version = "later";`+"\n")
	waitReload(t, app, saved, true)
	if got := versionRun(t, app, "marker"); got != "later" {
		t.Fatalf("version %q, want later", got)
	}
}

// TestServe_HostileListenerFailsAlone runs the report's payload as a
// listener of a real server (scripts.memory_limit 64 MiB, so an 8 MiB
// per-call budget), beside an ordinary one: its attempts fail with the
// memory error, not at their timeout, the heap stays bounded, the other
// listener's job is done and the server stays ready. (The timeout is
// generous so that a slow -race run on a busy machine cannot reach it.)
func TestServe_HostileListenerFailsAlone(t *testing.T) {
	heapCeiling(t, 1536<<20)
	pc := procConfig{
		Listeners: markerListener + `
[[listeners]]
name = "bomb"
script = "scripts/bomb.js"
on = ["media.processed"]
tries = 2
timeout = "60s"
`,
		Scripts: map[string]string{
			"scripts/marker.js": markScript("v1"),
			"scripts/bomb.js":   "export default function () {\n  const s = 'x'.repeat(1 << 20);\n  JSON.stringify(new Array(100000).fill(s));\n}\n",
		},
	}
	cfg := writeProcConfig(t, pc)
	writeFile(t, cfg.Path, procConfigText(pc)+"\n[scripts]\nmemory_limit = \"64MiB\"\n")
	cfg, err := config.Load(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	app := launch(t, cfg, nil)

	runtime.GC()
	base := heapNow()
	var version string
	peak := peakDuring(func() { version = versionRun(t, app, "marker") })
	if version != "v1" {
		t.Fatalf("marker ran version %q, want v1", version)
	}
	if peak > base+(64+16)<<20 {
		t.Errorf("heap grew %d MiB while the bomb ran, past the limit plus twice the budget", (peak-base)>>20)
	}
	jobs, err := app.queue.ListJobs(context.Background(), engine.JobQuery{Listener: "bomb"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].State != engine.JobFailed || jobs[0].LastError == nil ||
		!strings.Contains(jobs[0].LastError.Message, "JSON.stringify would exceed the script memory budget of 8 MiB per call") {
		t.Fatalf("bomb jobs = %+v (last error %+v), want one failed with the memory budget error", jobs, jobs[0].LastError)
	}
	cl := &admin.Client{BaseURL: "http://" + app.AdminAddr.String(), Token: procAdminToken}
	if rd, err := cl.Ready(context.Background()); err != nil || !rd.Ready {
		t.Fatalf("readyz = %+v, %v; want ready", rd, err)
	}
}

func heapNow() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakDuring returns the largest heap seen while run runs.
func peakDuring(run func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := heapNow(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	run()
	close(done)
	<-stopped
	return peak.Load()
}
