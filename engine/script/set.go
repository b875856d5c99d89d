package script

import (
	"context"
	"errors"
	"sort"

	"github.com/switchboard/switchboard/engine"
)

// Set is an immutable map from listener name to its compiled script. A
// reload builds a new Set and swaps it in whole.
type Set struct {
	scripts map[string]*Script
	inputs  map[string]bool // every script's input files, computed once
}

// Build compiles every listener's script. A script of prev whose input
// files are all unchanged is reused as is (keeping its warm runtimes);
// listeners sharing an entry file share one Script. When any script fails,
// Build returns every compile error joined (each "file:line:col: message")
// and no Set, so the caller keeps the old one.
func Build(routes *engine.Routes, prev *Set) (*Set, error) { return build(routes, prev, nil) }

// build is Build; with check, scripts are compiled by CompileChecked.
func build(routes *engine.Routes, prev *Set, check Checker) (*Set, error) {
	set := &Set{scripts: map[string]*Script{}}
	byPath := map[string]*Script{} // this build's scripts by entry path
	reuse := map[string]*Script{}  // prev's scripts by entry path
	if prev != nil {
		for _, s := range prev.scripts {
			reuse[s.Path] = s
		}
	}
	var errs []error
	if routes != nil {
		for _, l := range routes.Listeners {
			s, err := buildOne(l.Script, byPath, reuse, check)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			set.scripts[l.Name] = s
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	set.inputs = map[string]bool{}
	for _, sc := range set.scripts {
		for p := range sc.inputs {
			set.inputs[p] = true
		}
	}
	return set, nil
}

func buildOne(path string, byPath, reuse map[string]*Script, check Checker) (*Script, error) {
	if s, ok := byPath[path]; ok {
		return s, nil
	}
	if old, ok := reuse[path]; ok && !old.Changed() {
		byPath[path] = old
		return old, nil
	}
	compile := Compile
	if check != nil {
		compile = func(path string) (*Script, error) { return CompileChecked(path, check) }
	}
	s, err := compile(path)
	if err != nil {
		return nil, err
	}
	byPath[path] = s
	return s, nil
}

// Script returns the listener's script, or nil.
func (s *Set) Script(listener string) *Script {
	if s == nil {
		return nil
	}
	return s.scripts[listener]
}

// Inputs returns the absolute paths of every file any script of the set
// was built from, sorted: what a change must touch to matter to it.
func (s *Set) Inputs() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.inputs))
	for p := range s.inputs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// HasInput reports whether path is one of the files the set was built
// from. It is cheap: the file watcher asks it for every change it sees.
func (s *Set) HasInput(path string) bool { return s != nil && s.inputs[path] }

// Len returns the number of listeners in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.scripts)
}

// Handlers binds every listener's script in s to e: the handlers of an
// engine.Generation built from the same routes.
func (s *Set) Handlers(e *Engine) map[string]engine.Handler {
	if s == nil {
		return nil
	}
	out := make(map[string]engine.Handler, len(s.scripts))
	for name, sc := range s.scripts {
		out[name] = Handler{Engine: e, Script: sc}
	}
	return out
}

// Handler runs one compiled script on an Engine: an engine.Handler.
type Handler struct {
	Engine *Engine
	Script *Script
}

// Run runs the script; see Engine.Run for the errors it returns.
func (h Handler) Run(ctx context.Context, inv *engine.Invocation) error {
	return h.Engine.Run(ctx, h.Script, inv)
}
