package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/admin"
	"github.com/switchboard/switchboard/engine/config"
)

const isolated = "\n[scripts]\nisolation = \"process\"\n"

// TestIsolation_IttybitFlow is the guide's whole flow with every
// listener in script processes: db, ittybit, mail and log go through the
// proxy module, with the same results as in-process. The processes hold
// no secret of the router's environment and no file of its own (the
// queue, the app database).
func TestIsolation_IttybitFlow(t *testing.T) {
	app := ittybitFlow(t, isolated)
	if st := app.iso.Stats(); st.Started == 0 || st.Bundles < 3 {
		t.Fatalf("script processes %+v: the flow did not run in them", st)
	}
	pids := childPIDs(t)
	if len(pids) == 0 {
		t.Fatal("no script-host child of this process")
	}
	// A script process holds none of the router's secrets or files.
	for _, pid := range pids {
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil || strings.Contains(string(env), testSecret) || strings.Contains(string(env), "ITTYBIT_WEBHOOK_SECRET") {
			t.Errorf("script process %d environment: %q, %v", pid, env, err)
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
		for _, fd := range fds {
			target, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
			// (The Go runtime keeps its cgroup's CPU quota files open.)
			if strings.HasPrefix(target, app.cfg.Dir) || strings.HasSuffix(target, ".db") || strings.HasSuffix(target, ".js") {
				t.Errorf("script process %d has %s open (fd %s)", pid, target, fd.Name())
			}
		}
	}
}

// bindingsScript uses every binding the shipped listeners do not: http,
// kv, db.query and db.tx (commit, and roll back on a throw), console,
// emit and snooze.
const bindingsScript = `import { db, http, kv, emit, snooze } from "switchboard";

export default function handle(event, job) {
  if (!kv.get("snoozed:" + event.id)) {
    kv.set("snoozed:" + event.id, true, { ttl: "1h" });
    snooze("10ms");
  }
  const r = http.get(API + "/ping", { headers: { "X-Job": job.id } });
  if (r.status !== 200 || r.json.pong !== job.id) throw new Error("http: " + JSON.stringify(r));
  const runs = (kv.get("runs") || 0) + 1;
  kv.set("runs", runs);
  db.tx(tx => { tx.exec("INSERT INTO seen (event_id, via) VALUES (?, ?)", event.id, "tx"); });
  try {
    db.tx(tx => { tx.exec("INSERT INTO seen (event_id, via) VALUES (?, ?)", event.id, "rolled back"); throw new TypeError("undo"); });
  } catch (e) {
    if (!(e instanceof TypeError) || e.message !== "undo") throw e;
  }
  const rows = db.query("SELECT via FROM seen WHERE event_id = ?", event.id);
  if (rows.length !== 1 || rows[0].via !== "tx") throw new Error("db: " + JSON.stringify(rows));
  console.log("bindings ok", { runs });
  emit("bindings.done", { event: event.id, runs });
}
`

const afterEmitScript = `import { db } from "switchboard";
export default function (event) {
  db.exec("INSERT INTO seen (event_id, via) VALUES (?, ?)", event.payload.event, "emit " + event.payload.runs);
}
`

// TestIsolation_EveryBinding runs the bindings the flow leaves out
// through the proxy module of a real server: the follow-up event reaches
// its listener, the rolled-back row is gone, the log line carries the
// job's attributes.
func TestIsolation_EveryBinding(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"pong":%q}`, r.Header.Get("X-Job"))
	}))
	defer api.Close()
	pc := procConfig{
		Listeners: `
[[listeners]]
name = "bindings"
script = "scripts/bindings.js"
on = ["media.processed"]
[[listeners]]
name = "after_emit"
script = "scripts/after_emit.js"
on = ["bindings.done"]
`,
		Scripts: map[string]string{
			"scripts/bindings.js":   fmt.Sprintf("const API = %q;\n", api.URL) + bindingsScript,
			"scripts/after_emit.js": afterEmitScript,
		},
	}
	cfg := isolatedConfig(t, pc, "")
	execAppDB(t, cfg, "CREATE TABLE seen (event_id TEXT NOT NULL, via TEXT NOT NULL)")
	logs := &syncBuffer{}
	app := launch(t, cfg, slog.New(slog.NewTextHandler(logs, nil)))

	code, out := post(t, app.App, []byte(`{"id":"task_bindings","status":"completed"}`), true)
	if code != http.StatusOK {
		t.Fatalf("post: %d %v", code, out)
	}
	eventually(t, func() bool {
		return len(queryAppDB(t, cfg, "SELECT via FROM seen WHERE event_id = ? AND via = 'emit 1'", out["event"])) == 1
	}, "the emitted event's listener never ran")
	waitIdle(t, app.App)
	rows := queryAppDB(t, cfg, "SELECT via FROM seen WHERE event_id = ? ORDER BY via", out["event"])
	if len(rows) != 2 || rows[0]["via"] != "emit 1" || rows[1]["via"] != "tx" {
		t.Fatalf("rows = %v, want the tx row and the emitted event's", rows)
	}
	_, jobs, err := app.queue.GetEvent(context.Background(), out["event"])
	if err != nil || len(jobs) != 1 || jobs[0].State != engine.JobDone || jobs[0].Attempt != 1 || len(jobs[0].Attempts) != 2 {
		t.Fatalf("jobs = %+v, %v; want one done after a snooze and a run, attempt 1", jobs, err)
	}
	if line := grepLine(logs.String(), "bindings ok"); !strings.Contains(line, "listener=bindings") ||
		!strings.Contains(line, "job="+jobs[0].ID) || !strings.Contains(line, `{\"runs\":1}`) {
		t.Fatalf("console line = %q, want the job's attributes and the fields", line)
	}
}

