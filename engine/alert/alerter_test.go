package alert

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	hosthttp "github.com/switchboard/switchboard/engine/host/http"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)

// localClient is the SSRF-safe client, allowed to reach the loopback
// test servers.
func localClient(t *testing.T) *http.Client {
	t.Helper()
	return hosthttp.NewClient(hosthttp.Options{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: 5 * time.Second})
}

type rig struct {
	q     *testQueue
	box   *mailbox
	rc    *receiver
	clock *clock
	a     *Alerter
}

func newRig(t *testing.T, rules ...Rule) *rig {
	t.Helper()
	r := &rig{q: newTestQueue(), box: newMailbox(t), rc: newReceiver(t), clock: &clock{t: t0}}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rules {
		rules[i].Targets = []Target{{Mail: "ops@example.com"}, {Webhook: "ops", URL: r.rc.URL + "/hook", Key: key}}
	}
	r.a = r.alerter(t, rules)
	return r
}

func (r *rig) alerter(t *testing.T, rules []Rule) *Alerter {
	t.Helper()
	a, err := New(Options{Queue: r.q, Rules: rules, Mailer: r.box.mailer(t), HTTP: localClient(t),
		Repeat: 30 * time.Minute, Now: r.clock.now, Logger: slog.New(slog.DiscardHandler),
		Listeners: func() []string { return []string{"thumb", "notify"} }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (r *rig) check(t *testing.T) {
	t.Helper()
	if err := r.a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) expect(t *testing.T, types ...string) {
	t.Helper()
	if err := r.rc.errs(); err != nil {
		t.Fatalf("the receiver refused a notification: %v", err)
	}
	if got := strings.Join(r.rc.types(), ","); got != strings.Join(types, ",") {
		t.Fatalf("webhook notifications %q, want %q", got, strings.Join(types, ","))
	}
	if n := len(r.box.messages()); n != len(types) {
		t.Fatalf("%d mails, want %d: %q", n, len(types), subjects(r.box.messages()))
	}
}

func TestAlerter_WaitFiresRepeatsAndRecovers(t *testing.T) {
	r := newRig(t, Rule{Name: "thumbnails waiting", Listener: "thumb", Kind: Wait, Limit: 2 * time.Minute})
	r.q.set(func(q *testQueue) { q.stats.OldestDueBy["thumb"] = t0.Add(-time.Minute) })
	r.check(t)
	r.expect(t) // waited 1m of 2m: quiet

	r.clock.advance(90 * time.Second) // 2m30s
	r.check(t)
	r.expect(t, "alert.firing")
	r.clock.advance(time.Minute)
	r.check(t)
	r.expect(t, "alert.firing") // still firing, before repeat: one notification only

	r.clock.advance(30 * time.Minute)
	r.check(t)
	r.expect(t, "alert.firing", "alert.repeat")

	r.q.set(func(q *testQueue) { delete(q.stats.OldestDueBy, "thumb") })
	r.clock.advance(time.Minute)
	r.check(t)
	r.expect(t, "alert.firing", "alert.repeat", "alert.recovered")
	r.check(t)
	r.expect(t, "alert.firing", "alert.repeat", "alert.recovered")

	subj := subjects(r.box.messages())
	if !strings.Contains(subj[0], "[switchboard] FIRING thumbnails waiting - thumb: the oldest due pending job has waited 2m30s (limit 2m0s)") ||
		!strings.Contains(subj[2], "RECOVERED thumbnails waiting") {
		t.Fatalf("subjects: %q", subj)
	}
	first := r.rc.got[0]["data"].(map[string]any)
	if first["alert"] != "thumbnails waiting" || first["listener"] != "thumb" || first["state"] != "firing" || first["kind"] != "wait" {
		t.Fatalf("firing payload: %v", first)
	}
	if r.rc.ids[0] == r.rc.ids[1] {
		t.Fatalf("two notifications share webhook-id %s", r.rc.ids[0])
	}
}

func TestAlerter_Kinds(t *testing.T) {
	minute := t0.Truncate(time.Minute)
	stats := engine.Stats{
		Listeners:   map[string]map[engine.JobState]int{"thumb": {engine.JobPending: 12}, "notify": {engine.JobPending: 1}},
		OldestDueBy: map[string]time.Time{"thumb": t0.Add(-10 * time.Minute), "notify": t0.Add(-10 * time.Minute)},
		Paused:      map[string]time.Time{"paused": t0},
	}
	stats.OldestDueBy["paused"] = t0.Add(-time.Hour)
	samples := []engine.Sample{
		{Minute: minute.Add(-2 * time.Minute), Series: "job:thumb", Count: 6, Failed: 5},
		{Minute: minute.Add(-20 * time.Minute), Series: "job:thumb", Count: 9, Failed: 9}, // outside a 10m window
		{Minute: minute.Add(-3 * time.Minute), Series: "job:notify", Count: 0},
	}
	v := &view{now: t0, stats: stats, samples: samples}
	tests := []struct {
		name     string
		rule     Rule
		listener string
		firing   bool
	}{
		{"wait over", Rule{Kind: Wait, Limit: 5 * time.Minute}, "thumb", true},
		{"wait under", Rule{Kind: Wait, Limit: 15 * time.Minute}, "thumb", false},
		{"wait nothing due", Rule{Kind: Wait, Limit: time.Second}, "other", false},
		{"failures at limit", Rule{Kind: Failures, Count: 5, Limit: 10 * time.Minute}, "thumb", true},
		{"failures under", Rule{Kind: Failures, Count: 6, Limit: 10 * time.Minute}, "thumb", false},
		{"depth over", Rule{Kind: Depth, Count: 10}, "thumb", true},
		{"depth under", Rule{Kind: Depth, Count: 10}, "notify", false},
		{"stalled: due, nothing finished", Rule{Kind: Stalled, Limit: 5 * time.Minute}, "notify", true},
		{"not stalled: attempts finished", Rule{Kind: Stalled, Limit: 5 * time.Minute}, "thumb", false},
		{"not stalled: due too recently", Rule{Kind: Stalled, Limit: 15 * time.Minute}, "notify", false},
		{"not stalled: paused on purpose", Rule{Kind: Stalled, Limit: 5 * time.Minute}, "paused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rd := v.check(tt.rule, tt.listener); rd.Firing != tt.firing {
				t.Fatalf("firing = %v, want %v (%s)", rd.Firing, tt.firing, rd.Summary)
			}
		})
	}
	got := v.listeners(Rule{}, []string{"thumb", "idle"})
	if strings.Join(got, ",") != "thumb,idle,notify" {
		t.Fatalf("listeners of a rule without one: %v", got)
	}
}

func TestAlerter_EveryListenerOnItsOwn(t *testing.T) {
	r := newRig(t, Rule{Name: "deep", Kind: Depth, Count: 5})
	r.q.set(func(q *testQueue) {
		q.stats.Listeners["thumb"] = map[engine.JobState]int{engine.JobPending: 9}
		q.stats.Listeners["notify"] = map[engine.JobState]int{engine.JobPending: 9}
	})
	r.check(t)
	r.expect(t, "alert.firing", "alert.firing")
	r.q.set(func(q *testQueue) { q.stats.Listeners["notify"][engine.JobPending] = 0 })
	r.check(t)
	r.expect(t, "alert.firing", "alert.firing", "alert.recovered")
	if l := r.rc.got[2]["data"].(map[string]any)["listener"]; l != "notify" {
		t.Fatalf("recovered listener %v, want notify", l)
	}
}

func TestAlerter_RestartKeepsState(t *testing.T) {
	rule := Rule{Name: "deep", Listener: "thumb", Kind: Depth, Count: 5}
	r := newRig(t, rule)
	r.q.set(func(q *testQueue) { q.stats.Listeners["thumb"] = map[engine.JobState]int{engine.JobPending: 9} })
	r.check(t)
	r.expect(t, "alert.firing")

	// A new process over the same queue: no second "firing", and the
	// recovery is still announced.
	rules := []Rule{rule}
	rules[0].Targets = r.a.opts.Rules[0].Targets
	r.a = r.alerter(t, rules)
	r.check(t)
	r.expect(t, "alert.firing")
	r.q.set(func(q *testQueue) { q.stats.Listeners["thumb"][engine.JobPending] = 0 })
	r.check(t)
	r.expect(t, "alert.firing", "alert.recovered")
}

func TestAlerter_OnlyTheOldestProcessNotifies(t *testing.T) {
	r := newRig(t, Rule{Name: "deep", Listener: "thumb", Kind: Depth, Count: 5})
	r.q.set(func(q *testQueue) {
		q.stats.Listeners["thumb"] = map[engine.JobState]int{engine.JobPending: 9}
		q.procs = []engine.Process{
			{ID: "b", Host: "h2", PID: 2, Started: t0.Add(-time.Hour)},
			{ID: "a", Host: "h1", PID: 1, Started: t0},
		}
	})
	r.a.opts.IsSelf = func(p engine.Process) bool { return p.ID == "a" }
	r.check(t)
	r.expect(t)                                           // b is older: it alerts, not us
	r.q.set(func(q *testQueue) { q.procs = q.procs[1:] }) // b died
	r.check(t)
	r.expect(t, "alert.firing")
}

func TestAlerter_FailedNotificationIsRetried(t *testing.T) {
	r := newRig(t, Rule{Name: "deep", Listener: "thumb", Kind: Depth, Count: 5})
	r.a.opts.Rules[0].Targets = []Target{{Webhook: "down", URL: "http://127.0.0.1:1/nothing", Key: []byte("k")}}
	r.q.set(func(q *testQueue) { q.stats.Listeners["thumb"] = map[engine.JobState]int{engine.JobPending: 9} })
	if err := r.a.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "no target took the notification") {
		t.Fatalf("check with an unreachable target: %v", err)
	}
	if len(r.q.kv) != 0 {
		t.Fatal("a notification nobody took was recorded as sent")
	}
}

func TestAlerter_Heartbeat(t *testing.T) {
	var beats atomic.Int32
	hb := newReceiver(t) // any local server will do; count the GETs
	hb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			beats.Add(1)
		}
	})
	q := newTestQueue()
	a, err := New(Options{Queue: q, HTTP: localClient(t), HeartbeatURL: hb.URL + "/ping/abc",
		HeartbeatInterval: 20 * time.Millisecond, Interval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.Start(context.Background())
	waitFor(t, func() bool { return beats.Load() >= 3 }, "three heartbeats")

	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A queue it cannot read: the heartbeat goes silent.
	q.set(func(q *testQueue) { q.failing = context.DeadlineExceeded })
	if err := a.Check(context.Background()); err == nil {
		t.Fatal("check over a failing queue returned nil")
	}
	n := beats.Load()
	a.beat(context.Background())
	if got := beats.Load(); got != n {
		t.Fatalf("a heartbeat went out while the queue failed: %d → %d", n, got)
	}
	q.set(func(q *testQueue) { q.failing = nil })
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.beat(context.Background())
	if got := beats.Load(); got != n+1 {
		t.Fatalf("no heartbeat once the queue answered again: %d → %d", n, got)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
