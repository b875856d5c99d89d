package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
)

func TestBuild_Reuse(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"a.js":      `import { v } from "./lib/v.js"; export default function () { return v }`,
		"b.ts":      `export default function (): void {}`,
		"lib/v.js":  `export const v = 1`,
		"lib/w.txt": `unrelated`,
	})
	routes := engine.NewRoutes([]*engine.Listener{
		{Name: "a", Script: filepath.Join(dir, "a.js")},
		{Name: "a2", Script: filepath.Join(dir, "a.js")},
		{Name: "b", Script: filepath.Join(dir, "b.ts")},
	})
	first, err := Build(routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Len() != 3 || first.Script("a") != first.Script("a2") || first.Script("nope") != nil {
		t.Fatalf("set = %+v", first)
	}
	wantInputs := []string{filepath.Join(dir, "a.js"), filepath.Join(dir, "b.ts"), filepath.Join(dir, "lib/v.js")}
	if got := first.Inputs(); !slices.Equal(got, wantInputs) {
		t.Fatalf("inputs = %v, want %v (lib/w.txt is no input)", got, wantInputs)
	}
	if !IsModule("x/a.MTS") || IsModule(filepath.Join(dir, "lib/w.txt")) || IsModule("data/app.db") {
		t.Fatal("IsModule misjudges an extension")
	}

	same, err := Build(routes, first)
	if err != nil {
		t.Fatal(err)
	}
	if same.Script("a") != first.Script("a") || same.Script("b") != first.Script("b") {
		t.Error("unchanged scripts were recompiled")
	}

	write(t, filepath.Join(dir, "lib/v.js"), `export const v = 2`)
	next, err := Build(routes, same)
	if err != nil {
		t.Fatal(err)
	}
	if next.Script("a") == same.Script("a") {
		t.Error("script with a changed import was reused")
	}
	if next.Script("a").Hash == same.Script("a").Hash {
		t.Error("hash did not change")
	}
	if next.Script("b") != same.Script("b") {
		t.Error("unchanged script b was recompiled")
	}

	gen := engine.NewGeneration(2, routes, next.Handlers(NewEngine(nil, Options{})))
	inv, _ := newInv(t, nil)
	l, h := gen.Listener("b")
	if l == nil || h == nil {
		t.Fatal("generation has no listener b")
	}
	if err := h.Run(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if l, h := gen.Listener("gone"); l != nil || h != nil {
		t.Error("generation has a listener it was not built with")
	}
}

func TestBuild_Errors(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"ok.js":   `export default function () {}`,
		"bad1.js": "export default function () {\n  return )\n}",
		"bad2.ts": "export default function (): void {\n  let x: number = ;\n}",
	})
	routes := engine.NewRoutes([]*engine.Listener{
		{Name: "ok", Script: filepath.Join(dir, "ok.js")},
		{Name: "bad1", Script: filepath.Join(dir, "bad1.js")},
		{Name: "bad2", Script: filepath.Join(dir, "bad2.ts")},
		{Name: "missing", Script: filepath.Join(dir, "missing.js")},
	})
	set, err := Build(routes, nil)
	if set != nil || err == nil {
		t.Fatalf("set = %v, err = %v", set, err)
	}
	msg := err.Error()
	for _, want := range []string{"bad1.js:2:10: ", "bad2.ts:2:19: ", "missing.js"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Error("joined error holds no *CompileError")
	}
	if _, err := os.Stat(filepath.Join(dir, bundleName)); !os.IsNotExist(err) {
		t.Error("compile wrote a bundle to disk")
	}
}
