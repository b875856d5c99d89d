package scripttest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/host/emit"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
	"github.com/switchboard/switchboard/engine/host/ittybit"
	"github.com/switchboard/switchboard/engine/host/kv"
	"github.com/switchboard/switchboard/engine/host/mail"
	"github.com/switchboard/switchboard/engine/script"
)

//go:embed prelude.js
var preludeSource string

// preludeName is the file name frames of the prelude carry; the
// "switchboard:" prefix tells script's stack cleaner it is not mapped.
const preludeName = "switchboard:test"

// Options tunes a test run. Zero values take the defaults.
type Options struct {
	// Run, when set, selects the tests whose name it matches.
	Run *regexp.Regexp
	// Timeout bounds each test (default 1 minute); each run() inside it is
	// also bounded by its listener's timeout.
	Timeout time.Duration
	// OnResult, when set, is called with each result as it is known, for
	// reporting progress.
	OnResult func(Result)
}

// Run runs the tests in files (script test files; see Discover) against
// the listeners of cfg, one at a time, and reports every result. A file
// that does not compile, or whose top level throws, counts as one failed
// test. The error is for problems outside the tests: listeners that do
// not resolve, a context that ended (the report then holds the results
// so far).
func Run(ctx context.Context, cfg *config.Config, files []string, opts Options) (Report, error) {
	var rep Report
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	s, err := newSuite(cfg, opts)
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(s.tmp)
	emitResult := func(r Result) {
		rep.add(r)
		if opts.OnResult != nil {
			opts.OnResult(r)
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("run script tests: %w", err)
		}
		s.runFile(ctx, f, emitResult)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("run script tests: %w", err)
	}
	return rep, nil
}

// suite is what every test of one Run shares.
type suite struct {
	cfg     *config.Config
	routes  *engine.Routes
	opts    Options
	tmp     string // per-test databases live here
	prelude *goja.Program
	shared  []engine.Module // http, mail, ittybit: stateless, dry in tests
	known   map[string]bool // every call name a stub may replace
	scripts map[string]compiled
	seq     int
}

type compiled struct {
	s   *script.Script
	err error
}

func newSuite(cfg *config.Config, opts Options) (*suite, error) {
	routes, err := cfg.Routes()
	if err != nil {
		return nil, fmt.Errorf("load listeners: %w", err)
	}
	prelude, err := goja.Compile(preludeName, preludeSource, true)
	if err != nil {
		return nil, fmt.Errorf("compile test prelude: %w", err)
	}
	// http, mail and ittybit run dry in tests: they check a call's
	// arguments and record it. Only what shapes their answers is taken
	// from config: mail's default sender, ittybit's base URL.
	web := hosthttp.New(hosthttp.Options{})
	mailer, err := mail.New(mail.Options{Transport: "log", From: cfg.Mail.From})
	if err != nil {
		return nil, fmt.Errorf("prepare mail module: %w", err)
	}
	// A key, so that an unstubbed read reaches the offline transport and
	// says "stub this call" rather than "api_key is not set".
	ittyOpts := ittybit.Options{APIKey: cfg.Ittybit.APIKey, BaseURL: cfg.Ittybit.BaseURL}
	if ittyOpts.APIKey == "" {
		ittyOpts.APIKey = "switchboard-test"
	}
	itty := ittybit.New(ittyOpts, &http.Client{Transport: offline{}})
	tmp, err := os.MkdirTemp("", "switchboard-test-")
	if err != nil {
		return nil, fmt.Errorf("create test directory: %w", err)
	}
	s := &suite{cfg: cfg, routes: routes, opts: opts, tmp: tmp, prelude: prelude,
		shared: []engine.Module{web, mailer, itty}, known: map[string]bool{}, scripts: map[string]compiled{}}
	for _, m := range []engine.Module{web, mailer, itty, emit.New(noSubmit{}), kv.New(newMemKV()), &db.DB{}} {
		for _, n := range exportNames(m) {
			s.known[n] = true
		}
	}
	return s, nil
}

