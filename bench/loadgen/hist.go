package main

import (
	"math/bits"
	"time"
)

// histogram counts latencies in log-linear buckets, as HdrHistogram does:
// values below 2*subBuckets nanoseconds have a bucket each, and every octave
// above is split into subBuckets equal buckets, so a recorded value is known
// to within 1/subBuckets (under 0.8%) of itself. Its memory is allocated
// once; record does not allocate. Minimum, maximum and sum are exact.
//
// A histogram is not safe for concurrent use: each worker has its own and
// they are merged at the end.
type histogram struct {
	counts   []uint64
	n        uint64
	sum      uint64
	min, max uint64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits
	// maxTracked is the largest latency given its own bucket; longer ones are
	// counted in the last bucket (max stays exact). 2^40 ns is about 18 minutes.
	maxTracked = 1<<40 - 1
)

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, bucketIndex(maxTracked)+1)}
}

// bucketIndex returns the bucket of v (nanoseconds).
func bucketIndex(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - (subBits + 1) // >= 1
	return shift<<subBits + int(v>>shift)
}

// bucketRange returns the smallest and largest values of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2*subBuckets {
		return uint64(i), uint64(i)
	}
	shift := i>>subBits - 1
	m := uint64(i - shift<<subBits)
	return m << shift, (m+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.n++
	h.sum += v
	h.counts[bucketIndex(min(v, maxTracked))]++
}

// merge adds the counts of o to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// percentile returns the latency below or at which p percent (0 < p <= 100)
// of the recorded values lie: the midpoint of the bucket holding the value of
// rank ceil(p/100 * n), clamped to the exact minimum and maximum. The
// largest value (p = 100, or any rank in the overflow bucket) is exact.
func (h *histogram) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p / 100 * float64(h.n))
	if float64(rank) < p/100*float64(h.n) {
		rank++
	}
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max)
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && i < len(h.counts)-1 { // the last bucket holds everything longer: report max
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}
