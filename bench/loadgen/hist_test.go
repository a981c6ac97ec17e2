package main

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v uint64) {
		i := bucketIndex(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("bucketRange(bucketIndex(%d)=%d) = [%d, %d], does not hold %d", v, i, lo, hi, v)
		}
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucketRange(%d) = [%d, %d], wider than 1/%d", i, lo, hi, subBuckets)
		}
		if i > 0 {
			if _, prevHi := bucketRange(i - 1); prevHi+1 != lo {
				t.Fatalf("bucket %d starts at %d, bucket %d ends at %d: not contiguous", i, lo, i-1, prevHi)
			}
		}
	}
	for v := range uint64(4096) {
		check(v)
	}
	for range 100000 {
		check(rng.Uint64N(maxTracked))
	}
	check(maxTracked)
}

func TestPercentiles(t *testing.T) {
	h := newHistogram()
	// 1..100000 µs in a shuffled order: the p-th percentile is p*1000 µs.
	vals := make([]time.Duration, 100000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.record(v)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{90, 90 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.9, 99900 * time.Microsecond},
		{100, 100 * time.Millisecond},
		{0.001, time.Microsecond},
	} {
		got := h.percentile(tc.p)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 1.0/subBuckets {
			t.Errorf("percentile(%v) = %v, want %v within %.2f%%", tc.p, got, tc.want, 100.0/subBuckets)
		}
	}
	if h.n != 100000 || h.min != uint64(time.Microsecond) || h.max != uint64(100*time.Millisecond) {
		t.Errorf("n, min, max = %d, %v, %v, want 100000, 1µs, 100ms", h.n, time.Duration(h.min), time.Duration(h.max))
	}
	if got, want := h.mean(), 50000500*time.Nanosecond; got != want {
		t.Errorf("mean() = %v, want %v", got, want)
	}
}

func TestPercentileSmall(t *testing.T) {
	h := newHistogram()
	for _, ms := range []int{4, 1, 3, 2} {
		h.record(time.Duration(ms) * time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{25, time.Millisecond}, // exactly the minimum: clamped
		{50, 2 * time.Millisecond},
		{51, 3 * time.Millisecond},
		{75, 3 * time.Millisecond},
		{99, 4 * time.Millisecond}, // exactly the maximum: clamped
	} {
		got := h.percentile(tc.p)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 1.0/subBuckets {
			t.Errorf("percentile(%v) of {1,2,3,4}ms = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := newHistogram().percentile(50); got != 0 {
		t.Errorf("percentile(50) of empty histogram = %v, want 0", got)
	}
}

func TestMerge(t *testing.T) {
	a, b, all := newHistogram(), newHistogram(), newHistogram()
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i*i) * time.Microsecond
		if i%3 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
		all.record(d)
	}
	m := newHistogram()
	m.merge(a)
	m.merge(newHistogram())
	m.merge(b)
	if m.n != all.n || m.sum != all.sum || m.min != all.min || m.max != all.max {
		t.Errorf("merge: n, sum, min, max = %d %d %d %d, want %d %d %d %d", m.n, m.sum, m.min, m.max, all.n, all.sum, all.min, all.max)
	}
	for _, p := range []float64{1, 50, 90, 99, 100} {
		if got, want := m.percentile(p), all.percentile(p); got != want {
			t.Errorf("merged percentile(%v) = %v, want %v", p, got, want)
		}
	}
}

func TestRecordHuge(t *testing.T) {
	h := newHistogram()
	h.record(time.Hour)
	h.record(-time.Second)
	if got := h.percentile(100); got != time.Hour {
		t.Errorf("percentile(100) after recording 1h = %v, want 1h", got)
	}
	if h.min != 0 {
		t.Errorf("min after recording a negative duration = %d, want 0", h.min)
	}
}

func BenchmarkRecord(b *testing.B) {
	b.ReportAllocs()
	h := newHistogram()
	d := 1234567 * time.Nanosecond
	for b.Loop() {
		h.record(d)
		d += 7919
	}
}
