package scripttest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDiscover_FindsTestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"a.test.js", "lib/b.test.ts", "lib/deep/c.test.mts", "listener.js", "test.js", "x.test.json",
		"node_modules/pkg/d.test.js", ".hidden/e.test.js",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i], _ = filepath.Rel(dir, got[i])
	}
	want := []string{"a.test.js", "lib/b.test.ts", "lib/deep/c.test.mts"}
	if !slices.Equal(got, want) {
		t.Errorf("Discover = %v, want %v", got, want)
	}
	if files, err := Discover(filepath.Join(dir, "missing")); err != nil || len(files) != 0 {
		t.Errorf("Discover(missing) = %v, %v; want nothing, no error", files, err)
	}
}

func TestTextReporter_Format(t *testing.T) {
	rep := Report{}
	rep.add(Result{File: "scripts/a.test.js", Name: "works", Status: Pass, Elapsed: 2 * time.Millisecond, Output: "quiet"})
	rep.add(Result{File: "scripts/a.test.js", Name: "breaks", Status: Fail, Message: "expected 1 to be 2",
		Location: "scripts/a.test.js:7:3", Output: "level=INFO msg=hi"})
	rep.add(Result{File: "scripts/a.test.js", Name: "later", Status: Skip})
	var buf bytes.Buffer
	rep.WriteText(&buf, false)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	cases := []struct{ name, want string }{
		{"pass line", "ok   scripts/a.test.js: works (2ms)"},
		{"fail line", "FAIL scripts/a.test.js: breaks (0s)"},
		{"failure location", "     scripts/a.test.js:7:3: expected 1 to be 2"},
		{"failure output", "     level=INFO msg=hi"},
		{"skip line", "skip scripts/a.test.js: later"},
	}
	for _, c := range cases {
		if !slices.Contains(lines, c.want) {
			t.Errorf("%s: no line %q in:\n%s", c.name, c.want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "quiet") {
		t.Errorf("output of a passing test printed without verbose:\n%s", buf.String())
	}
	if last := lines[len(lines)-1]; last != "1 passed, 1 failed" {
		t.Errorf("last line = %q, want %q", last, "1 passed, 1 failed")
	}
}