// isolatedConfig writes pc with scripts in child processes and extra
// [scripts] keys.
func isolatedConfig(t *testing.T, pc procConfig, extra string) *config.Config {
	t.Helper()
	cfg := writeProcConfig(t, pc)
	writeFile(t, cfg.Path, procConfigText(pc)+isolated+extra)
	cfg, err := config.Load(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func grepLine(text, needle string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, needle) {
			return line
		}
	}
	return ""
}

// TestIsolation_HostileListeners: the payload and a string
// doubled in a loop run on a real server beside an ordinary listener.
// The doubling child dies at its cap and its job fails with the memory
// error; the stringify job fails with the guard's budget error; the
// ordinary listener's job is done in another child; this process's
// heap and RSS stay small and the server stays ready.
func TestIsolation_HostileListeners(t *testing.T) {
	heapCeiling(t, 256<<20)
	pc := procConfig{
		Listeners: markerListener + `
[[listeners]]
name = "doubler"
script = "scripts/doubler.js"
on = ["media.processed"]
tries = 2
[[listeners]]
name = "stringify"
script = "scripts/stringify.js"
on = ["media.processed"]
tries = 1
`,
		Scripts: map[string]string{
			"scripts/marker.js":    markScript("v1"),
			"scripts/doubler.js":   "export default function () { let s = 'x'; for (;;) s += s; }\n",
			"scripts/stringify.js": "export default function () { JSON.stringify(new Array(100000).fill('x'.repeat(1 << 20))); }\n",
		},
	}
	cfg := isolatedConfig(t, pc, "memory_limit = \"64MiB\"\nprocesses = 3\n")
	execAppDB(t, cfg, "CREATE TABLE marks (event_id TEXT NOT NULL, listener TEXT NOT NULL, version TEXT NOT NULL)")
	app := launch(t, cfg, nil)

	runtime.GC()
	heapBase, rssBase := heapNow(), rss(t)
	var version string
	peak := peakDuring(func() { version = versionRun(t, app, "marker") })
	rssAfter := rss(t)
	t.Logf("router heap %d → peak %d MiB; RSS %d → %d MiB; script processes %+v",
		heapBase>>20, peak>>20, rssBase>>20, rssAfter>>20, app.iso.Stats())
	if version != "v1" {
		t.Fatalf("marker ran %q", version)
	}
	if peak > heapBase+16<<20 || rssAfter > rssBase+32<<20 {
		t.Errorf("router grew: heap %d → %d MiB, RSS %d → %d MiB", heapBase>>20, peak>>20, rssBase>>20, rssAfter>>20)
	}
	for listener, want := range map[string]struct {
		kind engine.ErrorKind
		text string
	}{
		"doubler":   {engine.KindMemory, "memory limit exceeded (its script process reached the 64 MiB memory cap"},
		"stringify": {engine.KindError, "JSON.stringify would exceed the script memory budget of 8 MiB per call"},
	} {
		jobs, err := app.queue.ListJobs(context.Background(), engine.JobQuery{Listener: listener})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].State != engine.JobFailed || jobs[0].LastError == nil ||
			jobs[0].LastError.Kind != want.kind || !strings.Contains(jobs[0].LastError.Message, want.text) {
			t.Fatalf("%s jobs = %+v (last error %+v), want one failed, kind %s, %q", listener, jobs, jobs[0].LastError, want.kind, want.text)
		}
	}
	if st := app.iso.Stats(); st.Died < 2 {
		t.Errorf("stats %+v: the doubler's two tries should each have ended a child", st)
	}
	cl := &admin.Client{BaseURL: "http://" + app.AdminAddr.String(), Token: procAdminToken}
	if rd, err := cl.Ready(context.Background()); err != nil || !rd.Ready {
		t.Fatalf("readyz = %+v, %v", rd, err)
	}
}

// rss is this process's resident set, from /proc/self/status.
func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
