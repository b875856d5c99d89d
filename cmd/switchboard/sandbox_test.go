package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
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
