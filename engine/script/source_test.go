package script

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretFiles writes a token file and a valid source map whose source
// name is the token, and returns the token and both paths. A compiler
// that followed a script's source-map comment to either would show the
// token: the first as a parse error, the second as a file name in stacks.
func secretFiles(t *testing.T) (secret, tokenFile, mapFile string) {
	t.Helper()
	dir := t.TempDir()
	secret = "sb-secret-9d8c7b6a5f4e"
	tokenFile = filepath.Join(dir, "admin.token")
	mapFile = filepath.Join(dir, "leak.js.map")
	write(t, tokenFile, secret+"\n")
	write(t, mapFile, `{"version":3,"sources":["`+secret+`.js"],"names":[],"mappings":"AAAA;AACA;AACA"}`)
	return secret, tokenFile, mapFile
}

// TestCompile_SourceMapCommentsNotRead: whatever a script's source-map
// comment names (an endless device, a secret, a map that would rename
// the script), compiling ignores it: the script compiles quickly with
// bounded memory, its errors point at its own lines, and nothing of the
// named file appears in an error or a stack.
func TestCompile_SourceMapCommentsNotRead(t *testing.T) {
	heapCeiling(t, 512<<20)
	secret, tokenFile, mapFile := secretFiles(t)
	dir := t.TempDir()
	rel := func(p string) string {
		r, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	comments := map[string]string{
		"dev zero":            "//# sourceMappingURL=/dev/zero",
		"dev urandom":         "//# sourceMappingURL=/dev/urandom",
		"dev zero relative":   "//# sourceMappingURL=" + rel("/dev/zero"),
		"token file":          "//# sourceMappingURL=" + tokenFile,
		"token file URL":      "//# sourceMappingURL=file://" + tokenFile,
		"token file relative": "//# sourceMappingURL=" + rel(tokenFile),
		"token at-style":      "//@ sourceMappingURL=" + tokenFile,
		"token block comment": "/*# sourceMappingURL=" + tokenFile + " */",
		"foreign map":         "//# sourceMappingURL=" + mapFile,
		"foreign map block":   "/*@ sourceMappingURL=" + mapFile + " */",
	}
	e := NewEngine(nil, Options{MemoryLimit: 64 << 20})
	for name, comment := range comments {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".js")
			write(t, p, "export default function () {\n  throw new Error(\"boom\");\n}\n"+comment+"\n")
			before := allocated()
			s, err := Compile(p)
			if took := allocated() - before; took > 64<<20 {
				t.Errorf("compile allocated %d MiB", took>>20)
			}
			if err != nil {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("compile error shows the secret: %v", err)
				}
				t.Fatalf("compile: %v (the comment must be ignored)", err)
			}
			inv, _ := newInv(t, nil)
			err = e.Run(runCtx(t, 10*time.Second), s, inv)
			var ex *Exception
			if !errors.As(err, &ex) {
				t.Fatalf("run: %v (%T), want the script's exception", err, err)
			}
			if strings.Contains(ex.Message+ex.Stack, secret) {
				t.Fatalf("exception shows the secret:\n%s\n%s", ex.Message, ex.Stack)
			}
			if want := filepath.Base(p) + ":2:"; !strings.Contains(ex.Stack, want) {
				t.Fatalf("stack %q does not point at %s", ex.Stack, want)
			}
		})
	}
}

