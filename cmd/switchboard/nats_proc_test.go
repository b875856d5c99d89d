package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/jetstream/natstest"
)

// The multi-process tests of the NATS JetStream queue: three real
// switchboard processes share one queue on servers this test runs.

// natsQueueConfig is the [queue] and [nats] text for a shared queue.
func natsQueueConfig(urls []string, replicas int, prefix string) string {
	quoted, _ := json.Marshal(urls)
	return fmt.Sprintf("backend = \"nats\"\n[nats]\nurls = %s\nreplicas = %d\nprefix = %q\ntimeout = \"2s\"\n",
		quoted, replicas, prefix)
}

// natsCluster starts n switchboard processes on one queue, each with its
// own ports and app database (scripts record runs there).
func natsCluster(t *testing.T, n int, queue, listeners string, scripts map[string]string, schema ...string) []*child {
	t.Helper()
	var procs []*child
	for range n {
		listen, adminListen := fixedPorts(t)
		cfg := writeProcConfig(t, procConfig{Listen: listen, AdminListen: adminListen, Queue: queue,
			Listeners: listeners, Scripts: scripts})
		execAppDB(t, cfg, schema...)
		procs = append(procs, newChild(t, cfg))
	}
	// One after another: start fails the test, which only the test's own
	// goroutine may do (concurrent starts: jetstream's TestOpen_ConcurrentStart).
	for _, p := range procs {
		p.start()
	}
	return procs
}

// waitDrained waits until the cluster (as any process's admin API sees
// it) has no pending or running job.
func waitDrained(t *testing.T, p *child, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rep, err := p.admin().Stats(context.Background())
		if err == nil && rep.Stats.States[engine.JobPending] == 0 && rep.Stats.States[engine.JobRunning] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still pending/running %s after the load: %+v, %v", within, rep.Stats.States, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unionRuns reads every process's runs table: event id / listener → rows.
func unionRuns(t *testing.T, procs []*child) (map[string]int, int) {
	t.Helper()
	runs := map[string]int{}
	rows := 0
	for _, p := range procs {
		for _, r := range queryAppDB(t, p.cfg, "SELECT event_id, listener FROM runs") {
			runs[fmt.Sprint(r["event_id"], "/", r["listener"])]++
			rows++
		}
	}
	return runs, rows
}

func stopAll(t *testing.T, procs []*child) {
	t.Helper()
	for _, p := range procs {
		if !p.hasExited() {
			p.signal(syscall.SIGTERM)
		}
	}
	for _, p := range procs {
		if code := p.wait(20 * time.Second); code != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0", code)
		}
	}
}

// checkEveryJobRan fails the test unless every acknowledged event was run
// by each listener at least once.
func checkEveryJobRan(t *testing.T, l *spreadLoad, runs map[string]int, listeners ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acked) == 0 {
		t.Fatal("no webhook was acknowledged")
	}
	var missing []string
	for id := range l.acked {
		for _, name := range listeners {
			if runs[id+"/"+name] == 0 {
				missing = append(missing, id+"/"+name)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("%d acknowledged event×listener jobs never ran (first: %v)", len(missing), missing[:min(10, len(missing))])
	}
	if l.other[http.StatusUnauthorized] > 0 || l.other[http.StatusBadRequest] > 0 {
		t.Fatalf("signed, well-formed posts refused: %v", l.other)
	}
}

const twoRecorders = `
[[listeners]]
name = "first"
script = "scripts/first.js"
on = ["media.processed"]

[[listeners]]
name = "second"
script = "scripts/second.js"
on = ["media.processed"]
`

// TestNATS_KillNine: three processes on one JetStream queue under signed
// load; processes are SIGKILLed at random and restarted. Every event that
// got a 200 is run by both listeners, its jobs taken back from the killed
// processes by the living ones.
func TestNATS_KillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three switchboard processes")
	}
	srv := natstest.Run(t, natstest.Options{SyncAlways: true})
	prefix := fmt.Sprintf("kill%d", time.Now().UnixNano()&0xffffff)
	procs := natsCluster(t, 3, natsQueueConfig([]string{srv.URL()}, 1, prefix), twoRecorders,
		map[string]string{"scripts/first.js": recordScript, "scripts/second.js": recordScript},
		"CREATE TABLE runs (event_id TEXT NOT NULL, listener TEXT NOT NULL, attempt INTEGER NOT NULL)")
	load := newSpreadLoad(procs, 300, crashBody)
	ctx, stopLoad := context.WithCancel(context.Background())
	wg := load.run(ctx, 8)
	const kills = 4
	for range kills {
		time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond)
		p := procs[rand.IntN(len(procs))]
		p.kill()
		p.start()
	}
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	wg.Wait()
	waitDrained(t, procs[0], 60*time.Second)
	stopAll(t, procs)
	runs, rows := unionRuns(t, procs)
	t.Logf("kills=%d acknowledged=%d ran=%d (event×listener) rows=%d conn_errors=%d other=%v",
		kills, len(load.acked), len(runs), rows, load.connErrs, load.other)
	checkEveryJobRan(t, load, runs, "first", "second")
}

