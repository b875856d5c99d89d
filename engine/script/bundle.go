package script

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/switchboard/switchboard/engine"
)

// Bundle is a compiled script as text: what another process needs to run
// it exactly as this one would, without reading any file.
type Bundle struct {
	// Path, Name and Hash are the Script's.
	Path string
	Name string
	Hash string
	// Code is esbuild's CommonJS output; SourceMap the map esbuild made
	// for it, which maps positions back to the original files.
	Code      string
	SourceMap []byte
}

// Bundle returns the script's bundle, for LoadBundle in another process.
func (s *Script) Bundle() Bundle {
	return Bundle{Path: s.Path, Name: s.Name, Hash: s.Hash, Code: s.code, SourceMap: s.sourceMap}
}

// LoadBundle compiles a bundle made by Script.Bundle into a Script that
// runs, pools runtimes and reports errors and stacks exactly like the
// original (positions in the original files, through the bundle's own
// source map). It reads no file; the Script's Changed and Inputs know of
// no inputs.
func LoadBundle(b Bundle) (*Script, error) {
	if b.Name == "" || b.Hash == "" || !filepath.IsAbs(b.Path) {
		return nil, fmt.Errorf("load bundle %q: want an absolute path, a name and a hash", b.Name)
	}
	s := &Script{Path: b.Path, Name: b.Name, Hash: b.Hash, inputs: map[string][32]byte{}}
	if err := s.load(b.Code, b.SourceMap); err != nil {
		return nil, err
	}
	return s, nil
}

// Checker parses, compiles and checks a bundle somewhere its code cannot
// harm this process (goja folds constant expressions while compiling,
// so `1n << (1n << 40n)` allocates 128 GiB at compile time, and the
// default-export check runs the top level). It returns what Compile
// would: nil, or *CompileError (joined when there are several).
type Checker func(Bundle) error

// CompileChecked bundles the script at path as Compile does, but leaves
// parsing, compiling and the default-export check to check: this process
// runs none of the script's code. The Script it returns has no program
// of its own; it runs only where its Bundle is loaded (LoadBundle).
func CompileChecked(path string, check Checker) (*Script, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", path, err)
	}
	s := &Script{Path: abs, Name: displayPath(abs), inputs: map[string][32]byte{}}
	if s.code, s.sourceMap, err = s.bundle(); err != nil {
		return nil, err
	}
	s.Hash = s.hash()
	if err := check(s.Bundle()); err != nil {
		return nil, err
	}
	return s, nil
}

// BuildChecked is Build with every script compiled by CompileChecked.
func BuildChecked(routes *engine.Routes, prev *Set, check Checker) (*Set, error) {
	return build(routes, prev, check)
}

// CheckBundle is what a Checker runs where it is safe: LoadBundle, then
// the default-export check Compile makes. It returns the loaded Script.
func CheckBundle(b Bundle) (*Script, error) {
	s, err := LoadBundle(b)
	if err != nil {
		return nil, err
	}
	if err := checkDefaultExport(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewException rebuilds an Exception from its parts (an attempt that
// threw in another process): message, stack, and the Go error a binding
// threw, if any, which Unwrap returns.
func NewException(message, stack string, cause error) *Exception {
	return &Exception{Message: message, Stack: stack, cause: cause}
}

// Listeners returns the names of the set's listeners, sorted.
func (s *Set) Listeners() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.scripts))
	for name := range s.scripts {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
