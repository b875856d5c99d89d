package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/config"
)

// TestCheck_EnvValueNotEchoed: `switchboard check` on a config whose
// ${VAR} lands in a key that is not a secret names the key and the
// variable and never prints the value, wherever it came from (.env here).
func TestCheck_EnvValueNotEchoed(t *testing.T) {
	const secret = "ittyb-APIKEY-9d8c7b6a"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.js"), "export default function () {}\n")
	writeFile(t, filepath.Join(dir, ".env"), "ITTYBIT_API_KEY="+secret+"\nHOOK_SECRET=whatever\n")
	writeFile(t, filepath.Join(dir, "config.toml"), `
[[sources]]
name = "a"
path = "/a"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
[[sources]]
name = "b"
path = "/b"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "${HOOK_SECRET}"
event = "e"
rate = "${ITTYBIT_API_KEY}"

[[listeners]]
name = "a"
script = "a.js"
on = ["e"]
`)
	code, out, errOut := runMain(t, "check", "-c", filepath.Join(dir, "config.toml"))
	if code != 1 || !strings.Contains(errOut, "sources[2].rate: the value of ${ITTYBIT_API_KEY} is not a rate") {
		t.Fatalf("exit %d, stderr %q: want 1 naming sources[2].rate and ${ITTYBIT_API_KEY}", code, errOut)
	}
	if strings.Contains(out+errOut, secret) {
		t.Fatalf("the value was printed:\n%s%s", out, errOut)
	}
}

// TestAdminVerbs_ConfigBrokenElsewhere: failed, events and queue need only
// the admin address and token; an unset variable, a bad value and a
// missing script elsewhere in the config do not stop them. The token is
// read from the file the server writes when admin.token is empty.
func TestAdminVerbs_ConfigBrokenElsewhere(t *testing.T) {
	app := startApp(t, testConfig(t, newFakeIttybit(t).URL, ""))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tokens", "admin.token"), "admin-test-token\n")
	broken := filepath.Join(dir, "config.toml")
	writeFile(t, broken, fmt.Sprintf(`
[admin]
listen = %q
[storage]
dir = "tokens"
[queue]
workers = 0          # out of range
[[sources]]
name = "ittybit"
path = "/webhooks/ittybit"
verify = "ittybit"
secret = "${SWITCHBOARD_TEST_UNSET_SECRET}"
event = "media.processed"
[[listeners]]
name = "gone"
script = "missing.js"
on = ["media.processed"]
`, app.AdminAddr.String()))
	if code, _, errOut := runMain(t, "check", "-c", broken); code != 1 {
		t.Fatalf("check passed a broken config: %s", errOut)
	}
	for _, verb := range [][]string{{"failed", "ls"}, {"events", "ls"}, {"queue", "stats"}} {
		code, out, errOut := runMain(t, append(verb, "-c", broken)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s%s", verb, code, out, errOut)
		}
	}
	// admin.token from a variable: its being unset only matters without
	// another token.
	writeFile(t, broken, fmt.Sprintf("[admin]\nlisten = %q\ntoken = \"${SWITCHBOARD_TEST_UNSET_TOKEN}\"\n[queue]\nworkers = 0\n", app.AdminAddr.String()))
	if code, _, errOut := runMain(t, "failed", "ls", "-c", broken); code != 1 || !strings.Contains(errOut, "admin.token: ${SWITCHBOARD_TEST_UNSET_TOKEN} is not set") {
		t.Fatalf("unset token variable: exit %d, %q: want it named", code, errOut)
	}
	t.Setenv("SWITCHBOARD_ADMIN_TOKEN", "admin-test-token")
	if code, out, errOut := runMain(t, "failed", "ls", "-c", broken); code != 0 {
		t.Fatalf("with SWITCHBOARD_ADMIN_TOKEN: exit %d: %s%s", code, out, errOut)
	}
}

// TestSend_BaseOrFullURL: --url takes the server's base URL or the full
// webhook URL; neither doubles the path.
func TestSend_BaseOrFullURL(t *testing.T) {
	cfg := testConfig(t, newFakeIttybit(t).URL, "")
	app := startApp(t, cfg)
	base := "http://" + app.PublicAddr.String()
	for _, url := range []string{base, base + "/", base + "/webhooks/ittybit", base + "/webhooks/ittybit/"} {
		code, out, errOut := runMain(t, "send", "-c", cfg.Path, "--url", url, "ittybit", "../../testdata/ittybit_task_completed.json")
		if code != 0 || !strings.HasPrefix(out, "200 ") {
			t.Fatalf("--url %s: exit %d %q %q", url, code, out, errOut)
		}
	}
}

// TestServe_ListenFlags: serve --listen and --admin-listen put the two
// listeners where they say, over the environment and the file.
func TestServe_ListenFlags(t *testing.T) {
	cfg := testConfig(t, newFakeIttybit(t).URL, "")
	pub := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	adm := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	t.Setenv(config.ListenEnv, "127.0.0.1:1") // the flag wins
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out, errOut bytes.Buffer
		done <- Main(ctx, []string{"serve", "-c", cfg.Path, "--listen", pub, "--admin-listen", adm}, &out, &errOut)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + adm + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin never answered on %s: %v", adm, err)
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before answering", code)
		case <-time.After(20 * time.Millisecond): // polling for the listener
		}
	}
	code, out, errOut := runMain(t, "send", "-c", cfg.Path, "--url", "http://"+pub, "ittybit", "../../testdata/ittybit_task_completed.json")
	if code != 0 || !strings.HasPrefix(out, "200 ") {
		t.Fatalf("webhook on %s: exit %d %q %q", pub, code, out, errOut)
	}
}

