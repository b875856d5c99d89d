package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/scripttest"
)

// errTestsFailed is returned when the run went through but some test
// failed; the report above it says which.
var errTestsFailed = errors.New("tests failed")

// cmdTest runs script tests: the FILES given (files or directories), or
// every *.test.js|ts below the config's scripts/ directory and below each
// listener script's directory. It prints ok/FAIL per test and a final
// "N passed, N failed" line, and fails if any test failed.
func cmdTest(ctx context.Context, args []string, w io.Writer) error {
	f := newFlags("test")
	runPattern := f.String("run", "", "run only tests whose name matches this regular expression")
	verbose := f.Bool("v", false, "print the output of passing tests too")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	var opts scripttest.Options
	if *runPattern != "" {
		if opts.Run, err = regexp.Compile(*runPattern); err != nil {
			return fmt.Errorf("%w: -run: %v", errUsage, err)
		}
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	files, err := testFiles(cfg, pos)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no script tests (*.test.js, *.test.ts) found")
	}
	rep := scripttest.TextReporter{W: w, Verbose: *verbose}
	opts.OnResult = rep.Result
	report, err := scripttest.Run(ctx, cfg, files, opts)
	rep.Summary(&report)
	if err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("%w: %d of %d", errTestsFailed, report.Failed, report.Passed+report.Failed)
	}
	return nil
}

// testFiles expands the command line's files and directories, or
// discovers the default set.
func testFiles(cfg *config.Config, args []string) ([]string, error) {
	if len(args) == 0 {
		args = defaultTestDirs(cfg)
	}
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		found, err := scripttest.Discover(a)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	return dedupe(files), nil
}

// defaultTestDirs is <config dir>/scripts plus the directory of every
// listener script outside it.
func defaultTestDirs(cfg *config.Config) []string {
	dirs := []string{cfg.Resolve("scripts")}
	for _, l := range cfg.Listeners {
		d := filepath.Dir(cfg.Resolve(l.Script))
		covered := false
		for _, have := range dirs {
			if rel, err := filepath.Rel(have, d); err == nil && !strings.HasPrefix(rel, "..") {
				covered = true
				break
			}
		}
		if !covered {
			dirs = append(dirs, d)
		}
	}
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

func dedupe(files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
