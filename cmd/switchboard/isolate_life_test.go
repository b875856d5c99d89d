package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// childPIDs lists the script processes of the in-process App.
func childPIDs(t *testing.T) []int { return scriptHosts(t, os.Getpid()) }

// scriptHosts lists the script processes whose parent is pid.
func scriptHosts(t *testing.T, pid int) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := strconv.Itoa(pid)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		if _, rest, ok := strings.Cut(string(b), ") "); ok {
			if f := strings.Fields(rest); len(f) > 1 && f[1] == self {
				cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
				if strings.Contains(string(cmdline), scriptHostVerb) {
					pid, _ := strconv.Atoi(e.Name())
					out = append(out, pid)
				}
			}
		}
	}
	return out
}

// TestIsolation_Reload: a saved script reaches the script processes; the
// next webhook runs the new version there.
func TestIsolation_Reload(t *testing.T) {
	pc := procConfig{Listeners: markerListener, Scripts: map[string]string{"scripts/marker.js": markScript("v0")}}
	cfg := isolatedConfig(t, pc, "processes = 1\n")
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	app := launch(t, cfg, nil)
	if got := versionRun(t, app, "marker"); got != "v0" {
		t.Fatalf("version %q, want v0", got)
	}
	for _, v := range []string{"v1", "v2"} {
		saved := time.Now()
		saveAtomically(t, cfg.Resolve("scripts/marker.js"), markScript(v))
		waitReload(t, app, saved, true)
		if got := versionRun(t, app, "marker"); got != v {
			t.Fatalf("version %q, want %s", got, v)
		}
	}
	if st := app.iso.Stats(); st.Started != 2 || st.Bundles != 3 {
		t.Fatalf("stats %+v: want a checker and one child that was sent each of the 3 versions once", st)
	}

	// A script whose compiling would take the router down (goja folds
	// the constant: 128 GiB) is refused in the checker child; the last
	// good version keeps serving.
	saved := time.Now()
	saveAtomically(t, cfg.Resolve("scripts/marker.js"), "export default function () { return 1n << (1n << 40n) }\n")
	st := waitReload(t, app, saved, false)
	if !strings.Contains(st.Error, "scripts/marker.js: compiling it ended its script process: listener stopped: memory limit exceeded") {
		t.Fatalf("reload error = %q", st.Error)
	}
	if got := versionRun(t, app, "marker"); got != "v2" {
		t.Fatalf("version %q, want v2 still", got)
	}
}

// TestIsolation_Shutdown: stopping the server while a listener loops in
// its script process interrupts the attempt as in-process (not charged,
// pending again) and ends every child.
func TestIsolation_Shutdown(t *testing.T) {
	pc := procConfig{
		Listeners: "\n[[listeners]]\nname = \"loop\"\nscript = \"scripts/loop.js\"\non = [\"media.processed\"]\n",
		Scripts:   map[string]string{"scripts/loop.js": "export default function () { for (;;) {} }\n"},
	}
	cfg := isolatedConfig(t, pc, "")
	app := launch(t, cfg, nil)
	code, out := post(t, app.App, []byte(`{"id":"task_loop","status":"completed"}`), true)
	if code != http.StatusOK {
		t.Fatalf("post: %d %v", code, out)
	}
	eventually(t, func() bool {
		_, jobs, err := app.queue.GetEvent(context.Background(), out["event"])
		return err == nil && len(jobs) == 1 && jobs[0].State == engine.JobRunning && len(childPIDs(t)) == 2
	}, "the loop never started in a script process (beside the one that compiled it)")
	pids := childPIDs(t)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := app.stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop with a looping job past the grace: %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop took %v", took)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("script process %d still exists after stop: %v", pid, err)
		}
	}
	j := jobOf(t, cfg, out["event"])
	if j.State != engine.JobPending || j.Attempt != 0 || j.Crashes != 0 || len(j.Attempts) != 1 || j.Attempts[0].Outcome != engine.Interrupted {
		t.Fatalf("job = %s attempt %d crashes %d attempts %+v, want pending, attempt 0, one interrupted attempt", j.State, j.Attempt, j.Crashes, j.Attempts)
	}
}

// TestIsolation_ConfigErrors: the new keys fail validation with errors
// that name them.
func TestIsolation_ConfigErrors(t *testing.T) {
	pc := procConfig{Listeners: markerListener, Scripts: map[string]string{"scripts/marker.js": markScript("v0")}}
	cfg := writeProcConfig(t, pc)
	writeFile(t, cfg.Path, procConfigText(pc)+"\n[scripts]\nisolation = \"vm\"\nprocesses = -2\n")
	code, _, stderr := runMain(t, "check", "-c", cfg.Path)
	if code != 1 || !strings.Contains(stderr, `scripts.isolation: "vm" is not one of none, process`) ||
		!strings.Contains(stderr, "scripts.processes: -2 is out of range") {
		t.Fatalf("check: %d %s", code, stderr)
	}
}

// TestIsolation_RouterKilled: the real binary with isolation, killed
// with SIGKILL while a listener loops in its script process: that child
// and the one that compiled the script read EOF and exit (no orphan
// keeps burning a CPU).
func TestIsolation_RouterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	pc := procConfig{
		Listeners: "\n[[listeners]]\nname = \"loop\"\nscript = \"scripts/loop.js\"\non = [\"media.processed\"]\n",
		Scripts:   map[string]string{"scripts/loop.js": "export default function () { for (;;) {} }\n"},
	}
	pc.Listen, pc.AdminListen = fixedPorts(t)
	cfg := isolatedConfig(t, pc, "")
	proc := newChild(t, cfg)
	proc.start()
	if code, _ := postTo(t, proc.publicURL()+"/webhooks/ittybit", cfg.Sources[0], []byte(`{"id":"task_orphan","status":"completed"}`)); code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	var hosts []int
	eventually(t, func() bool { hosts = scriptHosts(t, proc.cmd.Process.Pid); return len(hosts) == 2 }, "no script process started")
	proc.kill()
	for _, pid := range hosts {
		eventually(t, func() bool { return !alive(pid) }, "script process %d outlived its router", pid)
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
