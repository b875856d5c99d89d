package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's resolution: each power of two is split into
// 2^subBits buckets, so a recorded value is off by at most 1/2^subBits
// (under 1%).
const subBits = 7

const (
	subCount = 1 << subBits         // buckets per power of two
	linear   = 2 * subCount         // values below this get a bucket each
	nBuckets = linear + 57*subCount // enough for any non-negative int64
)

// Histogram records durations in log-linear buckets, like an HDR
// histogram with about two significant digits. The zero value is empty
// and ready to use; it is not safe for concurrent use (give each goroutine
// its own and Merge them).
type Histogram struct {
	counts []uint64
	n      uint64
	max    time.Duration
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the value at or below which a fraction q (0..1) of the
// recorded values fall, rounded up to its bucket's upper bound (never above
// Max). It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(upperBound(i)), h.max)
		}
	}
	return h.max
}

// bucketOf maps a value to its bucket: values below linear map to
// themselves; above, each power of two has subCount buckets.
func bucketOf(v uint64) int {
	if v < linear {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // ≥ 1
	return linear + (shift-1)*subCount + int(v>>shift) - subCount
}

// upperBound is the largest value that falls in bucket i.
func upperBound(i int) uint64 {
	if i < linear {
		return uint64(i)
	}
	shift := (i-linear)/subCount + 1
	top := uint64((i-linear)%subCount + subCount)
	return (top+1)<<shift - 1
}
