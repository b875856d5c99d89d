package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// Reloads that rename, add and remove listeners and change their scripts,
// as fast as they can go under webhook load, never fail an attempt: a job
// finds its listener and its script in one generation, or (its listener
// gone) is handed back unrun.
func TestReload_ContinuousUnderLoad(t *testing.T) {
	script := func(v int) string {
		return fmt.Sprintf("export default function handle(event, job) { return %d; }\n", v)
	}
	listeners := func(round int) string {
		// "steady" always exists; "renamed" alternates its name; "extra"
		// comes and goes. Each round changes every script's text.
		name := "renamed_a"
		if round%2 == 1 {
			name = "renamed_b"
		}
		out := fmt.Sprintf(`
[[listeners]]
name = "steady"
script = "scripts/steady.js"
on = ["media.processed"]

[[listeners]]
name = %q
script = "scripts/renamed.js"
on = ["media.processed"]
`, name)
		if round%3 != 0 {
			out += `
[[listeners]]
name = "extra"
script = "scripts/extra.js"
on = ["media.processed"]
`
		}
		return out
	}
	pc := procConfig{Listeners: listeners(0), Scripts: map[string]string{
		"scripts/steady.js": script(0), "scripts/renamed.js": script(0), "scripts/extra.js": script(0),
	}}
	cfg := writeProcConfig(t, pc)
	app := launch(t, cfg, nil)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var posted atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				body := fmt.Appendf(nil, `{"id":"task_gen_%d","status":"completed"}`, posted.Add(1))
				if code, out := post(t, app.App, body, true); code != http.StatusOK {
					t.Errorf("post: %d %v", code, out)
					return
				}
			}
		}()
	}
	reloads := 0
	for round := 1; round <= 200; round++ {
		pc.Listeners = listeners(round)
		// Saved the way editors save (write aside, rename over), so the
		// watcher's own reloads never read a half-written file.
		for _, name := range []string{"steady", "renamed", "extra"} {
			saveAtomically(t, filepath.Join(cfg.Dir, "scripts", name+".js"), script(round))
		}
		saveAtomically(t, cfg.Path, procConfigText(pc))
		if err := app.Reload(nil); err != nil {
			t.Fatalf("reload %d: %v", round, err)
		}
		reloads++
	}
	stop()
	wg.Wait()
	if t.Failed() {
		return
	}
	// Let the last generation's jobs run; jobs of a listener it lacks
	// wait for it to come back (handed back unrun).
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := app.queue.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Listeners["steady"][engine.JobPending]+st.Listeners["steady"][engine.JobRunning] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("steady's jobs did not drain: %+v", st.Listeners["steady"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	var jobs, failedAttempts int
	after := ""
	for {
		page, err := app.queue.ListJobs(context.Background(), engine.JobQuery{Limit: 1000, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			jobs++
			for _, a := range j.Attempts {
				if a.Error != nil {
					failedAttempts++
					if failedAttempts <= 5 {
						t.Errorf("job %s (%s) attempt %d: %s: %s", j.ID, j.Listener, a.N, a.Error.Kind, a.Error.Message)
					}
				}
			}
			if j.State == engine.JobFailed {
				t.Errorf("job %s (%s) failed: %+v", j.ID, j.Listener, j.LastError)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	t.Logf("%d reloads under load, %d webhooks, %d jobs, %d failed attempts", reloads, posted.Load(), jobs, failedAttempts)
	if jobs == 0 {
		t.Fatal("no jobs were created")
	}
}

// saveAtomically replaces path with body by writing a sibling and renaming
// it over path.
func saveAtomically(t testing.TB, path, body string) {
	t.Helper()
	tmp := path + ".tmp-save"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
