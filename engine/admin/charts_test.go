package admin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
	"github.com/switchboard/switchboard/engine/history"
)

// countingStore records the ranges Samples was asked for.
type countingStore struct {
	*fakeStore
	mu    sync.Mutex
	froms []time.Time
}

func (c *countingStore) Samples(ctx context.Context, from, to time.Time) ([]engine.Sample, error) {
	c.mu.Lock()
	c.froms = append(c.froms, from)
	c.mu.Unlock()
	return c.fakeStore.Samples(ctx, from, to)
}

func jobSample(minute time.Time, l string, n, failed uint64, runtime, wait time.Duration) engine.Sample {
	s := engine.Sample{Minute: minute, Series: engine.JobSeries(l), Count: n, Failed: failed}
	for range n {
		s.Runtime.Observe(runtime)
		s.Wait.Observe(wait)
	}
	return s
}

func TestHistory_Report(t *testing.T) {
	now := time.Date(2026, 4, 5, 12, 30, 20, 0, time.UTC)
	m := now.Truncate(time.Minute)
	cs := &countingStore{fakeStore: &fakeStore{}}
	cs.AddSamples(t.Context(), []engine.Sample{
		jobSample(m.Add(-59*time.Minute), "thumb", 10, 0, 20*time.Millisecond, time.Millisecond),
		jobSample(m.Add(-2*time.Minute), "thumb", 6, 3, 200*time.Millisecond, time.Second),
		jobSample(m.Add(-2*time.Minute), "thumb", 4, 1, 200*time.Millisecond, time.Second), // another process, same minute
		jobSample(m.Add(-90*time.Minute), "thumb", 99, 99, time.Hour, time.Hour),           // outside the hour
		{Minute: m.Add(-time.Minute), Series: engine.WebhookSeries("ittybit", 200), Count: 7},
		{Minute: m.Add(-time.Minute), Series: engine.WebhookSeries("ittybit", 401), Count: 2},
	})
	rec, err := history.New(history.Options{Sink: cs.fakeStore, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rec.ObserveAttempt("thumb", engine.Succeeded, time.Second, 200*time.Millisecond) // not flushed yet
	srv, err := New(Options{Store: cs, Token: testToken, History: rec})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.history(t.Context(), "1h", chartRanges["1h"], now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Step != 60 || len(rep.Times) != 60 || !rep.Times[59].Equal(m) || !rep.Times[0].Equal(m.Add(-59*time.Minute)) {
		t.Fatalf("times: step %d, %d buckets, %v … %v", rep.Step, len(rep.Times), rep.Times[0], rep.Times[len(rep.Times)-1])
	}
	if len(rep.Jobs) != 1 || rep.Jobs[0].Listener != "thumb" {
		t.Fatalf("jobs: %+v", rep.Jobs)
	}
	j := rep.Jobs[0]
	if j.Count[0] != 10 || j.Count[57] != 10 || j.Failed[57] != 4 || j.Count[59] != 1 {
		t.Fatalf("counts: first %d, -2m %d/%d, now %d", j.Count[0], j.Count[57], j.Failed[57], j.Count[59])
	}
	if p := j.RuntimeP50[57]; p < 140 || p > 290 {
		t.Fatalf("runtime p50 %vms, want about 200", p)
	}
	if p := j.WaitP95[0]; p < 0.7 || p > 1.5 {
		t.Fatalf("wait p95 %vms, want about 1", p)
	}
	// The last five minutes: 10 at -2m plus the one not flushed.
	if r := j.Recent; r.Count != 11 || r.Failed != 4 || r.Minutes != 5 || r.PerMinute != 11.0/5 {
		t.Fatalf("recent: %+v", r)
	}
	if len(rep.Webhooks) != 2 || rep.Webhooks[0].Code != 200 || rep.Webhooks[0].Total != 7 || rep.Webhooks[1].Code != 401 || rep.Webhooks[1].Count[58] != 2 {
		t.Fatalf("webhooks: %+v", rep.Webhooks)
	}

	// A refresh reads only what has not settled: a few minutes, not the hour.
	cs.froms = nil
	if _, err := srv.history(t.Context(), "1h", chartRanges["1h"], now.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(cs.froms) != 1 || now.Sub(cs.froms[0]) > 5*time.Minute {
		t.Fatalf("refresh read from %v, want the last minutes only", cs.froms)
	}
	rep24, err := srv.history(t.Context(), "24h", chartRanges["24h"], now)
	if err != nil {
		t.Fatal(err)
	}
	// 12:28 falls in the 12:20 bucket; 12:30 (not flushed) in the last.
	if c := rep24.Jobs[0].Count; rep24.Step != 600 || len(rep24.Times) != 144 || c[142] != 10 || c[143] != 1 || c[137] != 10 {
		t.Fatalf("24h: step %d, %d buckets, last three %v", rep24.Step, len(rep24.Times), c[141:])
	}
}

func TestHistory_API(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	resp, body := call(t, ts, "GET", "/api/history?range=24h", bearer)
	if rep := decode[HistoryReport](t, body); resp.StatusCode != 200 || rep.Range != "24h" || len(rep.Times) != 144 || rep.Jobs == nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, ts, "GET", "/api/history?range=7d", bearer); resp.StatusCode != 400 {
		t.Fatalf("bad range: %d", resp.StatusCode)
	}
}

// A cold 24 h chart reads in parallel slices: every minute lands in one.
func TestHistory_ParallelReadLosesNothing(t *testing.T) {
	now := time.Date(2026, 4, 5, 12, 34, 56, 0, time.UTC)
	fs := &fakeStore{}
	var batch []engine.Sample
	for m := now.Truncate(time.Minute).Add(-26 * time.Hour); !m.After(now); m = m.Add(time.Minute) {
		batch = append(batch, engine.Sample{Minute: m, Series: engine.JobSeries("a"), Count: 1})
	}
	fs.AddSamples(t.Context(), batch)
	srv, err := New(Options{Store: fs, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.history(t.Context(), "24h", chartRanges["24h"], now)
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range rep.Jobs[0].Count {
		total += n
	}
	// 143 whole buckets of 10 minutes, and 12:30..12:34 of the current one.
	if total != 143*10+5 {
		t.Fatalf("24h total %d, want %d", total, 143*10+5)
	}
}
