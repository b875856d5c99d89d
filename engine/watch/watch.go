package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/switchboard/switchboard/engine/internal/startstop"
)

// DefaultDebounce is how long a Watcher waits after the last event of a
// burst before reporting it.
const DefaultDebounce = 100 * time.Millisecond

// Options tunes a Watcher.
type Options struct {
	// Debounce is the quiet period after the last relevant event before
	// a report (default DefaultDebounce).
	Debounce time.Duration
	// Want, when set, says whether a changed path is worth reporting. An
	// event for any other path is dropped before the quiet period starts,
	// so a file rewritten constantly (a log, a database) neither causes a
	// report nor delays one. Reports of a lost watch (every root at once)
	// bypass it. It runs on the watcher's goroutine.
	Want func(path string) bool
	// OnChange receives the sorted set of changed paths. It is never
	// called concurrently with itself.
	OnChange func(changed []string)
}

// Watcher reports changes to directory trees and single files after a
// quiet period, so that one save, which editors turn into several
// events, gives one report. It watches directories, never files: editors
// replace files by rename, and Kubernetes swaps a ConfigMap by
// re-pointing the ..data symlink.
type Watcher struct {
	fs       *fsnotify.Watcher
	debounce time.Duration
	want     func(path string) bool
	onChange func(changed []string)

	mu    sync.Mutex                 // guards trees and files: Add runs beside the loop
	trees map[string]bool            // directories watched with their subdirectories
	files map[string]map[string]bool // directory → file names watched in it

	life startstop.Once
	stop chan struct{}
	done chan struct{}
}

// New watches each path: a directory with everything below it
// (including subdirectories created later), a file through its directory.
// The watches are in place when it returns; Start begins reporting to
// opts.OnChange.
func New(paths []string, opts Options) (*Watcher, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Want == nil {
		opts.Want = func(string) bool { return true }
	}
	if opts.OnChange == nil {
		opts.OnChange = func([]string) {}
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{fs: fw, debounce: opts.Debounce, want: opts.Want, onChange: opts.OnChange,
		trees: map[string]bool{}, files: map[string]map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range paths {
		if err := w.add(p); err != nil {
			fw.Close()
			return nil, err
		}
	}
	return w, nil
}

// Add watches one more path (a directory with everything below it, or a
// file through its directory); watching a path twice is harmless. The
// caller uses it when a reload brings a script in a new directory.
func (w *Watcher) Add(p string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.add(p)
}

func (w *Watcher) add(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("watch %s: %w", p, err)
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		w.trees[abs] = true
		_, err := w.addTree(abs)
		return err
	}
	dir, name := filepath.Split(abs)
	dir = filepath.Clean(dir)
	if w.files[dir] == nil {
		w.files[dir] = map[string]bool{}
	}
	w.files[dir][name] = true
	if err := w.fs.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	return nil
}

// addTree watches dir and its subdirectories and returns the files found,
// which may have been written before the watch was in place.
func (w *Watcher) addTree(dir string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone while walking
			}
			return err
		}
		if d.IsDir() {
			if err := w.fs.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		if !ignored(d.Name()) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return found, nil
}

// Start reports changes until ctx ends or Close is called.
func (w *Watcher) Start(ctx context.Context) {
	w.life.Start(func() { go w.loop(ctx) })
}

// Close stops the watcher and waits for a report in progress. It is
// idempotent and safe if Start never ran.
func (w *Watcher) Close() error {
	return w.life.Stop(func(started bool) error {
		close(w.stop)
		if started {
			<-w.done
		}
		return w.fs.Close()
	})
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.mu.Lock()
			changed := w.changes(ev)
			w.mu.Unlock()
			wanted := false
			for _, p := range changed {
				if w.want(p) {
					pending[p] = true
					wanted = true
				}
			}
			if wanted {
				timer.Reset(w.debounce)
			}
		case <-w.fs.Errors:
			// An overflow or a vanished directory: report the roots as
			// changed so the caller rebuilds from scratch.
			w.mu.Lock()
			for root := range w.trees {
				pending[root] = true
			}
			w.mu.Unlock()
			timer.Reset(w.debounce)
		case <-timer.C:
			if len(pending) == 0 {
				continue
			}
			out := make([]string, 0, len(pending))
			for p := range pending {
				out = append(out, p)
			}
			sort.Strings(out)
			clear(pending)
			w.onChange(out)
		}
	}
}

// changes maps one event to the watched paths it changes.
func (w *Watcher) changes(ev fsnotify.Event) []string {
	if ev.Op == fsnotify.Chmod {
		return nil
	}
	dir, name := filepath.Split(ev.Name)
	dir = filepath.Clean(dir)
	if ignored(name) {
		return nil
	}
	var out []string
	if names := w.files[dir]; names != nil {
		switch {
		case name == "..data": // a ConfigMap swap changes every file in it
			for n := range names {
				out = append(out, filepath.Join(dir, n))
			}
		case names[name]:
			out = append(out, ev.Name)
		}
	}
	if w.inTree(dir) {
		out = append(out, ev.Name)
		if ev.Has(fsnotify.Create) {
			if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
				found, _ := w.addTree(ev.Name)
				out = append(out, found...)
			}
		}
	}
	return out
}

func (w *Watcher) inTree(dir string) bool {
	for root := range w.trees {
		if dir == root || strings.HasPrefix(dir, root+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// ignored reports editor droppings: backups (x~), swap files, Emacs
// lock files (.#x) and vim's write test file (4913).
func ignored(name string) bool {
	switch {
	case name == "", name == "4913", strings.HasSuffix(name, "~"), strings.HasPrefix(name, ".#"):
		return true
	case strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"), strings.HasSuffix(name, ".swo"):
		return true
	}
	return false
}