// TestServe_StartupLine: the start-up log line names a webhook URL per
// source, the dashboard URL and where the admin token is, never the
// token.
func TestServe_StartupLine(t *testing.T) {
	extra := "\n[[sources]]\nname = \"gh\"\npath = \"/webhooks/github\"\nverify = \"github\"\nsecret = \"${ITTYBIT_WEBHOOK_SECRET}\"\nevent = \"push\"\n"
	for _, tc := range []struct{ name, token, where string }{
		{"token file", "", "admin.token"},
		{"token from the environment", "${SWITCHBOARD_TEST_TOKEN}", "(${SWITCHBOARD_TEST_TOKEN})"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SWITCHBOARD_TEST_TOKEN", "tok-3f9a1c")
			cfg := testConfig(t, newFakeIttybit(t).URL, extra)
			body, err := os.ReadFile(cfg.Path)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, cfg.Path, strings.Replace(string(body), `token = "admin-test-token"`, "token = \""+tc.token+"\"", 1))
			if cfg, err = config.Load(cfg.Path); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			app := runApp(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			line := startupLine(t, &logs)
			pub, adm := app.PublicAddr.String(), app.AdminAddr.String()
			for _, want := range []string{
				"webhooks=\"[http://" + pub + "/webhooks/ittybit http://" + pub + "/webhooks/github]\"",
				"dashboard=http://" + adm + "/", tc.where,
			} {
				if !strings.Contains(line, want) {
					t.Errorf("start-up line lacks %q:\n%s", want, line)
				}
			}
			token := "tok-3f9a1c"
			if tc.token == "" {
				b, _ := os.ReadFile(tokenFile(cfg))
				token = strings.TrimSpace(string(b))
			}
			if token == "" || strings.Contains(logs.String(), token) {
				t.Fatalf("the log shows the admin token (or none was made):\n%s", logs.String())
			}
		})
	}
}

// startupLine waits for the start-up line (logged just after Ready).
func startupLine(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "switchboard serving") {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start-up line:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond) // polling the log for the line
	}
}

// runApp opens and runs cfg with logger until the test ends.
func runApp(t *testing.T, cfg *config.Config, logger *slog.Logger) *App {
	t.Helper()
	return launch(t, cfg, logger).App
}

// TestCLI_ErrorsSayItOnce: each layer of an error adds only what it
// knows; none repeats what the layer below said.
func TestCLI_ErrorsSayItOnce(t *testing.T) {
	cfg := testConfig(t, newFakeIttybit(t).URL, "")
	app := startApp(t, cfg)
	admin := []string{"-c", cfg.Path, "--admin", "http://" + app.AdminAddr.String()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"events", "show", "nope"}, "get event nope: not found"},
		{[]string{"events", "replay", "nope"}, "event nope: not found"},
		{[]string{"failed", "show", "nope"}, "get job nope: not found"},
		{[]string{"failed", "retry", "nope"}, "retry job nope: not found"},
		{[]string{"failed", "forget", "nope"}, "forget job nope: not found"},
	} {
		code, _, errOut := runMain(t, append(tc.args, admin...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "nope") != 1 {
			t.Errorf("%v: exit %d, %q: want one mention of the id, in %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestServe_RejectionsInMetrics: through the whole app, a 413, a 431 and
// a 400 each appear in switchboard_webhooks_received_total with their
// code (413 and 431 used to be neither counted nor logged).
func TestServe_RejectionsInMetrics(t *testing.T) {
	cfg := testConfig(t, newFakeIttybit(t).URL, "")
	body, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg.Path, strings.Replace(string(body), "[server]\n", "[server]\nbody_limit = \"1KiB\"\nheader_limit = \"4KiB\"\n", 1))
	if cfg, err = config.Load(cfg.Path); err != nil {
		t.Fatal(err)
	}
	app := startApp(t, cfg)
	url := "http://" + app.PublicAddr.String() + "/webhooks/ittybit"
	send := func(body []byte, header string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-Padding", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(bytes.Repeat([]byte("a"), 4096), ""); code != 413 {
		t.Fatalf("big body: %d", code)
	}
	if code := send([]byte("{}"), strings.Repeat("p", 8192)); code != 431 {
		t.Fatalf("big header: %d", code)
	}
	if code, _ := post(t, app, []byte("not json"), true); code != 400 {
		t.Fatalf("not JSON: %d", code)
	}
	metrics := adminGet(t, "http://"+app.AdminAddr.String()+"/metrics", "admin-test-token")
	for _, want := range []string{
		`switchboard_webhooks_received_total{code="413",source="ittybit"} 1`,
		`switchboard_webhooks_received_total{code="431",source=""} 1`,
		`switchboard_webhooks_received_total{code="400",source="ittybit"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