// TestRun_EvalSourceMapCommentsNotRead: code compiled at run time (eval,
// new Function) is parsed with source maps off.
func TestRun_EvalSourceMapCommentsNotRead(t *testing.T) {
	heapCeiling(t, 512<<20)
	secret, tokenFile, mapFile := secretFiles(t)
	s := compileSource(t, `export default function (e) {
		const code = "1\n2\nthrow new Error('evaluated')\n//# sourceMappingURL=";
		const out = [];
		for (const url of e.payload.urls) {
			try { eval(code + url) } catch (err) { out.push(String(err.stack)) }
			try { new Function(code + url)() } catch (err) { out.push(String(err.stack)) }
		}
		throw new Error(out.join("\n"));
	}`)
	// goja resolves an eval'd comment's path against the working directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"/dev/zero", "/dev/urandom", tokenFile, mapFile}
	for _, p := range urls[:] {
		r, err := filepath.Rel(wd, p)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, r)
	}
	inv, _ := newInv(t, map[string]any{"urls": urls})
	before := allocated()
	err = NewEngine(nil, Options{MemoryLimit: 64 << 20}).Run(runCtx(t, 10*time.Second), s, inv)
	if took := allocated() - before; took > 64<<20 {
		t.Errorf("run allocated %d MiB", took>>20)
	}
	var ex *Exception
	if !errors.As(err, &ex) || !strings.Contains(ex.Message, "evaluated") {
		t.Fatalf("err = %v, want the collected stacks", err)
	}
	if strings.Contains(ex.Message, secret) {
		t.Fatalf("a stack shows the secret:\n%s", ex.Message)
	}
}

// TestCompile_SourceMapTextInLiterals: the disarmed pragma text keeps its
// value inside strings, templates and regular expressions.
func TestCompile_SourceMapTextInLiterals(t *testing.T) {
	s := compileSource(t, "export default function () {\n"+
		"  const want = \"//\" + \"# sourceMappingURL\" + \"=x.map\";\n"+
		"  const got = [\"//# sourceMappingURL=x.map\", `//# sourceMappingURL=x.map`, '/*@ sourceMappingURL=x.map'.replace('/*@', '//#')];\n"+
		"  for (const g of got) if (g !== want) throw new Error(JSON.stringify(g));\n"+
		"  if (!/\\/\\/# sourceMappingURL=x/.test(want)) throw new Error(\"regexp\");\n"+
		"  if (!/[/]/.test(\"//# sourceMappingURL=x\")) throw new Error(\"class\");\n"+
		"}\n")
	inv, _ := newInv(t, nil)
	if err := NewEngine(nil, Options{}).Run(runCtx(t, 10*time.Second), s, inv); err != nil {
		t.Fatal(err)
	}
}

// TestCompile_ImportsOnlyModules: an import of a device, of a file that
// is not a JS/TS/JSON module, or of a huge file fails at once with an
// error naming it, and shows nothing of its content.
func TestCompile_ImportsOnlyModules(t *testing.T) {
	heapCeiling(t, 512<<20)
	secret, tokenFile, _ := secretFiles(t)
	other := t.TempDir()
	big := filepath.Join(other, "big.js")
	write(t, big, "//"+strings.Repeat("x", maxSourceBytes))
	zero := filepath.Join(other, "zero.js")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(other, "fifo.js")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec, want string
	}{
		{"device", "/dev/zero", "listener modules are .js"},
		{"device behind a .js name", zero, "not /dev/zero"},
		{"FIFO", fifo, "not a regular file"},
		{"token file", tokenFile, "listener modules are .js"},
		{"huge module", big, "larger than 8 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeScripts(t, map[string]string{"handler.js": "import x from " + jsString(tt.spec) + ";\nexport default function () { return x }\n"})
			before := allocated()
			_, err := Compile(filepath.Join(dir, "handler.js"))
			if took := allocated() - before; took > 64<<20 {
				t.Errorf("compile allocated %d MiB", took>>20)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestScript_ChangedBounded: Changed re-reads the inputs within the same
// bound, so an input swapped for a device is a change, not a hang.
func TestScript_ChangedBounded(t *testing.T) {
	dir := writeScripts(t, map[string]string{"handler.js": "export default function () {}\n"})
	p := filepath.Join(dir, "handler.js")
	s, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Changed() {
		t.Fatal("unchanged script reported as changed")
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", p); err != nil {
		t.Fatal(err)
	}
	heapCeiling(t, 512<<20)
	if !s.Changed() {
		t.Fatal("input swapped for /dev/zero not reported as changed")
	}
}
