package queuetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engine"
)

var historyTests = []test{
	{"Merge", testHistoryMerge},
	{"Range", testHistoryRange},
}

func hist(ds ...time.Duration) engine.Histogram {
	var h engine.Histogram
	for _, d := range ds {
		h.Observe(d)
	}
	return h
}

func addSamples(t *testing.T, q Queue, s ...engine.Sample) {
	t.Helper()
	if err := q.AddSamples(t.Context(), s); err != nil {
		t.Fatalf("AddSamples: %v", err)
	}
}

func samples(t *testing.T, q Queue, from, to time.Time) []engine.Sample {
	t.Helper()
	s, err := q.Samples(t.Context(), from, to)
	if err != nil {
		t.Fatalf("Samples(%s, %s): %v", from, to, err)
	}
	return s
}

// sameSample compares everything a sample holds; the minute must be
// stored as UTC.
func sameSample(got, want engine.Sample) error {
	if !got.Minute.Equal(want.Minute) || got.Minute.Location() != time.UTC || got.Series != want.Series ||
		got.Count != want.Count || got.Failed != want.Failed || got.Runtime != want.Runtime || got.Wait != want.Wait {
		return fmt.Errorf("sample = %s %s count %d failed %d runtime %d wait %d, want %s %s count %d failed %d runtime %d wait %d",
			got.Minute, got.Series, got.Count, got.Failed, got.Runtime.Total(), got.Wait.Total(),
			want.Minute, want.Series, want.Count, want.Failed, want.Runtime.Total(), want.Wait.Total())
	}
	return nil
}

func wantSamples(t *testing.T, got []engine.Sample, want ...engine.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Samples returned %d samples, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if err := sameSample(got[i], want[i]); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
}

// historyMinutes are three consecutive minutes, an hour ago (inside any
// history retention the suite uses).
func historyMinutes() (m0, m1, m2 time.Time) {
	m0 = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	return m0, m0.Add(time.Minute), m0.Add(2 * time.Minute)
}

// testHistoryMerge: samples of one (Minute, Series) add up, within a call
// and across calls, histograms included; others stay apart.
func testHistoryMerge(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	m0, m1, m2 := historyMinutes()
	addSamples(t, q,
		engine.Sample{Minute: m0, Series: "job:a", Count: 2, Failed: 1, Runtime: hist(10*time.Millisecond, 20*time.Millisecond), Wait: hist(time.Millisecond)},
		engine.Sample{Minute: m0, Series: "job:b", Count: 1, Runtime: hist(time.Second)},
		engine.Sample{Minute: m1, Series: "webhook:x:200", Count: 1},
		engine.Sample{Minute: m1, Series: "webhook:x:200", Count: 2},
	)
	addSamples(t, q,
		engine.Sample{Minute: m0, Series: "job:a", Count: 3, Runtime: hist(10 * time.Millisecond), Wait: hist(time.Minute)},
		engine.Sample{Minute: m1, Series: "webhook:x:200", Count: 3},
	)
	wantSamples(t, samples(t, q, m0, m2),
		engine.Sample{Minute: m0, Series: "job:a", Count: 5, Failed: 1,
			Runtime: hist(10*time.Millisecond, 20*time.Millisecond, 10*time.Millisecond), Wait: hist(time.Millisecond, time.Minute)},
		engine.Sample{Minute: m0, Series: "job:b", Count: 1, Runtime: hist(time.Second)},
		engine.Sample{Minute: m1, Series: "webhook:x:200", Count: 6},
	)
}

// testHistoryRange: Samples returns from <= Minute < to, ordered by
// Minute then Series, whatever order they were added in.
func testHistoryRange(t *testing.T, h Harness) {
	q := h.New(t, Options{})
	m0, m1, m2 := historyMinutes()
	addSamples(t, q,
		engine.Sample{Minute: m2, Series: "job:a", Count: 3},
		engine.Sample{Minute: m1, Series: "webhook:z:503", Count: 22},
		engine.Sample{Minute: m1, Series: "job:b", Count: 21},
		engine.Sample{Minute: m0, Series: "job:a", Count: 1},
		engine.Sample{Minute: m1, Series: "job:a", Count: 2},
	)
	s0 := engine.Sample{Minute: m0, Series: "job:a", Count: 1}
	s1 := []engine.Sample{
		{Minute: m1, Series: "job:a", Count: 2},
		{Minute: m1, Series: "job:b", Count: 21},
		{Minute: m1, Series: "webhook:z:503", Count: 22},
	}
	s2 := engine.Sample{Minute: m2, Series: "job:a", Count: 3}
	wantSamples(t, samples(t, q, m0, m2.Add(time.Minute)), append(append([]engine.Sample{s0}, s1...), s2)...)
	wantSamples(t, samples(t, q, m1, m2), s1...)
	wantSamples(t, samples(t, q, m0, m1), s0)
	wantSamples(t, samples(t, q, m0.Add(time.Second), m2.Add(time.Second)), append(s1, s2)...)
	wantSamples(t, samples(t, q, m2.Add(time.Minute), m2.Add(time.Hour)))
	wantSamples(t, samples(t, q, m1, m1))
}
