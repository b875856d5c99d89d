package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/host/db"
	"github.com/switchboard/switchboard/engine/ingest"
)

// Distinctive secrets: any appearance in output is a leak, not chance.
const (
	leakWebhookSecret = "whsec-LEAKCANARY-7f3a9c"
	leakAPIKey        = "ittyk-LEAKCANARY-b81e40"
	leakAdminToken    = "admtok-LEAKCANARY-52d6aa"
)

// seedDemoDB gives cfg's app database the demo schema and the media rows
// the fixtures refer to, as startApp does.
func seedDemoDB(t *testing.T, cfg *config.Config) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(cfg.Resolve("data"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, dbOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := initAppDB(ctx, d); err != nil { // a media row for every fixture
		t.Fatal(err)
	}
}

// TestLogs_NoSecrets runs the Ittybit flow with debug logging and reads
// everything an operator sees (logs, `switchboard check`, the admin API):
// none of it contains the webhook secret, the API key, the admin token
// or a signature the sender computed.
func TestLogs_NoSecrets(t *testing.T) {
	api := newFakeIttybit(t)
	base := testConfig(t, api.URL, "")
	text, err := os.ReadFile(base.Path)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReplacer("admin-test-token", leakAdminToken, "test-api-key", leakAPIKey).Replace(string(text))
	writeFile(t, base.Path, body)
	t.Setenv("ITTYBIT_WEBHOOK_SECRET", leakWebhookSecret)
	cfg, err := config.Load(base.Path)
	if err != nil {
		t.Fatal(err)
	}
	seedDemoDB(t, cfg)

	var logs syncBuffer
	app := launch(t, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	secrets := map[string]string{"webhook secret": leakWebhookSecret, "ittybit api key": leakAPIKey, "admin token": leakAdminToken}

	var events []string
	for i, name := range []string{"ittybit_task_completed.json", "ittybit_event_succeeded.json", "ittybit_task_failed.json", "ittybit_event_succeeded.json"} {
		payload := fixture(t, name)
		headers, err := ingest.Sign(ingestSource(cfg.Sources[0]), payload, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			if !strings.EqualFold(k, "Content-Type") {
				secrets[fmt.Sprintf("signature %s of post %d", k, i)] = v
			}
		}
		code, out := post(t, app.App, payload, true)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", name, code, out)
		}
		events = append(events, out["event"])
	}
	if code, _ := post(t, app.App, fixture(t, "ittybit_task_completed.json"), false); code != http.StatusUnauthorized {
		t.Fatalf("forged post: %d, want 401", code)
	}
	waitIdle(t, app.App)
	if len(api.Requests()) == 0 || api.Requests()[0].Auth != "Bearer "+leakAPIKey {
		t.Fatalf("the API key was not used: %+v", api.Requests())
	}

	outputs := map[string]string{}
	adminURL := "http://" + app.AdminAddr.String()
	paths := []string{"/api/stats", "/api/config/status", "/api/events", "/api/jobs", "/metrics", "/readyz", "/"}
	for _, id := range events {
		paths = append(paths, "/api/events/"+id)
	}
	for _, p := range paths {
		outputs["GET "+p] = adminGet(t, adminURL+p, leakAdminToken)
	}
	for _, id := range events {
		if !strings.Contains(outputs["GET /api/events/"+id], `"payload"`) {
			t.Fatalf("GET /api/events/%s did not answer the event: %s", id, outputs["GET /api/events/"+id])
		}
	}
	outputs["GET /api/stats, wrong token"] = adminGet(t, adminURL+"/api/stats", "not-"+leakAdminToken)
	code, stdout, stderr := runMain(t, "check", "-c", cfg.Path)
	if code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, stdout, stderr)
	}
	outputs["switchboard check"] = stdout + stderr

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.stop(ctx); err != nil {
		t.Fatal(err)
	}
	outputs["logs"] = logs.String()
	if !strings.Contains(outputs["logs"], "webhook accepted") {
		t.Fatalf("debug logs missing; got:\n%s", outputs["logs"])
	}
	for where, out := range outputs {
		for what, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s contains the %s", where, what)
			}
		}
	}
}

// adminGet returns the body of GET url with a bearer token.
func adminGet(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
