package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheck_ShippedConfig(t *testing.T) {
	t.Setenv("ITTYBIT_WEBHOOK_SECRET", "x")
	code, out, errOut := runMain(t, "check", "-c", "../../config.toml")
	// Listeners a user adds are fine: the count is not pinned to the seed's three.
	if code != 0 || !regexp.MustCompile(`\b\d+ listener\(s\), every script compiles`).MatchString(out) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheck_ReportsFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok.js", "export default function () {}\n")
	write("broken.js", "export default function () {\n  const x = ;\n}\n")
	write("config.toml", "[[listeners]]\nname = \"a\"\nscript = \"ok.js\"\non = [\"e\"]\n[[listeners]]\nname = \"b\"\nscript = \"broken.js\"\non = [\"e\"]\n")
	code, _, errOut := runMain(t, "check", "-c", filepath.Join(dir, "config.toml"))
	if code != 1 || !strings.Contains(errOut, "broken.js:2:") {
		t.Fatalf("exit %d, stderr %q: want 1 and broken.js:2:col", code, errOut)
	}

	write("config.toml", "[[listeners]]\nname = \"a\"\nscript = \"ok.js\"\non = [\"e\"]\ntries = 0\ntimeout = \"soon\"\n")
	code, _, errOut = runMain(t, "check", "-c", filepath.Join(dir, "config.toml"))
	if code != 1 || !strings.Contains(errOut, "config.toml:6:") || !strings.Contains(errOut, `"soon" is not a duration`) {
		t.Fatalf("exit %d, stderr %q: want 1 naming line 6 and the bad value", code, errOut)
	}
}

// TestRun_DryRun runs the shipped generate_thumbnail once on a fixture:
// the db read runs, the Ittybit call and the db write are printed, and
// nothing reaches the network or the database.
func TestRun_DryRun(t *testing.T) {
	api := newFakeIttybit(t)
	cfg := testConfig(t, api.URL, "")
	startDB(t, cfg)
	code, out, errOut := runMain(t, "run", "-c", cfg.Path, "--dry-run", "generate_thumbnail", "../../testdata/ittybit_task_completed.json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"→ ittybit.createJob(", `"format":"webp"`, "→ db.exec(\"UPDATE media SET thumbnail_task_id", "generate_thumbnail finished"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("a dry run made %d API requests", n)
	}

	// A listener that throws exits non-zero with its stack.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"id":"task_demo_video","object":"task","kind":"video","status":"completed","output":{}}`), 0o644)
	code, _, errOut = runMain(t, "run", "-c", cfg.Path, "--dry-run", "generate_thumbnail", bad)
	if code != 1 || !strings.Contains(errOut, "succeeded without an output url") || !strings.Contains(errOut, "generate_thumbnail.js:") {
		t.Fatalf("exit %d, stderr %q: want 1 with the error and the script's file:line", code, errOut)
	}
}

// TestCLI_AgainstRunningServer: send signs and posts; the admin verbs
// read and act through the admin API while the server holds the queue.
func TestCLI_AgainstRunningServer(t *testing.T) {
	api := newFakeIttybit(t)
	cfg := testConfig(t, api.URL, "")
	app := startApp(t, cfg)
	server := "http://" + app.PublicAddr.String()
	adminURL := "http://" + app.AdminAddr.String()

	code, out, errOut := runMain(t, "send", "-c", cfg.Path, "--url", server, "ittybit", "../../testdata/ittybit_task_completed.json")
	if code != 0 || !strings.HasPrefix(out, `200 {"event":"evt_`) {
		t.Fatalf("send: exit %d %q %q", code, out, errOut)
	}
	waitIdle(t, app)

	admin := []string{"-c", cfg.Path, "--admin", adminURL}
	code, out, errOut = runMain(t, append([]string{"events", "ls"}, admin...)...)
	if code != 0 || !strings.Contains(out, "media.processed") {
		t.Fatalf("events ls: exit %d %q %q", code, out, errOut)
	}
	evID := strings.Fields(strings.Split(out, "\n")[1])[0]
	code, out, _ = runMain(t, append([]string{"events", "show", evID}, admin...)...)
	if code != 0 || !strings.Contains(out, "notify_user") {
		t.Fatalf("events show: exit %d %q", code, out)
	}
	code, out, _ = runMain(t, append([]string{"events", "replay", evID}, admin...)...)
	if code != 0 || !strings.Contains(out, "3 job(s)") {
		t.Fatalf("events replay: exit %d %q", code, out)
	}
	waitIdle(t, app)
	code, out, _ = runMain(t, append([]string{"queue", "stats"}, admin...)...)
	if code != 0 || !strings.Contains(out, "update_media_record") {
		t.Fatalf("queue stats: exit %d %q", code, out)
	}
	code, out, _ = runMain(t, append([]string{"queue", "processes"}, admin...)...)
	if code != 0 || !strings.Contains(out, fmt.Sprintf(" %d ", os.Getpid())) || !strings.Contains(out, "LAST HEARTBEAT") {
		t.Fatalf("queue processes: exit %d %q, want this process (pid %d) listed", code, out, os.Getpid())
	}
	code, out, _ = runMain(t, append([]string{"failed", "ls"}, admin...)...)
	if code != 0 || !strings.Contains(out, "no jobs") {
		t.Fatalf("failed ls: exit %d %q", code, out)
	}
	code, _, errOut = runMain(t, "failed", "ls", "-c", cfg.Path, "--admin", adminURL, "--token", "wrong")
	if code != 1 || !strings.Contains(strings.ToLower(errOut), "unauthorized") {
		t.Fatalf("wrong token: exit %d %q", code, errOut)
	}
}

// startDB creates the demo schema for cfg without starting a server.
func startDB(t *testing.T, cfg *config.Config) {
	t.Helper()
	ctx := context.Background()
	os.MkdirAll(cfg.Resolve("data"), 0o755)
	d, err := db.Open(ctx, dbOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := initAppDB(ctx, d); err != nil {
		t.Fatal(err)
	}
}
