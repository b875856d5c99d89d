package script

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestLoadBundle_SameAsCompiled runs a script loaded from its bundle
// beside the compiled original: the same outcome, message and stack in
// the original TypeScript files, and no file is read to load it.
func TestLoadBundle_SameAsCompiled(t *testing.T) {
	orig, err := Compile("testdata/ts/handler.ts")
	if err != nil {
		t.Fatal(err)
	}
	b := orig.Bundle()
	if b.Code == "" || len(b.SourceMap) == 0 || b.Hash != orig.Hash || b.Name != orig.Name {
		t.Fatalf("bundle = %q…, map %d bytes, hash %q, name %q", b.Code[:min(len(b.Code), 40)], len(b.SourceMap), b.Hash, b.Name)
	}
	// Loading must not look at the disk: point the path at nothing.
	b.Path = t.TempDir() + "/gone/handler.ts"
	loaded, err := LoadBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat %s: %v", b.Path, err)
	}
	e := NewEngine(nil, Options{})
	var stacks []string
	for _, s := range []*Script{orig, loaded} {
		inv, _ := newInv(t, map[string]any{"id": "task_2", "status": "failed"})
		var ex *Exception
		if err := e.Run(context.Background(), s, inv); !errors.As(err, &ex) || ex.Message != "Error: task task_2 is failed" {
			t.Fatalf("run %s: %v, want the task's Error", s.Path, err)
		}
		stacks = append(stacks, ex.Stack)
	}
	if stacks[0] != stacks[1] {
		t.Fatalf("stacks differ:\ncompiled:\n%s\nloaded:\n%s", stacks[0], stacks[1])
	}
}

func TestLoadBundle_Refused(t *testing.T) {
	if _, err := LoadBundle(Bundle{Name: "x.js", Hash: "h", Path: "relative.js", Code: "1"}); err == nil {
		t.Fatal("a relative path loaded")
	}
	_, err := LoadBundle(Bundle{Name: "x.js", Hash: "h", Path: "/x.js", Code: "let let = 1"})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CompileError", err)
	}
}
