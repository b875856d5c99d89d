package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogram_Quantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func(record func(time.Duration))
		want   map[float64]time.Duration
		max    time.Duration
	}{
		{
			name:   "empty",
			values: func(func(time.Duration)) {},
			want:   map[float64]time.Duration{0.5: 0, 0.99: 0},
		},
		{
			name:   "one value",
			values: func(r func(time.Duration)) { r(3 * time.Millisecond) },
			want:   map[float64]time.Duration{0.5: 3 * time.Millisecond, 0.999: 3 * time.Millisecond},
			max:    3 * time.Millisecond,
		},
		{
			name: "1..1000 microseconds",
			values: func(r func(time.Duration)) {
				for i := 1; i <= 1000; i++ {
					r(time.Duration(i) * time.Microsecond)
				}
			},
			want: map[float64]time.Duration{
				0.5: 500 * time.Microsecond, 0.99: 990 * time.Microsecond,
				0.999: 999 * time.Microsecond, 1: 1000 * time.Microsecond,
			},
			max: time.Millisecond,
		},
		{
			name: "small exact values",
			values: func(r func(time.Duration)) {
				for i := range 100 {
					r(time.Duration(i))
				}
			},
			want: map[float64]time.Duration{0.5: 49, 0.99: 98, 1: 99},
			max:  99,
		},
		{
			name: "bimodal: 99% fast, 1% slow",
			values: func(r func(time.Duration)) {
				for range 9900 {
					r(time.Millisecond)
				}
				for range 100 {
					r(time.Second)
				}
			},
			want: map[float64]time.Duration{0.5: time.Millisecond, 0.99: time.Millisecond, 0.999: time.Second},
			max:  time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			tt.values(h.Record)
			for q, want := range tt.want {
				assertNear(t, q, h.Quantile(q), want)
			}
			if h.Max() != tt.max {
				t.Errorf("max = %v, want %v", h.Max(), tt.max)
			}
		})
	}
}

// assertNear allows the histogram's resolution: under 1% above the truth,
// never below it.
func assertNear(t *testing.T, q float64, got, want time.Duration) {
	t.Helper()
	if got < want || float64(got-want) > float64(want)/float64(subCount) {
		t.Errorf("quantile %v = %v, want %v (within 1/%d above)", q, got, want, subCount)
	}
}

func TestHistogram_Merge(t *testing.T) {
	var a, b, all Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		d := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m.Count() != all.Count() || m.Max() != all.Max() {
		t.Fatalf("merged count/max = %d/%v, want %d/%v", m.Count(), m.Max(), all.Count(), all.Max())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, direct %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
}

func TestHistogram_BucketBounds(t *testing.T) {
	// Every value lies within its bucket, and buckets are ordered.
	prev := -1
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<20 + 12345, 1 << 40, 1<<63 - 1} {
		i := bucketOf(v)
		if i < prev || i >= nBuckets {
			t.Fatalf("bucketOf(%d) = %d (prev %d, n %d)", v, i, prev, nBuckets)
		}
		prev = i
		if up := upperBound(i); up < v || (v >= linear && float64(up-v) > float64(v)/subCount) {
			t.Errorf("value %d: bucket %d upper bound %d", v, i, up)
		}
		if i > 0 && upperBound(i-1) >= v {
			t.Errorf("value %d: previous bucket's bound %d reaches it", v, upperBound(i-1))
		}
	}
}