// TestNATS_ClusterKill is the cluster test: a three-node cluster
// (replicas = 3) started by the test, three switchboard processes under
// signed load; the node leading the events stream is stopped, then a
// switchboard process is killed, then both come back. Webhooks meanwhile
// get 200 or 503, never a hang; afterwards no acknowledged event is lost
// and every event × listener job ran at least once.
func TestNATS_ClusterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-node NATS cluster and three switchboard processes")
	}
	nodes := natstest.Cluster(t, natstest.Options{})
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL())
	}
	prefix := fmt.Sprintf("clu%d", time.Now().UnixNano()&0xffffff)
	procs := natsCluster(t, 3, natsQueueConfig(urls, 3, prefix), twoRecorders,
		map[string]string{"scripts/first.js": recordScript, "scripts/second.js": recordScript},
		"CREATE TABLE runs (event_id TEXT NOT NULL, listener TEXT NOT NULL, attempt INTEGER NOT NULL)")
	load := newSpreadLoad(procs, 300, crashBody)
	ctx, stopLoad := context.WithCancel(context.Background())
	wg := load.run(ctx, 8)
	time.Sleep(time.Second)

	var leader *natstest.Server
	for _, n := range nodes {
		if n.IsStreamLeader(prefix + "_events") {
			leader = n
		}
	}
	if leader == nil {
		t.Fatal("no node leads the events stream")
	}
	t.Logf("stopping %s, leader of %s_events", leader.Name(), prefix)
	leader.Stop()
	time.Sleep(2 * time.Second)
	victim := procs[rand.IntN(len(procs))]
	victim.kill()
	time.Sleep(time.Second)
	leader.Start(t)
	// The victim starts once the node is back in the cluster: a process
	// that starts against a node still catching up waits for it (up to
	// its 30 s start-up bound), which in a race-enabled test binary
	// running all three servers can take longer than that.
	leader.WaitCurrent(t)
	victim.start()
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()

	waitDrained(t, procs[0], 60*time.Second)
	stopAll(t, procs)
	runs, rows := unionRuns(t, procs)
	load.mu.Lock()
	t.Logf("acknowledged=%d ran=%d (event×listener) rows=%d conn_errors=%d other=%v slowest=%s",
		len(load.acked), len(runs), rows, load.connErrs, load.other, load.slowest)
	slowest := load.slowest
	for code := range load.other {
		if code != http.StatusServiceUnavailable {
			t.Errorf("webhooks answered %d during the faults; want only 200 or 503", code)
		}
	}
	load.mu.Unlock()
	if slowest > 8*time.Second {
		t.Fatalf("a webhook took %s to answer: want 503 within nats.timeout, not a hang", slowest)
	}
	checkEveryJobRan(t, load, runs, "first", "second")
}
