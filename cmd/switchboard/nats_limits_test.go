package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// limitScripts record each attempt's start and end (ms) with the event's
// order key and number; "single" and "ordered" spin a few milliseconds so
// that overlaps would show.
const limitScript = `import { db } from "switchboard";

export default function handle(event, job) {
  const start = Date.now();
  while (Date.now() - start < %d) {}
  db.exec("INSERT INTO spans (listener, k, n, started, ended) VALUES (?, ?, ?, ?, ?)",
    job.listener, event.payload.key, event.payload.n, start, Date.now());
}
`

const limitListeners = `
[[listeners]]
name = "single"
script = "scripts/single.js"
on = ["media.processed"]
concurrency = 1

[[listeners]]
name = "limited"
script = "scripts/limited.js"
on = ["media.processed"]
rate = "20/s"

[[listeners]]
name = "ordered"
script = "scripts/ordered.js"
on = ["media.processed"]
order_by = "key"
`

type span struct {
	k              string
	n              int64
	started, ended int64
}

// spansOf reads every process's spans of listener l, by start.
func spansOf(t *testing.T, procs []*child, l string) []span {
	t.Helper()
	var out []span
	for _, p := range procs {
		for _, r := range queryAppDB(t, p.cfg, "SELECT k, n, started, ended FROM spans WHERE listener = ?", l) {
			out = append(out, span{k: fmt.Sprint(r["k"]), n: toInt(r["n"]), started: toInt(r["started"]), ended: toInt(r["ended"])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].started < out[j].started })
	return out
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// TestNATS_GlobalLimits: with three processes on one queue, a listener's
// concurrency = 1 never overlaps across them, rate = "20/s" holds for the
// cluster within 10%, and an order_by listener sees each key's events one
// at a time in the order they were received.
func TestNATS_GlobalLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three switchboard processes")
	}
	srv := natstest.Run(t, natstest.Options{})
	prefix := fmt.Sprintf("lim%d", time.Now().UnixNano()&0xffffff)
	procs := natsCluster(t, 3, natsQueueConfig([]string{srv.URL()}, 1, prefix), limitListeners,
		map[string]string{
			"scripts/single.js":  fmt.Sprintf(limitScript, 3),
			"scripts/limited.js": fmt.Sprintf(limitScript, 0),
			"scripts/ordered.js": fmt.Sprintf(limitScript, 3),
		},
		"CREATE TABLE spans (listener TEXT, k TEXT, n INTEGER, started INTEGER, ended INTEGER)")
	const events = 160
	body := func(n int64) []byte {
		return fmt.Appendf(nil, `{"id":"task_lim_%d","status":"completed","key":"k%d","n":%d}`, n, n%5, n)
	}
	// The rated listener is paused while the events arrive, so that its
	// bucket is full and its backlog whole when it resumes: then its
	// starts are the burst followed by the rate, however slowly the posts
	// went (posted slower than the rate, the bucket would refill between
	// them and the starts after the first 20 would include its refills).
	if _, err := procs[1].admin().Pause(context.Background(), "limited"); err != nil {
		t.Fatal(err)
	}
	// One sender, so that the order of receipt is the order of n.
	load := newSpreadLoad(procs, 200, body)
	for range events {
		load.postOne(context.Background())
	}
	if len(load.acked) != events {
		t.Fatalf("%d of %d posts acknowledged: %v", len(load.acked), events, load.other)
	}
	if _, err := procs[2].admin().Resume(context.Background(), "limited"); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, procs[0], 60*time.Second)
	stopAll(t, procs)

	single := spansOf(t, procs, "single")
	for i := 1; i < len(single); i++ {
		if single[i].started < single[i-1].ended {
			t.Fatalf("concurrency = 1 overlapped across processes: %+v and %+v", single[i-1], single[i])
		}
	}
	limited := spansOf(t, procs, "limited")
	// Burst of 20, then 20/s: the starts after the burst measure the rate.
	after := limited[20:]
	secs := float64(after[len(after)-1].started-limited[19].started) / 1000
	got := float64(len(after)) / secs
	t.Logf("single: %d runs, none overlapping; limited: %.1f/s over %.1fs after the burst", len(single), got, secs)
	if got < 18 || got > 22 {
		t.Fatalf("rate = \"20/s\" ran %.1f/s across three processes, want within 10%%", got)
	}
	last := map[string]span{}
	for _, s := range spansOf(t, procs, "ordered") {
		if p, ok := last[s.k]; ok && (s.n < p.n || s.started < p.ended) {
			t.Fatalf("key %s: event %d ran after event %d, or overlapped it: %+v then %+v", s.k, s.n, p.n, p, s)
		}
		last[s.k] = s
	}
	if len(single) != events || len(limited) != events || len(spansOf(t, procs, "ordered")) != events {
		t.Fatalf("runs: single %d, limited %d; want %d each", len(single), len(limited), events)
	}
}
