package stats

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestSummarizeKnownDistribution(t *testing.T) {
	// 1..100 ms: nearest rank gives exactly p50=50, p90=90, p99=99.
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(s)
	want := Summary{Count: 100, Min: 1 * time.Millisecond, Mean: 50500 * time.Microsecond,
		P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("Summarize(1..100ms)\n got %+v\nwant %+v", got, want)
	}
	if s[0] != 100*time.Millisecond {
		t.Fatal("Summarize modified its input")
	}
}

func TestPercentileTable(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	cases := []struct {
		samples []time.Duration
		q       int
		want    time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2), 51, 2 * time.Millisecond},
		{ms(3, 1, 2, 4), 25, 1 * time.Millisecond},
		{ms(3, 1, 2, 4), 75, 3 * time.Millisecond},
		{ms(3, 1, 2, 4), 100, 4 * time.Millisecond},
		{ms(5, 5, 5, 9), 90, 9 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.samples, c.q); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.samples, c.q, got, c.want)
		}
	}
}

func TestPercentileRefusesAFraction(t *testing.T) {
	for _, p := range []int{0, -1, 101} {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("Percentile(samples, %d) did not panic", p)
				}
				if msg, _ := r.(string); !strings.Contains(msg, "pass 50 for the median") {
					t.Fatalf("Percentile(samples, %d) panicked with %q, want it to say how to ask for the median", p, msg)
				}
			}()
			Percentile([]time.Duration{1, 2, 3}, p)
		}()
	}
}

func TestPercentilesOfUniformAndExponential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	uni := make([]time.Duration, n)
	exp := make([]time.Duration, n)
	for i := range uni {
		uni[i] = time.Duration(r.Float64() * float64(time.Second))
		exp[i] = time.Duration(r.ExpFloat64() * float64(time.Second))
	}
	within := func(name string, got, want time.Duration, tol float64) {
		t.Helper()
		if d := float64(got-want) / float64(want); d > tol || d < -tol {
			t.Errorf("%s = %v, want %v ±%.0f%%", name, got, want, tol*100)
		}
	}
	u := Summarize(uni)
	within("uniform p50", u.P50, 500*time.Millisecond, 0.01)
	within("uniform p90", u.P90, 900*time.Millisecond, 0.01)
	within("uniform p99", u.P99, 990*time.Millisecond, 0.01)
	e := Summarize(exp)
	// Exponential(1): quantile q is -ln(1-q).
	within("exponential p50", e.P50, 693147*time.Microsecond, 0.02)
	within("exponential p90", e.P90, 2302585*time.Microsecond, 0.02)
	within("exponential p99", e.P99, 4605170*time.Microsecond, 0.03)
	within("exponential mean", e.Mean, time.Second, 0.02)
}

func TestHistogramCountsEverySample(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s []time.Duration
	for range 5000 {
		s = append(s, time.Duration(50000+r.ExpFloat64()*20000))
	}
	s = append(s, 3*time.Millisecond) // a tail
	b := Histogram(s, 12)
	total := 0
	for i, x := range b {
		total += x.Count
		if x.Lo >= x.Hi {
			t.Errorf("bucket %d: Lo %v >= Hi %v", i, x.Lo, x.Hi)
		}
		if i > 0 && b[i-1].Hi != x.Lo {
			t.Errorf("bucket %d does not start where %d ends", i, i-1)
		}
	}
	if total != len(s) {
		t.Fatalf("histogram holds %d samples, want %d", total, len(s))
	}
	if b[len(b)-1].Count != 1 {
		t.Errorf("last bucket holds %d, want the single tail sample", b[len(b)-1].Count)
	}
}

func TestHistogramSingleValue(t *testing.T) {
	b := Histogram([]time.Duration{5, 5, 5}, 10)
	if len(b) != 1 || b[0].Count != 3 {
		t.Fatalf("Histogram of equal samples = %+v, want one bucket of 3", b)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	var r Recorder
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 1000; i++ {
				r.Add(time.Duration(i))
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	if got := r.Summary().Count; got != 4000 {
		t.Fatalf("Count = %d, want 4000", got)
	}
}
