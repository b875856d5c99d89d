package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/config"
)

// mountTmpfs mounts a tmpfs of size bytes at dir for the test, or skips
// the test when this process may not mount (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small filesystem to fill (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// fill writes a file into dir until the filesystem refuses more.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}

// TestDiskFull_503ThenRecovers runs the real binary with its queue on a
// small filesystem, fills it, and checks what issue 11 asks: webhooks
// are answered 503 (never a hang, never a 200 that is not stored),
// /readyz is 503, a finished job whose outcome could not be written does
// not run again once space returns, a restart on the full disk comes up
// (webhooks 503, admin readable), and everything resumes by itself when
// space is freed.
func TestDiskFull_503ThenRecovers(t *testing.T) {
	pc := procConfig{
		Storage: "dir = \"qdata\"\nmin_free = \"512KiB\"",
		Listeners: `
[[listeners]]
name = "record"
script = "scripts/record.js"
on = ["media.processed"]
`,
		Scripts: map[string]string{"scripts/record.js": `import { db } from "switchboard";
export default function handle(event) {
  let x = 0;
  for (let i = 0; i < 200000; i++) x += i; // a few ms of work: outcomes land while the disk fills
  db.exec("INSERT INTO runs (event_id) VALUES (?)", event.id);
}
`},
	}
	pub, adm := fixedPorts(t)
	pc.Listen, pc.AdminListen = pub, adm
	cfg := writeProcConfig(t, pc)
	qdir := cfg.Resolve("qdata")
	mountTmpfs(t, qdir, 24<<20)
	execAppDB(t, cfg, "CREATE TABLE runs (event_id TEXT NOT NULL)")
	proc := newChild(t, cfg)
	proc.start()
	url := proc.publicURL() + "/webhooks/ittybit"
	load := &diskLoad{url: url, src: cfg.Sources[0]}

	accepted := load.post(t, 20)
	if len(accepted) != 20 {
		t.Fatalf("before the disk filled: %d of 20 accepted", len(accepted))
	}
	waitRuns(t, cfg, accepted, 1)

	// Full: keep sending until the queue refuses; every 200 until then
	// is an event on disk.
	filler := fill(t, qdir)
	refused := false
	for range 3000 {
		got := load.post(t, 1)
		accepted = append(accepted, got...)
		if len(got) == 0 {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("3000 webhooks accepted on a full disk; want 503 once the queue cannot write")
	}
	if load.other[http.StatusServiceUnavailable] == 0 {
		t.Fatalf("refused with %v, want 503", load.other)
	}
	waitReady(t, proc, false)

	// Space returns: readiness, new webhooks, and every accepted event
	// ran exactly once (outcomes that could not be written were retried,
	// not the jobs).
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, proc, true)
	accepted = append(accepted, load.post(t, 5)...)
	waitRuns(t, cfg, accepted, 1)

	// Restart on a full disk: the process comes up, refuses webhooks,
	// answers the admin API, and recovers when space is freed.
	filler = fill(t, qdir)
	for load.post(t, 1) != nil {
	}
	proc.kill()
	proc.start()
	waitReady(t, proc, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := proc.admin().Stats(ctx); err != nil {
		t.Fatalf("admin API on a full disk after restart: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, proc, true)
	accepted = append(accepted, load.post(t, 5)...)
	waitRuns(t, cfg, accepted, 0) // a kill may run a job again: at least once
	t.Logf("%d webhooks accepted, refusals %v", len(accepted), load.other)
}

// diskLoad posts distinct signed webhooks one at a time.
type diskLoad struct {
	url   string
	src   config.Source
	seq   int
	other map[int]int
}

// post sends n webhooks and returns the ids of those answered 200; it
// stops at the first other answer, which it counts.
func (l *diskLoad) post(t *testing.T, n int) []string {
	t.Helper()
	if l.other == nil {
		l.other = map[int]int{}
	}
	var ids []string
	for range n {
		l.seq++
		code, id := postTo(t, l.url, l.src, fmt.Appendf(nil, `{"id":"task_full_%d","status":"completed"}`, l.seq))
		if code != http.StatusOK {
			l.other[code]++
			return ids
		}
		ids = append(ids, id)
	}
	return ids
}

// waitReady polls /readyz until it says ready (or not).
func waitReady(t *testing.T, proc *child, ready bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rd, err := proc.admin().Ready(ctx)
		cancel()
		if err == nil && rd.Ready == ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said ready=%v: %+v %v", ready, rd, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRuns waits until every event in ids has run; with exact > 0 it
// then checks none ran more than exact times.
func waitRuns(t *testing.T, cfg *config.Config, ids []string, exact int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows := queryAppDB(t, cfg, "SELECT event_id, COUNT(*) AS n FROM runs GROUP BY event_id")
		count := map[string]int64{}
		for _, r := range rows {
			count[r["event_id"].(string)] = r["n"].(int64)
		}
		missing := 0
		for _, id := range ids {
			if count[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			if exact > 0 {
				for _, id := range ids {
					if count[id] > int64(exact) {
						t.Fatalf("event %s ran %d times, want %d", id, count[id], exact)
					}
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never ran", missing, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
