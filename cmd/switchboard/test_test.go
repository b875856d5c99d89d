package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCmdTest_ShippedScripts runs the shipped listeners' script tests
// through the real config.toml at the repository root.
func TestCmdTest_ShippedScripts(t *testing.T) {
	t.Setenv("ITTYBIT_WEBHOOK_SECRET", "test-secret")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"test", "-c", "../../config.toml"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^\d+ passed, 0 failed$`).MatchString(last) || strings.HasPrefix(last, "0 ") {
		t.Errorf("last line = %q, want \"N passed, 0 failed\" with N > 0", last)
	}
	for _, f := range []string{"update_media_record", "generate_thumbnail", "notify_user"} {
		if !strings.Contains(out.String(), f+".test.js") {
			t.Errorf("no results from scripts/%s.test.js:\n%s", f, out.String())
		}
	}
}

func TestCmdTest_FailuresExitOne(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.toml", "[[listeners]]\nname = \"l\"\nscript = \"l.js\"\non = [\"e\"]\n")
	write("l.js", "export default function () {}\n")
	write("l.test.js", `import { test, run, expect } from "switchboard/test";
test("passes", () => { expect(run("l", {})).toSucceed(); });
test("fails", () => { expect(run("l", {})).toFail(); });
`)
	cases := []struct {
		name string
		args []string
		code int
		last string
	}{
		{"all", []string{"test", "-c", filepath.Join(dir, "config.toml")}, 1, "1 passed, 1 failed"},
		{"run filter", []string{"test", "-c", filepath.Join(dir, "config.toml"), "-run", "^passes$"}, 0, "1 passed, 0 failed"},
		{"explicit file", []string{"test", "-c", filepath.Join(dir, "config.toml"), filepath.Join(dir, "l.test.js"), "-run", "fails"}, 1, "0 passed, 1 failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), c.args, &out, &errOut)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if code != c.code || lines[len(lines)-1] != c.last {
				t.Errorf("exit %d, last line %q; want %d, %q\nstdout:\n%s\nstderr:\n%s",
					code, lines[len(lines)-1], c.code, c.last, out.String(), errOut.String())
			}
		})
	}
}
