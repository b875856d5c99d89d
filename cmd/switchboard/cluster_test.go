package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/config"
	"github.com/switchboard/switchboard/engine/ingest"
	"github.com/switchboard/switchboard/engine/postgres/postgrestest"
)

// clusterScripts record what the listeners of TestCluster_KillNine see,
// in a schema of the test's own ("app" is replaced by it).
var clusterScripts = map[string]string{
	"scripts/record.js": `import { db } from "switchboard";
export default function handle(event, job) {
  db.exec("INSERT INTO app.runs (event_id, listener) VALUES (?, ?)", event.id, job.listener);
}
`,
	// Marks its start and end: runs of a concurrency = 1 listener must
	// never overlap, whichever process runs them.
	"scripts/serial.js": `import { db } from "switchboard";
export default function handle(event) {
  const token = event.id + ":" + Math.random();
  db.exec("INSERT INTO app.spans (token, phase) VALUES (?, 'start')", token);
  const t = Date.now();
  while (Date.now() - t < 30) {}
  db.exec("INSERT INTO app.spans (token, phase) VALUES (?, 'end')", token);
}
`,
	"scripts/ordered.js": `import { db } from "switchboard";
export default function handle(event) {
  db.exec("INSERT INTO app.ordered (key, seq) VALUES (?, ?)", event.payload.key, event.payload.seq);
}
`,
	"scripts/rated.js": `import { db } from "switchboard";
export default function handle(event) {
  db.exec("INSERT INTO app.rated (event_id) VALUES (?)", event.id);
}
`,
}

const clusterListeners = `
[[listeners]]
name = "first"
script = "scripts/record.js"
on = ["media.processed"]
when = { kind = "load" }

[[listeners]]
name = "second"
script = "scripts/record.js"
on = ["media.processed"]
when = { kind = "load" }

[[listeners]]
name = "serial"
script = "scripts/serial.js"
on = ["media.processed"]
when = { kind = "serial" }
concurrency = 1

[[listeners]]
name = "ordered"
script = "scripts/ordered.js"
on = ["media.processed"]
when = { kind = "ordered" }
order_by = "key"

[[listeners]]
name = "rated"
script = "scripts/rated.js"
on = ["media.processed"]
when = { kind = "rated" }
rate = "30/s"
`

// clusterRate is the rated listener's rate, per second.
const clusterRate = 30

// pgCluster is three switchboard serve processes on one PostgreSQL
// schema, each with its own config directory and ports.
type pgCluster struct {
	t        *testing.T
	dsn, app string
	procs    []*child
	src      config.Source
	mu       sync.Mutex
	up       []bool
	kills    []time.Time
}

func newPGCluster(t *testing.T, n int) *pgCluster {
	dsn := postgrestest.DSN(t, "the PostgreSQL cluster test")
	b := make([]byte, 5)
	_, _ = crand.Read(b)
	schema := "sbcluster_" + hex.EncodeToString(b)
	c := &pgCluster{t: t, dsn: dsn, app: schema + "_app", up: make([]bool, n)}
	c.exec(`CREATE SCHEMA `+c.app,
		`CREATE TABLE `+c.app+`.runs (event_id text NOT NULL, listener text NOT NULL)`,
		`CREATE TABLE `+c.app+`.spans (id bigserial, token text NOT NULL, phase text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
		`CREATE TABLE `+c.app+`.ordered (id bigserial, key text NOT NULL, seq int NOT NULL)`,
		`CREATE TABLE `+c.app+`.rated (id bigserial, event_id text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	t.Cleanup(func() { c.exec(`DROP SCHEMA IF EXISTS `+schema+` CASCADE`, `DROP SCHEMA IF EXISTS `+c.app+` CASCADE`) })
	scripts := map[string]string{}
	for name, body := range clusterScripts {
		scripts[name] = strings.ReplaceAll(body, "app.", c.app+".")
	}
	for range n {
		listen, adminListen := fixedPorts(t)
		cfg := writePGConfig(t, dsn, procConfig{
			Listen: listen, AdminListen: adminListen,
			Queue:     fmt.Sprintf("backend = \"postgres\"\nschema = %q\npoll_interval = \"500ms\"", schema),
			Listeners: clusterListeners, Scripts: scripts,
		})
		c.procs = append(c.procs, newChild(t, cfg))
		c.src = cfg.Sources[0]
	}
	return c
}

// writePGConfig is writeProcConfig with the app database on PostgreSQL
// (dsn), so that queue.dsn defaults to database.dsn.
func writePGConfig(t *testing.T, dsn string, pc procConfig) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, body := range pc.Scripts {
		writeFile(t, filepath.Join(dir, name), body)
	}
	text := strings.Replace(procConfigText(pc), "driver = \"sqlite\"\ndsn = \"data/app.db\"",
		fmt.Sprintf("driver = \"postgres\"\ndsn = %q", dsn), 1)
	writeFile(t, filepath.Join(dir, "config.toml"), text)
	cfg, err := config.Load(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (c *pgCluster) exec(stmts ...string) {
	c.t.Helper()
	conn, err := pgx.Connect(context.Background(), c.dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(context.Background(), s); err != nil {
			c.t.Fatalf("%s: %v", s, err)
		}
	}
}

func (c *pgCluster) query(sql string, dest func(pgx.Rows) error) {
	c.t.Helper()
	conn, err := pgx.Connect(context.Background(), c.dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := dest(rows); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pgCluster) start(i int) {
	c.procs[i].start()
	c.mu.Lock()
	c.up[i] = true
	c.mu.Unlock()
}

func (c *pgCluster) kill(i int) {
	c.mu.Lock()
	c.up[i] = false
	c.kills = append(c.kills, time.Now())
	c.mu.Unlock()
	c.procs[i].kill()
}

// url returns a random live process's webhook URL.
func (c *pgCluster) url() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []int
	for i, up := range c.up {
		if up {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return ""
	}
	return c.procs[live[rand.IntN(len(live))]].publicURL() + "/webhooks/ittybit"
}

// post signs and posts body to a live process: true on a 200.
func (c *pgCluster) post(ctx context.Context, client *http.Client, body []byte) (string, bool) {
	url := c.url()
	if url == "" {
		return "", false
	}
	headers, err := ingest.Sign(ingestSource(c.src), body, time.Now())
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var out struct{ Event string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Event == "" {
		return "", false
	}
	return out.Event, true
}

// drain waits until no job is pending or running, asking process i.
func (c *pgCluster) drain(i int, within time.Duration) engine.Stats {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		rep, err := c.procs[i].admin().Stats(context.Background())
		if err == nil && rep.Stats.States[engine.JobPending] == 0 && rep.Stats.States[engine.JobRunning] == 0 {
			return rep.Stats
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("jobs still pending or running %s on: %v (%v)", within, rep.Stats.States, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
