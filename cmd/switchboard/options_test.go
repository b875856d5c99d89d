package main

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/switchboard/switchboard"

// TestAdapters_DoNotImportConfig: config is parsed once and mapped onto
// each adapter's own options here (options.go); no package under
// engine/ingest or engine/host may reach engine/config, directly, through
// another package, or from its tests.
func TestAdapters_DoNotImportConfig(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, top := range []string{"engine/ingest", "engine/host"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, dir := range dirs {
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		checked++
		imports := append(append(append([]string{}, pkg.Imports...), pkg.TestImports...), pkg.XTestImports...)
		if path := reaches(t, root, imports, module+"/engine/config", map[string]bool{}); path != "" {
			rel, _ := filepath.Rel(root, dir)
			t.Errorf("%s imports engine/config: %s", rel, path)
		}
	}
	if checked < 7 { // ingest, db, emit, http, ittybit, kv, mail
		t.Fatalf("checked %d packages; the walk missed some", checked)
	}
}

// reaches returns the import chain from one of imports to target through
// this module's packages, "" if there is none.
func reaches(t *testing.T, root string, imports []string, target string, seen map[string]bool) string {
	for _, imp := range imports {
		if imp == target {
			return imp
		}
		if !strings.HasPrefix(imp, module+"/") || seen[imp] {
			continue
		}
		seen[imp] = true
		pkg, err := build.ImportDir(filepath.Join(root, strings.TrimPrefix(imp, module+"/")), 0)
		if err != nil {
			t.Fatalf("import %s: %v", imp, err)
		}
		if chain := reaches(t, root, pkg.Imports, target, seen); chain != "" {
			return imp + " → " + chain
		}
	}
	return ""
}
