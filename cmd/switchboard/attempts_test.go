package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// A job keeps every attempt: `failed show` lists the failed ones with
// their errors; retried, it ends done with no current error and all
// three attempts still on record (GET /api/jobs/{id}).
func TestAttempts_KeptAcrossRetry(t *testing.T) {
	pc := procConfig{
		Listeners: `
[[listeners]]
name = "flaky"
script = "scripts/flaky.js"
on = ["media.processed"]
tries = 2
backoff = ["10ms"]
`,
		Scripts: map[string]string{"scripts/flaky.js": `import { kv } from "switchboard";
export default function handle(event, job) {
  const n = (kv.get("runs") || 0) + 1;
  kv.set("runs", n);
  if (n < 3) throw new Error("flaky run " + n);
}
`},
	}
	cfg := writeProcConfig(t, pc)
	app := launch(t, cfg, nil)
	code, out := post(t, app.App, []byte(`{"id":"task_attempts","status":"completed"}`), true)
	if code != 200 {
		t.Fatalf("post: %d %v", code, out)
	}
	admin := []string{"-c", cfg.Path, "--admin", "http://" + app.AdminAddr.String(), "--token", procAdminToken}
	job := waitJob(t, app.App, out["event"], "flaky", engine.JobFailed)

	code, show, errOut := runMain(t, append([]string{"failed", "show", job.ID}, admin...)...)
	if code != 0 {
		t.Fatalf("failed show: exit %d %s", code, errOut)
	}
	for _, want := range []string{"attempts:", "flaky run 1", "flaky run 2", "retry", "failed"} {
		if !strings.Contains(show, want) {
			t.Fatalf("failed show lacks %q:\n%s", want, show)
		}
	}
	if code, _, errOut := runMain(t, append([]string{"failed", "retry", job.ID}, admin...)...); code != 0 {
		t.Fatalf("failed retry: exit %d %s", code, errOut)
	}
	waitJob(t, app.App, out["event"], "flaky", engine.JobDone)
	c, err := newAdminFlagsFor(admin).client()
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.GetJob(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.LastError != nil {
		t.Fatalf("done job still carries an error: %+v", done.LastError)
	}
	if len(done.Attempts) != 3 || done.Attempts[0].Outcome != engine.Retry || done.Attempts[1].Outcome != engine.Failed ||
		done.Attempts[2].Outcome != engine.Succeeded || done.Attempts[2].Error != nil {
		t.Fatalf("attempts = %+v, want retry, failed, succeeded", done.Attempts)
	}
	for _, a := range done.Attempts {
		if a.StartedAt.IsZero() || a.Duration <= 0 {
			t.Fatalf("attempt %+v has no start or duration", a)
		}
	}
}

// waitJob waits for the job of listener on event to reach state.
func waitJob(t testing.TB, app *App, eventID, listener string, state engine.JobState) engine.Job {
	t.Helper()
	var last engine.Job
	eventually(t, func() bool {
		_, jobs, err := app.queue.GetEvent(context.Background(), eventID)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Listener == listener {
				last = j
				return j.State == state
			}
		}
		return false
	}, "job of %s on %s to be %s", listener, eventID, state)
	return last
}

// newAdminFlagsFor parses admin-verb flags, for a test that wants the
// client the CLI would build.
func newAdminFlagsFor(args []string) *adminFlags {
	f := newAdminFlags("test")
	if _, err := f.parse(args); err != nil {
		panic(err)
	}
	return f
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
