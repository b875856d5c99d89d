package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCluster_KillNine is issue 13's multi-process test: three switchboard
// serve processes on one PostgreSQL schema take signed load spread across
// them while a random one is killed (SIGKILL) every few seconds and
// restarted. Afterwards: every acknowledged event ran on each of its
// listeners at least once; the concurrency = 1 listener's runs never
// overlapped, whichever process ran them; the order_by listener saw each
// key's events in order; and, all three up, the rate-limited listener ran
// at its rate across the three, within 10%.
func TestCluster_KillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	c := newPGCluster(t, 3)
	for i := range c.procs {
		c.start(i)
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext, MaxIdleConnsPerHost: 8,
	}}
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}       // load events answered 200
	orderedAcked := map[string]int{} // key → highest seq acknowledged
	spawn := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	for w := range 6 {
		spawn(func() { // plain load, and now and then a serial event
			for n := 0; ctx.Err() == nil; n++ {
				kind := "load"
				if n%20 == 0 {
					kind = "serial"
				}
				body := fmt.Appendf(nil, `{"id":"task_%d_%d","status":"completed","kind":%q}`, w, n, kind)
				if id, ok := c.post(ctx, client, body); ok && kind == "load" {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	const keys, seqs = 5, 25
	for k := range keys {
		spawn(func() { // each key's events one after the other, each until it is acknowledged
			key := fmt.Sprintf("k%d", k)
			for seq := 1; seq <= seqs && ctx.Err() == nil; {
				body := fmt.Appendf(nil, `{"id":"task_%s_%d","status":"completed","kind":"ordered","key":%q,"seq":%d}`, key, seq, key, seq)
				if _, ok := c.post(ctx, client, body); ok {
					mu.Lock()
					orderedAcked[key] = seq
					mu.Unlock()
					seq++
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	const kills = 5
	for range kills {
		time.Sleep(time.Duration(1500+rand.IntN(1500)) * time.Millisecond)
		i := rand.IntN(len(c.procs))
		c.kill(i)
		time.Sleep(300 * time.Millisecond)
		c.start(i)
	}
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	st := c.drain(rand.IntN(3), 90*time.Second)
	t.Logf("after %d kills: %v, %d events", kills, st.States, st.Events)
	for i, p := range c.procs { // any process answers for the whole cluster
		rep, err := p.admin().Stats(context.Background())
		if err != nil || rep.Stats.Events != st.Events || !maps.Equal(rep.Stats.States, st.States) {
			t.Fatalf("process %d's stats: %v %d events (%v); another's: %v %d", i, rep.Stats.States, rep.Stats.Events, err, st.States, st.Events)
		}
	}

	c.checkRuns(acked)
	c.checkSerial()
	c.checkOrdered(orderedAcked, seqs)
	c.checkRate(client)
	for _, p := range c.procs {
		p.signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		if code := p.wait(20 * time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0", code)
		}
	}
}

// checkRuns: every acknowledged load event ran on first and second.
func (c *pgCluster) checkRuns(acked map[string]bool) {
	c.t.Helper()
	ran := map[string]int{}
	rows := 0
	c.query(`SELECT event_id, listener FROM `+c.app+`.runs`, func(r pgx.Rows) error {
		var ev, l string
		rows++
		err := r.Scan(&ev, &l)
		ran[ev+"/"+l]++
		return err
	})
	var missing []string
	for id := range acked {
		for _, l := range []string{"first", "second"} {
			if ran[id+"/"+l] == 0 {
				missing = append(missing, id+"/"+l)
			}
		}
	}
	c.t.Logf("%d load events acknowledged, %d event×listener jobs ran (%d runs, %d more than once)", len(acked), len(ran), rows, rows-len(ran))
	if len(acked) == 0 {
		c.t.Fatal("no load event was acknowledged")
	}
	if len(missing) > 0 {
		c.t.Fatalf("%d acknowledged event×listener jobs never ran, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}

// checkSerial: runs of the concurrency = 1 listener never overlap. A run
// whose end is missing was killed; it ended no later than the first kill
// after its start.
func (c *pgCluster) checkSerial() {
	c.t.Helper()
	type span struct{ start, end time.Time }
	spans := map[string]*span{}
	c.query(`SELECT token, phase, at FROM `+c.app+`.spans`, func(r pgx.Rows) error {
		var tok, phase string
		var at time.Time
		if err := r.Scan(&tok, &phase, &at); err != nil {
			return err
		}
		if spans[tok] == nil {
			spans[tok] = &span{}
		}
		if phase == "start" {
			spans[tok].start = at
		} else {
			spans[tok].end = at
		}
		return nil
	})
	list := make([]*span, 0, len(spans))
	killed := 0
	for _, s := range spans {
		if s.end.IsZero() {
			// Cut short by a kill: the one at its start. The server can
			// write a killed process's last statement (the start row) a
			// moment after the kill was recorded, so a kill up to a second
			// before the start counts (kills are 1.5 s or more apart).
			killed++
			for _, k := range c.kills {
				if k.After(s.start.Add(-time.Second)) {
					s.end = maxTime(k, s.start)
					break
				}
			}
		}
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].start.Before(list[j].start) })
	for i := 1; i < len(list); i++ {
		if prev := list[i-1]; prev.end.IsZero() || list[i].start.Before(prev.end) {
			c.t.Fatalf("runs of the concurrency = 1 listener overlap: one ran %s..%s, the next began %s",
				prev.start.Format(time.StampMicro), prev.end.Format(time.StampMicro), list[i].start.Format(time.StampMicro))
		}
	}
	c.t.Logf("%d runs of the concurrency = 1 listener, none overlapping (%d cut short by a kill)", len(list), killed)
	if len(list) < 10 {
		c.t.Fatalf("only %d serial runs", len(list))
	}
}

// checkOrdered: each key's runs come in order (a seq may run again after a
// kill, never after a later one started), and every acknowledged seq ran.
func (c *pgCluster) checkOrdered(acked map[string]int, seqs int) {
	c.t.Helper()
	byKey := map[string][]int{}
	c.query(`SELECT key, seq FROM `+c.app+`.ordered ORDER BY id`, func(r pgx.Rows) error {
		var k string
		var s int
		err := r.Scan(&k, &s)
		byKey[k] = append(byKey[k], s)
		return err
	})
	for k, top := range acked {
		got := byKey[k]
		if !slices.IsSorted(got) {
			c.t.Fatalf("key %s ran out of order: %v", k, got)
		}
		for s := 1; s <= top; s++ {
			if !slices.Contains(got, s) {
				c.t.Fatalf("key %s: acknowledged seq %d never ran: %v", k, s, got)
			}
		}
	}
	c.t.Logf("order_by: %d keys, every one in order (up to %d seqs each)", len(acked), seqs)
}

// checkRate: with all three up, 150 events for the rated listener run at
// its rate across the three: after the bucket's burst, within 10%. The
// listener is paused while they arrive, so that it resumes with a full
// bucket and the whole backlog (posts slower than the rate would let the
// bucket refill between them, and the starts after the burst would count
// the refills).
func (c *pgCluster) checkRate(client *http.Client) {
	c.t.Helper()
	const n = 150
	if _, err := c.procs[0].admin().Pause(context.Background(), "rated"); err != nil {
		c.t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 5 {
				body := fmt.Appendf(nil, `{"id":"task_rated_%d","status":"completed","kind":"rated"}`, i)
				for {
					if _, ok := c.post(context.Background(), client, body); ok {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if _, err := c.procs[1].admin().Resume(context.Background(), "rated"); err != nil {
		c.t.Fatal(err)
	}
	c.drain(0, 60*time.Second)
	var at []time.Time
	c.query(`SELECT at FROM `+c.app+`.rated ORDER BY at`, func(r pgx.Rows) error {
		var t time.Time
		err := r.Scan(&t)
		at = append(at, t)
		return err
	})
	if len(at) < n {
		c.t.Fatalf("%d rated runs, want %d", len(at), n)
	}
	steady := at[clusterRate:] // past the burst
	got := float64(len(steady)-1) / steady[len(steady)-1].Sub(steady[0]).Seconds()
	c.t.Logf("rate = \"%d/s\" across three processes: %.1f runs/s after the burst", clusterRate, got)
	if got < 0.9*clusterRate || got > 1.1*clusterRate {
		c.t.Fatalf("the rated listener ran at %.1f/s across three processes, want %d/s within 10%%", got, clusterRate)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
