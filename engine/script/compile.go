package script

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/evanw/esbuild/pkg/api"
	"github.com/go-sourcemap/sourcemap"
)

// bundleName is the file name the bundle pretends to have. It sits in the
// entry's directory so that source-map paths resolve to the original
// files, and it never touches the disk.
const bundleName = "__switchboard_bundle.js"

// unsupported lists the syntax goja cannot run; esbuild lowers what it
// can (async generators, for await, using; import(name) becomes a
// require that fails at the listener's own line) and turns the rest into
// runtime errors (RegExp d and v flags).
var unsupported = map[string]bool{
	"async-generator":      false,
	"for-await":            false,
	"using":                false,
	"top-level-await":      false,
	"regexp-match-indices": false,
	"regexp-set-notation":  false,
	"dynamic-import":       false,
}

// loaders maps the extensions a listener module may have to how esbuild
// reads it; a file with any other extension is not imported.
var loaders = map[string]api.Loader{
	".js": api.LoaderJS, ".mjs": api.LoaderJS, ".cjs": api.LoaderJS,
	".ts": api.LoaderTS, ".mts": api.LoaderTS, ".cts": api.LoaderTS,
	".json": api.LoaderJSON,
}

// IsModule reports whether path has an extension a listener module may
// have (.js, .mjs, .cjs, .ts, .mts, .cts, .json).
func IsModule(path string) bool {
	_, ok := loaders[strings.ToLower(filepath.Ext(path))]
	return ok
}

// resolveExtensions are tried, in order, for an import without one.
var resolveExtensions = []string{".ts", ".js", ".mts", ".mjs", ".cts", ".cjs", ".json"}

// maxSourceBytes bounds one listener module. Reading stops there, so an
// import of a huge or endless file fails instead of filling memory.
const maxSourceBytes = 8 << 20

// CompileError is a problem found while compiling a script, located in
// the original file.
type CompileError struct {
	File    string
	Line    int // 1-based; 0 when unknown
	Column  int // 1-based; 0 when unknown
	Message string
}

// Error returns "file:line:col: message".
func (e *CompileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

// Script is one compiled listener script: the bundle of its entry file
// and every local file it imports. It is immutable apart from its pool of
// runtimes and may be shared between goroutines.
type Script struct {
	// Path is the entry file's absolute path.
	Path string
	// Name is the entry file as shown in errors and stacks: relative to
	// the working directory when it lies below it.
	Name string
	// Hash is a content hash over every input file.
	Hash string

	inputs  map[string][32]byte // absolute path → sha256 of what esbuild read
	program *goja.Program
	pools   sync.Map // *Engine → *pool
	// code and sourceMap are esbuild's output, kept for Bundle.
	code      string
	sourceMap []byte
}

// Inputs returns the absolute paths of every file the script was built
// from, sorted.
func (s *Script) Inputs() []string {
	out := make([]string, 0, len(s.inputs))
	for p := range s.inputs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Changed reports whether any input file now differs from what was
// compiled (or has gone).
func (s *Script) Changed() bool {
	for p, sum := range s.inputs {
		b, err := readSource(p)
		if err != nil || sha256.Sum256(b) != sum {
			return true
		}
	}
	return false
}

// Compile bundles the script at path with its local imports into one
// program. Syntax and resolution errors come back as *CompileError (joined
// when there are several), located in the original files. The entry must
// export a default function.
func Compile(path string) (*Script, error) {
	return compile(path, true)
}

func compile(path string, needDefault bool) (*Script, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", path, err)
	}
	s := &Script{Path: abs, Name: displayPath(abs), inputs: map[string][32]byte{}}
	code, sourceMap, err := s.bundle()
	if err != nil {
		return nil, err
	}
	if err := s.load(code, sourceMap); err != nil {
		return nil, err
	}
	s.Hash = s.hash()
	if !needDefault {
		return s, nil
	}
	if err := checkDefaultExport(s); err != nil {
		return nil, err
	}
	return s, nil
}

// load parses and compiles esbuild's output into s.program, with the
// source map esbuild made (and no other) for original positions.
func (s *Script) load(code string, sourceMap []byte) error {
	s.code, s.sourceMap = code, sourceMap
	progName := path2slash(filepath.Join(filepath.Dir(s.Name), bundleName))
	// goja reads the map named by the last line; that is this one, and
	// the loader hands over the map esbuild made in memory, nothing else.
	code += "\n//# sourceMappingURL=" + bundleName + ".map\n"
	ast, err := parser.ParseFile(nil, progName, code, 0, parser.WithSourceMapLoader(func(url string) ([]byte, error) {
		if !strings.HasSuffix(url, bundleName+".map") {
			return nil, errForeignSourceMap
		}
		return sourceMap, nil
	}))
	if err != nil {
		return s.bundleError("bundle does not parse", err, sourceMap)
	}
	s.program, err = goja.CompileAST(ast, false)
	if err != nil {
		return s.bundleError("bundle does not compile", err, sourceMap)
	}
	return nil
}

// bundle runs esbuild on the entry and returns the CommonJS bundle and
// its source map, recording every file read.
func (s *Script) bundle() (code string, sourceMap []byte, err error) {
	var mu sync.Mutex
	record := api.Plugin{Name: "switchboard-inputs", Setup: func(b api.PluginBuild) {
		b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: "file"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			loader, ok := loaders[strings.ToLower(filepath.Ext(a.Path))]
			if !ok {
				return api.OnLoadResult{}, fmt.Errorf("listener modules are .js, .mjs, .cjs, .ts, .mts, .cts or .json files, not %s", displayPath(a.Path))
			}
			data, err := readSource(a.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			mu.Lock()
			s.inputs[a.Path] = sha256.Sum256(data)
			mu.Unlock()
			contents := disarmSourceMapComments(string(data))
			return api.OnLoadResult{Contents: &contents, Loader: loader}, nil
		})
	}}
	wd := filepath.Dir(s.Path)
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{s.Path},
		AbsWorkingDir:     wd,
		Outfile:           filepath.Join(wd, bundleName),
		Bundle:            true,
		Write:             false,
		Format:            api.FormatCommonJS,
		Platform:          api.PlatformNeutral,
		MainFields:        []string{"module", "main"},
		Target:            api.ESNext,
		Supported:         unsupported,
		External:          []string{"switchboard"},
		ResolveExtensions: resolveExtensions,
		Sourcemap:         api.SourceMapExternal,
		SourcesContent:    api.SourcesContentExclude,
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{record},
	})
	if len(res.Errors) > 0 {
		errs := make([]error, 0, len(res.Errors))
		for _, m := range res.Errors {
			errs = append(errs, messageError(wd, s.Name, m))
		}
		if len(errs) == 1 {
			return "", nil, errs[0]
		}
		return "", nil, errors.Join(errs...)
	}
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".map"):
			sourceMap = f.Contents
		case strings.HasSuffix(f.Path, ".js"):
			code = string(f.Contents)
		}
	}
	if code == "" || sourceMap == nil {
		return "", nil, &CompileError{File: s.Name, Message: "esbuild produced no bundle"}
	}
	return code, sourceMap, nil
}

