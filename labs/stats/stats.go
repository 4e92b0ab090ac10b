// Package stats records latency samples and summarises them with exact
// percentiles (nearest-rank over every recorded sample, no sketching).
//
// A Recorder is safe for use by multiple goroutines.
package stats

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Recorder collects duration samples. The zero value is ready to use.
type Recorder struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one sample.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

// Samples returns a copy of the recorded samples in the order they were added.
func (r *Recorder) Samples() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// Summary summarises what was recorded so far.
func (r *Recorder) Summary() Summary { return Summarize(r.Samples()) }

// Summary is count, min, mean, p50, p90, p99 and max of a set of samples.
// Percentiles use the nearest-rank method: P(q) is the smallest sample such
// that at least q% of the samples are less than or equal to it, so every
// reported value is one that was really measured.
type Summary struct {
	Count int
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize computes a Summary of samples (which it does not modify).
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	return Summary{
		Count: len(s),
		Min:   s[0],
		Mean:  time.Duration(sum / float64(len(s))),
		P50:   percentileSorted(s, 50),
		P90:   percentileSorted(s, 90),
		P99:   percentileSorted(s, 99),
		Max:   s[len(s)-1],
	}
}

// Percentile returns the nearest-rank p-th percentile of samples, or 0 when
// there are none. p is a percent, a whole number from 1 to 100: pass 50 for
// the median and 99 for p99. A fraction does not compile (0.5 is not an int),
// and Percentile panics on a p outside 1..100, so a median cannot silently
// come out as the 0.5th percentile.
func Percentile(samples []time.Duration, p int) time.Duration {
	if p < 1 || p > 100 {
		panic(fmt.Sprintf("stats.Percentile(samples, %d): p is a percent from 1 to 100 (pass 50 for the median)", p))
	}
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return percentileSorted(s, p)
}

func percentileSorted(s []time.Duration, p int) time.Duration {
	// Nearest rank: the smallest rank r with r/n >= p/100, in integers.
	rank := (p*len(s) + 99) / 100
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// Bucket is one bar of a histogram: samples in [Lo, Hi).
type Bucket struct {
	Lo, Hi time.Duration
	Count  int
}

// Histogram sorts samples into at most n buckets whose bounds grow
// geometrically from the smallest to the largest sample, so a long tail and a
// tight cluster both stay readable. Empty buckets at either end are trimmed.
func Histogram(samples []time.Duration, n int) []Bucket {
	if len(samples) == 0 || n < 1 {
		return nil
	}
	lo, hi := slices.Min(samples), slices.Max(samples)
	if lo <= 0 {
		lo = 1
	}
	if hi <= lo {
		return []Bucket{{Lo: lo, Hi: lo + 1, Count: len(samples)}}
	}
	// Bounds b[i] = lo * ratio^i, with b[n] just above hi.
	ratio := math.Pow(float64(hi)/float64(lo), 1/float64(n))
	buckets := make([]Bucket, n)
	for i := range buckets {
		buckets[i].Lo = time.Duration(float64(lo) * math.Pow(ratio, float64(i)))
		buckets[i].Hi = time.Duration(float64(lo) * math.Pow(ratio, float64(i+1)))
	}
	buckets[0].Lo = lo
	buckets[n-1].Hi = hi + 1
	for _, d := range samples {
		i := 0
		if d > lo {
			i = int(math.Log(float64(d)/float64(lo)) / math.Log(ratio))
		}
		i = max(0, min(i, n-1))
		// Correct for floating point at the edges.
		for i > 0 && d < buckets[i].Lo {
			i--
		}
		for i < n-1 && d >= buckets[i].Hi {
			i++
		}
		buckets[i].Count++
	}
	first, last := 0, n-1
	for first < last && buckets[first].Count == 0 {
		first++
	}
	for last > first && buckets[last].Count == 0 {
		last--
	}
	return buckets[first : last+1]
}
