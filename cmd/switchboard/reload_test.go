package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
)

// reloadBudget is issue 4's promise: a saved change is live this soon.
const reloadBudget = 500 * time.Millisecond

// markScript records which version of the script ran.
func markScript(version string) string {
	return fmt.Sprintf(`import { db } from "switchboard";

export default function handle(event, job) {
  db.exec("INSERT INTO marks (event_id, listener, version) VALUES (?, ?, ?)", event.id, job.listener, %q);
}
`, version)
}

const markerListener = `
[[listeners]]
name = "marker"
script = "scripts/marker.js"
on = ["media.processed"]
`

// reloadApp runs an in-process App over pc with a marks table.
func reloadApp(t *testing.T, pc procConfig) (*launched, *config.Config) {
	t.Helper()
	cfg := writeProcConfig(t, pc)
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	return launch(t, cfg, nil), cfg
}

var markSeq atomic.Int64

// versionRun posts a new webhook, waits for its jobs, and returns the
// version listener recorded for it.
func versionRun(t *testing.T, app *launched, listener string) string {
	t.Helper()
	body := fmt.Appendf(nil, `{"id":"task_mark_%d","status":"completed"}`, markSeq.Add(1))
	code, out := post(t, app.App, body, true)
	if code != http.StatusOK {
		t.Fatalf("post: %d %v", code, out)
	}
	waitIdle(t, app.App)
	rows, err := app.appDB.Query(context.Background(), "SELECT version FROM marks WHERE event_id = ? AND listener = ?", out["event"], listener)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("listener %s ran %d times for event %s, want once", listener, len(rows), out["event"])
	}
	return rows[0]["version"].(string)
}

// waitReload waits for the first reload that finished after saved with
// the wanted outcome, and checks it came within reloadBudget of the save.
func waitReload(t *testing.T, app *launched, saved time.Time, wantOK bool) *admin.ReloadStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := app.status.Load()
		if st.At.After(saved) && st.OK == wantOK {
			took := st.At.Sub(saved)
			t.Logf("reload (ok=%v) live %s after the save", wantOK, took.Round(time.Millisecond))
			if took > reloadBudget {
				t.Errorf("reload took %s after the save, want ≤ %s", took, reloadBudget)
			}
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload with ok=%v within 5s of the save; last status %+v", wantOK, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReload_ScriptEdits edits a running listener's script the ways
// editors save files; each time the next webhook runs the new version.
func TestReload_ScriptEdits(t *testing.T) {
	app, cfg := reloadApp(t, procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("v0")},
	})
	path := cfg.Resolve("scripts/marker.js")
	if got := versionRun(t, app, "marker"); got != "v0" {
		t.Fatalf("first run: version %q, want v0", got)
	}
	steps := []struct {
		name    string
		version string
		save    func(t *testing.T, body string)
	}{
		{"in_place", "v1", func(t *testing.T, body string) { writeFile(t, path, body) }},
		{"rename_over", "v2", func(t *testing.T, body string) {
			tmp := filepath.Join(filepath.Dir(path), ".marker.js.swp")
			writeFile(t, tmp, body)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"delete_create", "v3", func(t *testing.T, body string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, body)
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			saved := time.Now()
			s.save(t, markScript(s.version))
			waitReload(t, app, saved, true)
			if got := versionRun(t, app, "marker"); got != s.version {
				t.Fatalf("after the save: version %q, want %q", got, s.version)
			}
		})
	}

	t.Run("syntax_error", func(t *testing.T) {
		saved := time.Now()
		writeFile(t, path, "import { db } from \"switchboard\";\nexport default function handle(event) {\n  const x = ;\n}\n")
		st := waitReload(t, app, saved, false)
		if !strings.Contains(st.Error, "marker.js:3") {
			t.Fatalf("reload error %q does not name marker.js:3", st.Error)
		}
		cl := &admin.Client{BaseURL: "http://" + app.AdminAddr.String(), Token: procAdminToken}
		remote, err := cl.ConfigStatus(context.Background())
		if err != nil || remote.OK || !strings.Contains(remote.Error, "marker.js:3") {
			t.Fatalf("admin config status = %+v, %v; want the error naming marker.js:3", remote, err)
		}
		if got := versionRun(t, app, "marker"); got != "v3" {
			t.Fatalf("with a broken save: version %q, want the last good v3", got)
		}

		saved = time.Now()
		writeFile(t, path, markScript("v4"))
		waitReload(t, app, saved, true)
		if got := versionRun(t, app, "marker"); got != "v4" {
			t.Fatalf("after the fix: version %q, want v4", got)
		}
	})
}

