package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testDebounce = 50 * time.Millisecond

// startWatcher watches paths and returns the channel of reports.
func startWatcher(t *testing.T, paths ...string) <-chan []string {
	t.Helper()
	return startWanting(t, nil, paths...)
}

// startWanting watches paths, reporting only what want accepts (all
// when nil), and returns the channel of reports.
func startWanting(t *testing.T, want func(string) bool, paths ...string) <-chan []string {
	t.Helper()
	ch := make(chan []string, 16)
	w, err := New(paths, Options{Debounce: testDebounce, Want: want, OnChange: func(changed []string) { ch <- changed }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.Start(ctx)
	t.Cleanup(func() {
		cancel()
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return ch
}

// wantReport waits for one report containing every path in want, and
// then for quiet: the save must not be reported twice.
func wantReport(t *testing.T, ch <-chan []string, want ...string) {
	t.Helper()
	select {
	case got := <-ch:
		for _, p := range want {
			if !slices.Contains(got, p) {
				t.Fatalf("report %v lacks %s", got, p)
			}
		}
		for _, p := range got {
			if n := filepath.Base(p); ignored(n) {
				t.Errorf("report %v holds editor file %s", got, n)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no report of %v", want)
	}
	select {
	case got := <-ch:
		t.Fatalf("second report %v", got)
	case <-time.After(4 * testDebounce):
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatcher_SaveStyles(t *testing.T) {
	tests := []struct {
		name string
		save func(t *testing.T, p string)
	}{
		{"write in place", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("export default function () { return 1 }")
			f.Sync()
			f.WriteString("\n")
			f.Close()
		}},
		{"temp then rename", func(t *testing.T, p string) {
			tmp := p + ".tmp~"
			write(t, tmp, "export default function () { return 2 }")
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"delete then create", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			write(t, p, "export default function () { return 3 }")
		}},
		{"vim with backup", func(t *testing.T, p string) {
			dir := filepath.Dir(p)
			write(t, filepath.Join(dir, "4913"), "")
			os.Remove(filepath.Join(dir, "4913"))
			write(t, filepath.Join(dir, ".handler.js.swp"), "swap")
			if err := os.Rename(p, p+"~"); err != nil {
				t.Fatal(err)
			}
			write(t, p, "export default function () { return 4 }")
			os.Remove(p + "~")
		}},
		{"emacs lock", func(t *testing.T, p string) {
			dir := filepath.Dir(p)
			os.Symlink("user@host", filepath.Join(dir, ".#handler.js"))
			write(t, p, "export default function () { return 5 }")
			os.Remove(filepath.Join(dir, ".#handler.js"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "handler.js")
			write(t, p, "export default function () {}")
			ch := startWatcher(t, dir)
			tt.save(t, p)
			wantReport(t, ch, p)
		})
	}
}

func TestWatcher_NewSubdirectory(t *testing.T) {
	dir := t.TempDir()
	ch := startWatcher(t, dir)
	lib := filepath.Join(dir, "lib", "deep")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(lib, "a.js"), "export const a = 1")
	wantReport(t, ch, filepath.Join(lib, "a.js"))
	// The new directory is now watched itself.
	write(t, filepath.Join(lib, "b.js"), "export const b = 2")
	wantReport(t, ch, filepath.Join(lib, "b.js"))
}

func TestWatcher_SingleFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	write(t, cfg, "a = 1")
	ch := startWatcher(t, cfg)
	write(t, filepath.Join(dir, "other.db"), "noise") // not watched
	write(t, cfg, "a = 2")
	select {
	case got := <-ch:
		if !slices.Equal(got, []string{cfg}) {
			t.Fatalf("report = %v, want only %s", got, cfg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
}

func TestWatcher_ConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(os.Mkdir(filepath.Join(dir, "..v1"), 0o755))
	write(t, filepath.Join(dir, "..v1", "config.toml"), "a = 1")
	mustDo(os.Symlink("..v1", filepath.Join(dir, "..data")))
	mustDo(os.Symlink("..data/config.toml", filepath.Join(dir, "config.toml")))
	cfg := filepath.Join(dir, "config.toml")
	ch := startWatcher(t, cfg)

	mustDo(os.Mkdir(filepath.Join(dir, "..v2"), 0o755))
	write(t, filepath.Join(dir, "..v2", "config.toml"), "a = 2")
	mustDo(os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	mustDo(os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	mustDo(os.RemoveAll(filepath.Join(dir, "..v1")))
	wantReport(t, ch, cfg)
}

func TestWatcher_CloseWithoutStart(t *testing.T) {
	w, err := New([]string{t.TempDir()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWatcher_WantDropsNoise: a file rewritten every 10 ms beside a
// watched script (a log, a database) is never reported, and does not hold
// back the report of a real save made while it is being written.
func TestWatcher_WantDropsNoise(t *testing.T) {
	dir := t.TempDir()
	handler := filepath.Join(dir, "handler.js")
	write(t, handler, "export default function () {}")
	ch := startWanting(t, func(p string) bool { return p == handler }, dir)

	noise := filepath.Join(dir, "server.log")
	writes := make(chan int)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 1; ; n++ {
			if err := os.WriteFile(noise, []byte(strings.Repeat("line\n", n)), 0o644); err != nil {
				t.Error(err)
				return
			}
			select {
			case writes <- n:
			default:
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); <-stopped }()

	// 50 writes span ten quiet periods: long enough for a report to come.
	for n := 0; n < 50; {
		n = <-writes
	}
	select {
	case got := <-ch:
		t.Fatalf("noise alone was reported: %v", got)
	default:
	}

	write(t, handler, "export default function () { return 1 }")
	select {
	case got := <-ch:
		if !slices.Equal(got, []string{handler}) {
			t.Fatalf("report = %v, want only %s", got, handler)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the save was not reported while the noise went on")
	}
}
