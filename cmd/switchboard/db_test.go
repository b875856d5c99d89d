package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/host/db"
)

// shippedFixtures returns testdata/*.json by name, sorted.
func shippedFixtures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../../testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	sort.Strings(names)
	return names
}

// fixtureTaskID is the id of the task or job a fixture reports on: its
// own id, or its data's for an event envelope.
func fixtureTaskID(t *testing.T, name string) string {
	t.Helper()
	var p struct {
		ID     string `json:"id"`
		Object string `json:"object"`
		Data   struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, name), &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if p.Object == "event" {
		return p.Data.ID
	}
	return p.ID
}

// dbConfig writes a config that holds only an app database.
func dbConfig(t *testing.T, driver, dsn string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("[storage]\ndir = \"data\"\n[database]\ndriver = %q\ndsn = %q\n", driver, dsn)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// isolatedDSN returns a DSN for a fresh schema (postgres) or database
// (mysql) on the test server that env names, dropped when the test ends,
// or "" when env is unset.
func isolatedDSN(t *testing.T, driver, env string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		return ""
	}
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Options{Driver: driver, DSN: engine.Secret(dsn), MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	name := "sb_cli_" + hex.EncodeToString(b)
	if driver == "postgres" {
		if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.SQL().ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE") })
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + name
	}
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.SQL().ExecContext(context.Background(), "DROP DATABASE "+name) })
	base, _, _ := strings.Cut(dsn, "?")
	return base[:strings.LastIndex(base, "/")+1] + name
}

// dbQuery runs `switchboard db query` and decodes its JSON answer.
func dbQuery(t *testing.T, cfgPath, sql string, out any) {
	t.Helper()
	code, stdout, stderr := runMain(t, "db", "query", "-c", cfgPath, sql)
	if code != 0 {
		t.Fatalf("db query %q: exit %d: %s", sql, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("db query %q printed %q: %v", sql, stdout, err)
	}
}

// TestDB_InitAndQuery: `db init` (run twice) leaves the sample user and a
// media row that every shipped fixture's task or job id names; `db query`
// prints the rows of a SELECT and the count of rows a write changed, on
// every driver the tests can reach.
func TestDB_InitAndQuery(t *testing.T) {
	backends := map[string]string{"sqlite": "data/app.db"}
	for driver, env := range map[string]string{"postgres": "SWITCHBOARD_TEST_POSTGRES_DSN", "mysql": "SWITCHBOARD_TEST_MYSQL_DSN"} {
		if dsn := isolatedDSN(t, driver, env); dsn != "" {
			backends[driver] = dsn
		} else {
			t.Logf("%s: skipped, set %s to run", driver, env)
		}
	}
	for driver, dsn := range backends {
		t.Run(driver, func(t *testing.T) {
			cfg := dbConfig(t, driver, dsn)
			for range 2 { // idempotent
				if code, out, errOut := runMain(t, "db", "init", "-c", cfg); code != 0 || !strings.Contains(out, "app database ready") {
					t.Fatalf("db init: exit %d %q %q", code, out, errOut)
				}
			}
			var rows []struct {
				TaskID          *string `json:"task_id"`
				ThumbnailTaskID *string `json:"thumbnail_task_id"`
			}
			dbQuery(t, cfg, "SELECT task_id, thumbnail_task_id FROM media ORDER BY id", &rows)
			names := map[string]int{}
			for _, r := range rows {
				for _, id := range []*string{r.TaskID, r.ThumbnailTaskID} {
					if id != nil {
						names[*id]++
					}
				}
			}
			for _, f := range shippedFixtures(t) {
				if id := fixtureTaskID(t, f); names[id] != 1 {
					t.Errorf("%s reports on %q, which %d media rows name, want 1: %+v", f, id, names[id], rows)
				}
			}

			var count map[string]int64
			dbQuery(t, cfg, "UPDATE media SET status = 'archived' WHERE user_id = 1", &count)
			if len(count) != 1 || count["rowsAffected"] != int64(len(rows)) {
				t.Fatalf("UPDATE printed %v, want rowsAffected %d", count, len(rows))
			}
			dbQuery(t, cfg, "/* nothing matches */ DELETE FROM media WHERE id = 999", &count)
			if count["rowsAffected"] != 0 {
				t.Fatalf("DELETE printed %v, want rowsAffected 0", count)
			}
			var n []map[string]any
			dbQuery(t, cfg, "SELECT COUNT(*) AS n FROM media WHERE status = 'archived'", &n)
			if len(n) != 1 || fmt.Sprint(n[0]["n"]) != fmt.Sprint(len(rows)) {
				t.Fatalf("SELECT printed %v, want n = %d", n, len(rows))
			}
		})
	}
}

// TestDemo_EveryFixtureHasAnEffect is the README's "Watch the whole
// flow": after `db init`, sending each shipped fixture to the running
// server changes a media row, a resent fixture is answered duplicate,
// and `events replay` runs its listeners again.
func TestDemo_EveryFixtureHasAnEffect(t *testing.T) {
	api := newFakeIttybit(t)
	cfg := testConfig(t, api.URL, "")
	if err := os.MkdirAll(cfg.Resolve("data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runMain(t, "db", "init", "-c", cfg.Path); code != 0 {
		t.Fatalf("db init: exit %d %q %q", code, out, errOut)
	}
	app := startApp(t, cfg)
	server := "http://" + app.PublicAddr.String()
	media := func() string {
		rows, err := app.appDB.Query(context.Background(), "SELECT id, status, output_url, metadata, thumbnail_task_id, thumbnail_url FROM media ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rows)
		return string(b)
	}
	send := func(name string) string {
		t.Helper()
		code, out, errOut := runMain(t, "send", "-c", cfg.Path, "--url", server, "ittybit", filepath.Join("../../testdata", name))
		if code != 0 {
			t.Fatalf("send %s: exit %d %q %q", name, code, out, errOut)
		}
		return out
	}
	var firstEvent string
	for _, name := range shippedFixtures(t) {
		before := media()
		out := send(name)
		if !strings.Contains(out, `"status":"ok"`) {
			t.Fatalf("send %s: %q", name, out)
		}
		if firstEvent == "" {
			var ack struct{ Event string }
			json.Unmarshal([]byte(strings.TrimPrefix(out, "200 ")), &ack)
			firstEvent = ack.Event
		}
		waitIdle(t, app)
		if after := media(); after == before {
			t.Errorf("sending %s changed no media row:\n%s", name, after)
		}
	}
	if st := waitIdle(t, app); st.States[engine.JobFailed] != 0 {
		t.Fatalf("failed jobs: %+v", st.States)
	}

	// Running the demo again: a resent fixture is a duplicate delivery;
	// events replay runs its listeners once more.
	if out := send(shippedFixtures(t)[0]); !strings.Contains(out, `"status":"duplicate"`) {
		t.Fatalf("resent fixture: %q, want duplicate", out)
	}
	code, out, errOut := runMain(t, "events", "replay", firstEvent, "-c", cfg.Path, "--admin", "http://"+app.AdminAddr.String())
	if code != 0 || !strings.Contains(out, "3 job(s)") {
		t.Fatalf("events replay %s: exit %d %q %q", firstEvent, code, out, errOut)
	}
	waitIdle(t, app)
}