// bundleError locates what goja refused in the bundle (syntax esbuild
// let through) in the original file, through the bundle's source map.
func (s *Script) bundleError(what string, err error, sourceMap []byte) error {
	ce := &CompileError{File: s.Name, Message: what + ": " + err.Error()}
	var list parser.ErrorList
	var syntax *goja.CompilerSyntaxError
	switch {
	case errors.As(err, &list) && len(list) > 0:
		ce.Message = list[0].Message
		if sm, e := sourcemap.Parse(bundleName+".map", sourceMap); e == nil {
			pos := list[0].Position
			if src, _, line, col, ok := sm.Source(pos.Line, pos.Column-1); ok {
				ce.File = displayPath(filepath.Join(filepath.Dir(s.Path), filepath.FromSlash(src)))
				ce.Line, ce.Column = line, col+1
			}
		}
	case errors.As(err, &syntax) && syntax.File != nil:
		pos := syntax.File.Position(syntax.Offset)
		if !strings.HasSuffix(pos.Filename, bundleName) {
			ce.File, ce.Line, ce.Column, ce.Message = pos.Filename, pos.Line, pos.Column+1, syntax.Message
		}
	}
	return ce
}

// messageError turns an esbuild message into a CompileError in the
// original file; esbuild columns are 0-based bytes.
func messageError(wd, entry string, m api.Message) *CompileError {
	e := &CompileError{File: entry, Message: m.Text}
	if m.Location != nil {
		f := m.Location.File
		if !filepath.IsAbs(f) {
			f = filepath.Join(wd, f)
		}
		e.File = displayPath(f)
		e.Line = m.Location.Line
		e.Column = m.Location.Column + 1
	}
	return e
}

// hash combines the inputs' paths and content hashes in a stable order.
func (s *Script) hash() string {
	h := sha256.New()
	for _, p := range s.Inputs() {
		sum := s.inputs[p]
		h.Write([]byte(p))
		h.Write([]byte{0})
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// displayPath shows p relative to the working directory when it lies
// below it, so stacks read scripts/lib/media.ts rather than a long
// absolute path.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

func path2slash(p string) string { return path.Clean(filepath.ToSlash(p)) }

// checkDefaultExport evaluates the script's top level once, in a
// throwaway runtime without host modules, to report a missing default
// function at compile time. A top level that throws or runs for more than
// a second here is left for the first Run to report.
func checkDefaultExport(s *Script) error {
	r, err := newRuntime(s, nil, Options{}.withDefaults())
	if err != nil {
		return fmt.Errorf("check %s: %w", s.Name, err)
	}
	t := time.AfterFunc(time.Second, func() { r.vm.Interrupt("compile check timed out") })
	defer t.Stop()
	err = r.evaluate(s)
	var ce *CompileError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}