// TestReload_Config changes config.toml under a running server: a new
// listener and another's tries take effect; a new listen address is
// reported as needing a restart.
func TestReload_Config(t *testing.T) {
	pc := procConfig{
		Listeners: markerListener,
		Scripts:   map[string]string{"scripts/marker.js": markScript("m1"), "extra/second.js": markScript("s1")},
	}
	app, cfg := reloadApp(t, pc)
	if l := app.router.Routes().Listener("marker"); l == nil || l.Tries != 5 {
		t.Fatalf("marker before = %+v, want tries 5", l)
	}

	pc.Listeners = markerListener + "tries = 2\n" + `
[[listeners]]
name = "second"
script = "extra/second.js"
on = ["media.processed"]
`
	saved := time.Now()
	writeFile(t, cfg.Path, procConfigText(pc))
	st := waitReload(t, app, saved, true)
	if len(st.NeedsRestart) != 0 {
		t.Fatalf("NeedsRestart = %v, want none for listener changes", st.NeedsRestart)
	}
	if l := app.router.Routes().Listener("marker"); l == nil || l.Tries != 2 {
		t.Fatalf("marker after = %+v, want tries 2", l)
	}
	if got := versionRun(t, app, "second"); got != "s1" {
		t.Fatalf("added listener: version %q, want s1", got)
	}
	// Its directory was not watched before the reload; it is now.
	saved = time.Now()
	writeFile(t, filepath.Join(cfg.Dir, "extra", "second.js"), markScript("s2"))
	waitReload(t, app, saved, true)
	if got := versionRun(t, app, "second"); got != "s2" {
		t.Fatalf("edit in the new listener's directory: version %q, want s2", got)
	}

	pc.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	saved = time.Now()
	writeFile(t, cfg.Path, procConfigText(pc))
	st = waitReload(t, app, saved, true)
	if !restartNamed(st.NeedsRestart, "server.listen") {
		t.Fatalf("NeedsRestart = %v, want server.listen named", st.NeedsRestart)
	}
	// Still serving on the old address.
	if got := versionRun(t, app, "marker"); got != "m1" {
		t.Fatalf("after the listen change: version %q, want m1", got)
	}
}

// restartNamed reports whether keys names the section (or a key in it).
func restartNamed(keys []string, key string) bool {
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

// TestReload_TypeScriptImport runs a TypeScript listener that imports a
// local TypeScript module, then edits only the imported module.
func TestReload_TypeScriptImport(t *testing.T) {
	label := func(prefix string) string {
		return fmt.Sprintf("export function label(v: string): string {\n  return %q + v;\n}\n", prefix)
	}
	app, cfg := reloadApp(t, procConfig{
		Listeners: `
[[listeners]]
name = "typed"
script = "scripts/typed.ts"
on = ["media.processed"]
`,
		Scripts: map[string]string{
			"scripts/typed.ts": `import { db } from "switchboard";
import { label } from "./lib/label";

interface Job { listener: string; attempt: number }

export default function handle(event: { id: string }, job: Job): void {
  const version: string = label("1");
  db.exec("INSERT INTO marks (event_id, listener, version) VALUES (?, ?, ?)", event.id, job.listener, version);
}
`,
			"scripts/lib/label.ts": label("ts:"),
		},
	})
	if got := versionRun(t, app, "typed"); got != "ts:1" {
		t.Fatalf("version %q, want ts:1", got)
	}
	saved := time.Now()
	writeFile(t, cfg.Resolve("scripts/lib/label.ts"), label("ts2:"))
	waitReload(t, app, saved, true)
	if got := versionRun(t, app, "typed"); got != "ts2:1" {
		t.Fatalf("after editing the imported module: version %q, want ts2:1", got)
	}
}

// manyScripts is a config of n listeners, each with its own ~40-line script.
func manyScripts(b *testing.B, n int) *config.Config {
	b.Helper()
	var listeners strings.Builder
	scripts := map[string]string{}
	for i := range n {
		fmt.Fprintf(&listeners, "\n[[listeners]]\nname = \"l%02d\"\nscript = \"scripts/l%02d.js\"\non = [\"e%d\"]\n", i, i, i)
		scripts[fmt.Sprintf("scripts/l%02d.js", i)] = benchScript(i, 0)
	}
	return writeProcConfig(b, procConfig{Listeners: listeners.String(), Scripts: scripts})
}

func benchScript(i, rev int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "// listener %d, revision %d\nimport { db, log } from \"switchboard\";\n\n", i, rev)
	for f := range 6 {
		fmt.Fprintf(&sb, "function step%d(p) {\n  const out = {};\n  for (const k of Object.keys(p || {})) {\n    out[k + %q] = p[k];\n  }\n  return out;\n}\n\n", f, fmt.Sprint(i))
	}
	sb.WriteString("export default function handle(event, job) {\n  let p = event.payload;\n  p = step0(step1(step2(step3(step4(step5(p))))));\n  log.info(\"ran\", { keys: Object.keys(p).length });\n  db.exec(\"SELECT 1\");\n}\n")
	return sb.String()
}

// BenchmarkOpen_50Scripts is startup with 50 listener scripts: open the
// store and app database and compile every script (Open then Close).
func BenchmarkOpen_50Scripts(b *testing.B) {
	cfg := manyScripts(b, 50)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		app, err := Open(ctx, cfg, logger)
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReload_OneScript is a reload after one script of 50 changed:
// re-read config.toml, recompile the changed script, swap.
func BenchmarkReload_OneScript(b *testing.B) {
	cfg := manyScripts(b, 50)
	ctx := context.Background()
	app, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close(ctx)
	path := cfg.Resolve("scripts/l07.js")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		writeFile(b, path, benchScript(7, i+1))
		b.StartTimer()
		if err := app.Reload(nil); err != nil {
			b.Fatal(err)
		}
	}
}