// script compiles a listener's script once per Run.
func (s *suite) script(l *engine.Listener) (*script.Script, error) {
	c, ok := s.scripts[l.Name]
	if !ok {
		c.s, c.err = script.Compile(l.Script)
		s.scripts[l.Name] = c
	}
	return c.s, c.err
}

func (s *suite) knownNames() string {
	names := make([]string, 0, len(s.known))
	for n := range s.known {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *suite) listenerNames() string {
	names := make([]string, 0, len(s.routes.Listeners))
	for _, l := range s.routes.Listeners {
		names = append(names, l.Name)
	}
	return strings.Join(names, ", ")
}

// runFile compiles one test file, registers its tests by running its top
// level, and runs the selected ones.
func (s *suite) runFile(ctx context.Context, path string, emit func(Result)) {
	start := time.Now()
	compiledFile, err := script.CompileModule(path)
	if err != nil {
		emit(Result{File: displayPath(path), Status: Fail, Message: err.Error(), Elapsed: time.Since(start)})
		return
	}
	f, err := newFile(s, compiledFile)
	if err != nil {
		emit(Result{File: compiledFile.Name, Status: Fail, Message: err.Error(), Elapsed: time.Since(start)})
		return
	}
	if err := f.load(ctx); err != nil {
		r := failure(compiledFile.Name, "", err)
		r.Output, r.Elapsed = f.out.String(), time.Since(start)
		emit(r)
		return
	}
	if len(f.tests) == 0 {
		emit(Result{File: f.name, Status: Fail, Message: `no tests: register them with test(name, fn) from "switchboard/test"`})
		return
	}
	for _, t := range f.tests {
		if s.opts.Run != nil && !s.opts.Run.MatchString(t.name) {
			continue
		}
		if t.skip {
			emit(Result{File: f.name, Name: t.name, Status: Skip})
			continue
		}
		if ctx.Err() != nil {
			return
		}
		emit(f.runTest(ctx, t))
	}
}

// failure describes a failed test from the error its code threw.
func failure(file, name string, err error) Result {
	r := Result{File: file, Name: name, Status: Fail, Message: err.Error()}
	var ex *script.Exception
	if errors.As(err, &ex) {
		r.Message = strings.TrimPrefix(ex.Message, "GoError: ")
		// The stack starts with the message, which may itself quote a
		// listener's stack: look only at the frames after it.
		frames := ex.Stack
		if n := strings.Count(ex.Message, "\n") + 1; strings.Count(frames, "\n") >= n {
			frames = strings.SplitN(frames, "\n", n+1)[n]
		} else {
			frames = ""
		}
		r.Location = userFrame(frames)
		if msg, ok := strings.CutPrefix(ex.Message, "AssertionError: "); ok {
			r.Message = msg // the location says where; the stack adds nothing
		} else {
			r.Stack = userStack(frames)
		}
	}
	return r
}

var framePosition = regexp.MustCompile(`([^\s()]+:\d+:\d+)\)?\s*$`)

// userFrame returns the first file:line:col of stack that is in the
// user's code rather than in switchboard's prelude.
func userFrame(stack string) string {
	for _, line := range strings.Split(stack, "\n") {
		m := framePosition.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || !strings.HasPrefix(strings.TrimSpace(line), "at ") {
			continue
		}
		if !strings.HasPrefix(m[1], "switchboard:") {
			return m[1]
		}
	}
	return ""
}

// userStack keeps the frames of stack that are in the user's code.
func userStack(stack string) string {
	var keep []string
	for _, line := range strings.Split(stack, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "at ") || strings.Contains(t, "switchboard:") || strings.HasSuffix(t, "(native)") {
			continue
		}
		keep = append(keep, t)
	}
	return strings.Join(keep, "\n")
}

// displayPath shows p relative to the working directory when below it.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return abs
	}
	return rel
}
