package script

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCompile_Inputs(t *testing.T) {
	s, err := Compile("testdata/esm/handler.js")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/esm")
	want := []string{filepath.Join(abs, "handler.js"), filepath.Join(abs, "lib/media.js")}
	if got := s.Inputs(); !slices.Equal(got, want) {
		t.Errorf("inputs = %v, want %v", got, want)
	}
	if s.Name != filepath.Join("testdata", "esm", "handler.js") {
		t.Errorf("name = %q", s.Name)
	}
	if len(s.Hash) != 64 || s.Changed() {
		t.Errorf("hash %q changed %v", s.Hash, s.Changed())
	}
}

func TestCompile_Errors(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantFile string
		line     int
		col      int
		msg      string
	}{
		{"syntax in entry", "testdata/badsyntax/handler.js", "testdata/badsyntax/handler.js", 2, 13, "Unexpected"},
		{"syntax in imported lib", "testdata/badlib/handler.ts", "testdata/badlib/lib/helper.ts", 3, 13, "Unexpected"},
		{"syntax only goja refuses", "testdata/gojaregexp/handler.js", "testdata/gojaregexp/lib/match.js", 3, 10, "Invalid group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.path)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *CompileError", err, err)
			}
			if ce.File != filepath.FromSlash(tt.wantFile) || ce.Line != tt.line || ce.Column != tt.col || !strings.Contains(ce.Message, tt.msg) {
				t.Errorf("got %s, want %s:%d:%d: %s…", ce, tt.wantFile, tt.line, tt.col, tt.msg)
			}
			if !strings.HasPrefix(ce.Error(), ce.File+":") {
				t.Errorf("Error() = %q", ce.Error())
			}
		})
	}
}

func TestCompile_BadScripts(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"no default export", `export function handle() {}`, "default export must be a function"},
		{"default not a function", `export default 42;`, "default export must be a function"},
		{"missing import", `import { x } from "./nope.js"; export default function () { x() }`, "Could not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeScripts(t, map[string]string{"handler.js": tt.src})
			_, err := Compile(filepath.Join(dir, "handler.js"))
			var ce *CompileError
			if !errors.As(err, &ce) || !strings.Contains(ce.Error(), tt.want) || !strings.Contains(ce.File, "handler.js") {
				t.Fatalf("err = %v, want CompileError naming handler.js containing %q", err, tt.want)
			}
		})
	}
}
