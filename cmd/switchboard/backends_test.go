package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// chainScripts: the first listener emits a follow-up for each webhook;
// the second, hearing it, records it with what its kv held from the
// previous follow-up, and stores this one's parent there (with a TTL).
var chainScripts = map[string]string{
	"scripts/first.js": `import { emit } from "switchboard";
export default function (event) {
  emit("media.followup", { of: event.id });
}
`,
	"scripts/second.js": `import { db, kv } from "switchboard";
export default function (event) {
  db.exec("INSERT INTO chain (event_id, parent, source, seen) VALUES (?, ?, ?, ?)",
    event.id, event.parent, event.source, kv.get("last"));
  kv.set("last", event.payload.of, { ttl: "1h" });
}
`,
}

const chainListeners = `
[[listeners]]
name = "first"
script = "scripts/first.js"
on = ["media.processed"]

[[listeners]]
name = "second"
script = "scripts/second.js"
on = ["media.followup"]
`

// TestServe_EmitAndKVOnEveryBackend: on each queue backend, through a
// real server, a listener's emit() is routed to the listener that hears
// it (as an event of source "emit" whose parent is the webhook's event),
// and what a listener stores in kv it reads back on its next job.
func TestServe_EmitAndKVOnEveryBackend(t *testing.T) {
	for name, queue := range queueBackends(t) {
		t.Run(name, func(t *testing.T) {
			cfg := writeProcConfig(t, procConfig{Queue: queue(t), Listeners: chainListeners, Scripts: chainScripts})
			execAppDB(t, cfg, "CREATE TABLE chain (n INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, parent TEXT, source TEXT, seen TEXT)")
			app := launch(t, cfg, nil)
			var parents []string
			for i := range 2 {
				code, out := post(t, app.App, fmt.Appendf(nil, `{"id":"task_chain_%d","status":"completed"}`, i), true)
				if code != http.StatusOK {
					t.Fatalf("post: %d %v", code, out)
				}
				parents = append(parents, out["event"])
				rows := chainRows(t, app, i+1)
				r := rows[i]
				want := any(nil)
				if i > 0 {
					want = parents[i-1]
				}
				if r["parent"] != out["event"] || r["source"] != "emit" || r["event_id"] == out["event"] || r["seen"] != want {
					t.Fatalf("follow-up %d ran with %v; want a new event of source emit, parent %s, kv holding %v", i, r, out["event"], want)
				}
			}
		})
	}
}

// chainRows waits until the chain table has n rows and returns them in
// insertion order.
func chainRows(t *testing.T, app *launched, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := app.appDB.Query(context.Background(), "SELECT event_id, parent, source, seen FROM chain ORDER BY n")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == n {
			return rows
		}
		if len(rows) > n || time.Now().After(deadline) {
			t.Fatalf("chain rows %v: want %d within 20s", rows, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
