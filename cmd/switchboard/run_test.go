package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `run --dry-run` beside a running server: kv reads go through the
// server's admin API (the server holds the queue file), kv writes are
// recorded, and no error advises the flag already given.
func TestRun_DryRunReadsKVWhileServerRuns(t *testing.T) {
	pc := procConfig{
		Listeners: `
[[listeners]]
name = "counter"
script = "scripts/counter.js"
on = ["media.processed"]
`,
		Scripts: map[string]string{"scripts/counter.js": `import { kv } from "switchboard";
export default function handle(event) {
  const prev = kv.get("last");
  if (event.source === "run" && !prev) throw new Error("no previous value in kv");
  kv.set("last", event.payload.id);
}
`},
	}
	pc.Listen, pc.AdminListen = fixedPorts(t)
	cfg := writeProcConfig(t, pc)
	app := launch(t, cfg, nil)
	code, out := post(t, app.App, []byte(`{"id":"task_kv_1","status":"completed"}`), true)
	if code != 200 {
		t.Fatalf("post: %d %v", code, out)
	}
	waitIdle(t, app.App)
	payload := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(payload, []byte(`{"id":"task_kv_2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "run", "-c", cfg.Path, "--dry-run", "counter", payload)
	if code != 0 {
		t.Fatalf("run --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, `→ kv.set("last", "task_kv_2"`) {
		t.Fatalf("the kv write was not recorded:\n%s", stdout)
	}
	// Without --dry-run the write cannot happen while the server holds
	// the queue; the error says why and what to do.
	code, _, stderr = runMain(t, "run", "-c", cfg.Path, "counter", payload)
	if code == 0 || !strings.Contains(stderr, "stop the server, or run with --dry-run") {
		t.Fatalf("run without --dry-run: exit %d, stderr %q", code, stderr)
	}
}
