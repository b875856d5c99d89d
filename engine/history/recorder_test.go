package history

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

// memSink merges samples as the queue backends do, and can be made to fail.
type memSink struct {
	mu      sync.Mutex
	merged  map[string]engine.Sample // minute|series
	calls   int
	failing error
	flushed chan struct{}
}

func newSink() *memSink {
	return &memSink{merged: map[string]engine.Sample{}, flushed: make(chan struct{}, 100)}
}

func (m *memSink) AddSamples(_ context.Context, samples []engine.Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.failing != nil {
		return m.failing
	}
	for _, s := range samples {
		k := s.Minute.Format(time.RFC3339) + "|" + s.Series
		cur, ok := m.merged[k]
		if !ok {
			cur = engine.Sample{Minute: s.Minute, Series: s.Series}
		}
		cur.Add(s)
		m.merged[k] = cur
	}
	select {
	case m.flushed <- struct{}{}:
	default:
	}
	return nil
}

func (m *memSink) get(minute time.Time, series string) engine.Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.merged[minute.Format(time.RFC3339)+"|"+series]
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var t0 = time.Date(2026, 3, 4, 10, 20, 30, 0, time.UTC)

func newRecorder(t *testing.T, sink Sink, c *clock, maxPending int) *Recorder {
	t.Helper()
	r, err := New(Options{Sink: sink, Every: 10 * time.Millisecond, MaxPending: maxPending, Now: c.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecorder_AggregatesPerMinute(t *testing.T) {
	sink, c := newSink(), &clock{t: t0}
	r := newRecorder(t, sink, c, 0)
	r.ObserveAttempt("thumb", engine.Succeeded, 2*time.Millisecond, 30*time.Millisecond)
	r.ObserveAttempt("thumb", engine.Retry, 3*time.Millisecond, 40*time.Millisecond)
	r.ObserveAttempt("thumb", engine.Failed, 0, 50*time.Millisecond)
	r.ObserveAttempt("thumb", engine.Returned, 0, 0) // never ran: not recorded
	r.ObserveWebhook("ittybit", 200)
	r.ObserveWebhook("ittybit", 200)
	r.ObserveWebhook("ittybit", 401)
	c.set(t0.Add(time.Minute))
	r.ObserveAttempt("thumb", engine.Succeeded, time.Second, time.Second)

	if got := len(r.Pending()); got != 4 {
		t.Fatalf("pending samples: %d, want 4", got)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	m0 := t0.Truncate(time.Minute)
	s := sink.get(m0, "job:thumb")
	if s.Count != 3 || s.Failed != 2 || s.Runtime.Total() != 3 || s.Wait.Total() != 3 {
		t.Fatalf("first minute: %+v", s)
	}
	if q := s.Runtime.Quantile(1); q < 35*time.Millisecond || q > 71*time.Millisecond {
		t.Errorf("runtime max %s, want about 50ms", q)
	}
	if s := sink.get(m0, "webhook:ittybit:200"); s.Count != 2 {
		t.Errorf("webhook 200: %+v", s)
	}
	if s := sink.get(m0, "webhook:ittybit:401"); s.Count != 1 {
		t.Errorf("webhook 401: %+v", s)
	}
	if s := sink.get(m0.Add(time.Minute), "job:thumb"); s.Count != 1 || s.Failed != 0 {
		t.Errorf("second minute: %+v", s)
	}
	if len(r.Pending()) != 0 {
		t.Errorf("flushed samples still pending")
	}
}

func TestRecorder_FailedFlushKeepsSamples(t *testing.T) {
	sink, c := newSink(), &clock{t: t0}
	r := newRecorder(t, sink, c, 0)
	r.ObserveAttempt("a", engine.Succeeded, 0, time.Millisecond)
	sink.failing = errors.New("disk full")
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("flush into a failing sink returned nil")
	}
	r.ObserveAttempt("a", engine.Succeeded, 0, time.Millisecond)
	sink.failing = nil
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := sink.get(t0.Truncate(time.Minute), "job:a"); s.Count != 2 {
		t.Fatalf("after a failed flush and a good one: count %d, want 2", s.Count)
	}
}

func TestRecorder_Bounded(t *testing.T) {
	sink, c := newSink(), &clock{t: t0}
	r := newRecorder(t, sink, c, 3)
	for _, l := range []string{"a", "b", "c", "d", "e"} {
		r.ObserveAttempt(l, engine.Succeeded, 0, time.Millisecond)
	}
	r.ObserveAttempt("a", engine.Succeeded, 0, time.Millisecond) // a known pair still counts
	if n := len(r.Pending()); n != 3 {
		t.Fatalf("pending %d, want the bound 3", n)
	}
	if d := r.Dropped(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
}

func TestRecorder_StartFlushesAndCloseFlushesTheRest(t *testing.T) {
	sink, c := newSink(), &clock{t: t0}
	r := newRecorder(t, sink, c, 0)
	r.Start(t.Context())
	r.ObserveWebhook("gh", 202)
	select {
	case <-sink.flushed:
	case <-time.After(5 * time.Second):
		t.Fatal("the flush loop never flushed")
	}
	r.ObserveWebhook("gh", 202)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if s := sink.get(t0.Truncate(time.Minute), "webhook:gh:202"); s.Count != 2 {
		t.Fatalf("count %d after close, want 2", s.Count)
	}
}

func TestRecorder_NilIsSafe(t *testing.T) {
	var r *Recorder
	r.ObserveAttempt("a", engine.Succeeded, 0, 0)
	r.ObserveWebhook("s", 200)
	r.Start(context.Background())
	if r.Pending() != nil || r.Dropped() != 0 || r.Flush(context.Background()) != nil || r.Close(context.Background()) != nil {
		t.Fatal("nil recorder did something")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a sink returned no error")
	}
}
