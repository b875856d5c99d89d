package scripttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine/config"
)

// baseConfig is a config for a project in a temp dir; listeners are
// appended by project.
const baseConfig = `
[storage]
dir = "data"
[mail]
transport = "file"
dir = "data/mail"
from = "Test <test@example.com>"
`

// project writes files (path → content, relative to a fresh directory)
// and a config.toml with one listener per entry of listeners (name →
// script path, extra TOML lines after "|"), and loads it.
func project(t *testing.T, listeners map[string]string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(baseConfig)
	for name, spec := range listeners {
		script, extra, _ := strings.Cut(spec, "|")
		b.WriteString("[[listeners]]\nname = \"" + name + "\"\nscript = \"" + script + "\"\non = [\"thing.happened\"]\n" + extra + "\n")
	}
	files["config.toml"] = b.String()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	return cfg
}

// runTests runs the test files (relative to the config's dir).
func runTests(t *testing.T, cfg *config.Config, opts Options, files ...string) Report {
	t.Helper()
	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = cfg.Resolve(f)
	}
	rep, err := Run(context.Background(), cfg, abs, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// byName indexes results by test name.
func byName(rep Report) map[string]Result {
	m := map[string]Result{}
	for _, r := range rep.Results {
		m[r.Name] = r
	}
	return m
}

func reportText(rep Report) string {
	var buf bytes.Buffer
	rep.WriteText(&buf, true)
	return buf.String()
}

// lineOf returns the 1-based line of the first line of content containing marker.
func lineOf(t *testing.T, content, marker string) int {
	t.Helper()
	for i, l := range strings.Split(content, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q not found", marker)
	return 0
}

// echoListener mails what it got and reads/writes the app database.
const echoListener = `
import { db, mail, kv, emit, ittybit, http } from "switchboard";
export default function handle(event, job) {
  const p = event.payload;
  if (p.throw) throw new Error(p.throw);
  if (p.loop) for (;;) {}
  if (p.mail) mail.send({ to: p.mail, subject: "hi " + event.name, text: "attempt " + job.attempt });
  if (p.insert) db.exec("INSERT INTO notes (body) VALUES (?)", p.insert);
  if (p.task) {
    const task = ittybit.createTask({ url: p.task });
    db.exec("INSERT INTO notes (body) VALUES (?)", task.id);
  }
  if (p.count) kv.set("count", (kv.get("count") || 0) + 1);
  if (p.emit) emit("thing.followed", { from: event.id });
  if (p.get) return http.get(p.get);
}
`
