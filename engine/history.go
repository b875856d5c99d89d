package engine

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Sample is one minute of one series' activity: what the console's charts
// draw. Processes add their samples to the queue's history
// (Queue.AddSamples); samples of the same (Minute, Series) add up.
type Sample struct {
	Minute time.Time `json:"minute"` // start of the minute, UTC
	// Series is "job:<listener>" or "webhook:<source>:<status code>".
	Series string `json:"series"`
	// Count is attempts finished (job series) or requests answered
	// (webhook series).
	Count uint64 `json:"count"`
	// Failed counts the attempts that failed (retried or failed for good).
	Failed uint64 `json:"failed,omitempty"`
	// Runtime holds attempt durations; Wait holds how long each attempt
	// waited from its job becoming due to its start.
	Runtime Histogram `json:"runtime,omitzero"`
	Wait    Histogram `json:"wait,omitzero"`
}

// JobSeries and WebhookSeries name the series of a listener and of a
// source's answers with one status code.
func JobSeries(listener string) string { return "job:" + listener }

// WebhookSeries names the series of a source's answers with status code.
func WebhookSeries(source string, code int) string {
	return "webhook:" + source + ":" + strconv.Itoa(code)
}

// SeriesListener returns the listener of a job series.
func SeriesListener(series string) (string, bool) {
	return strings.CutPrefix(series, "job:")
}

// Add merges o's counts into s (same Minute and Series assumed).
func (s *Sample) Add(o Sample) {
	s.Count += o.Count
	s.Failed += o.Failed
	s.Runtime.Merge(o.Runtime)
	s.Wait.Merge(o.Wait)
}

// Histogram counts durations in HistogramBuckets exponential buckets:
// bucket 0 holds durations under 100µs, bucket i (i ≥ 1) those in
// [100µs·√2^(i-1), 100µs·√2^i), the last one everything longer (about
// five days and up). Quantiles are therefore accurate to within a factor
// of √2, which is what a chart needs, and merging two histograms is
// adding their counts.
type Histogram struct {
	Counts [HistogramBuckets]uint64 `json:"counts"`
}

// HistogramBuckets is the number of buckets of a Histogram.
const HistogramBuckets = 64

const histBase = float64(100 * time.Microsecond)

// IsZero reports whether the histogram holds nothing.
func (h Histogram) IsZero() bool { return h.Total() == 0 }

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) { h.Counts[bucketOf(d)]++ }

// Merge adds o's counts.
func (h *Histogram) Merge(o Histogram) {
	for i, n := range o.Counts {
		h.Counts[i] += n
	}
}

// Total is the number of durations observed.
func (h Histogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile returns an estimate of the q-quantile (0 < q ≤ 1): the
// geometric middle of the bucket it falls in; 0 when empty.
func (h Histogram) Quantile(q float64) time.Duration {
	total := h.Total()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return bucketMid(i)
		}
	}
	return bucketMid(HistogramBuckets - 1)
}

func bucketOf(d time.Duration) int {
	if float64(d) < histBase {
		return 0
	}
	i := int(math.Floor(2*math.Log2(float64(d)/histBase))) + 1
	return min(max(i, 1), HistogramBuckets-1)
}

// bucketMid is a representative duration of bucket i.
func bucketMid(i int) time.Duration {
	if i == 0 {
		return 50 * time.Microsecond
	}
	lo := histBase * math.Pow(math.Sqrt2, float64(i-1))
	return time.Duration(lo * math.Pow(2, 0.25))
}
