package impair

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseStringRoundTrip(t *testing.T) {
	cases := []struct {
		flag, in, want string
		parse          func(string) (Stage, error)
	}{
		{"delay", "20ms", "20ms", func(s string) (Stage, error) { return ParseDelay(s) }},
		{"delay", "1.5s", "1.5s", func(s string) (Stage, error) { return ParseDelay(s) }},
		{"jitter", "5ms", "5ms", func(s string) (Stage, error) { return ParseJitter(s) }},
		{"loss", "5%", "5%", func(s string) (Stage, error) { return ParseLoss(s) }},
		{"loss", "0.05", "5%", func(s string) (Stage, error) { return ParseLoss(s) }},
		{"loss", "0.5%", "0.5%", func(s string) (Stage, error) { return ParseLoss(s) }},
		{"burst", "p=1%,r=30%", "p=1%,r=30%", func(s string) (Stage, error) { return ParseBurst(s) }},
		{"burst", "r=0.3, p=0.01, bad=90%", "p=1%,r=30%,bad=90%", func(s string) (Stage, error) { return ParseBurst(s) }},
		{"dup", "1%", "1%", func(s string) (Stage, error) { return ParseDup(s) }},
		{"reorder", "2%", "2%", func(s string) (Stage, error) { return ParseReorder(s) }},
		{"rate", "1Mbit", "1Mbit", func(s string) (Stage, error) { return ParseRate(s) }},
		{"rate", "1500kbit/s", "1500kbit", func(s string) (Stage, error) { return ParseRate(s) }},
		{"rate", "0.5mbit", "500kbit", func(s string) (Stage, error) { return ParseRate(s) }},
		{"rate", "64bit", "64bit", func(s string) (Stage, error) { return ParseRate(s) }},
		{"cut", "2s+1s", "2s+1s", func(s string) (Stage, error) { return ParseCut(s) }},
		{"cut", "500ms+1.5s", "500ms+1.5s", func(s string) (Stage, error) { return ParseCut(s) }},
	}
	for _, c := range cases {
		s, err := c.parse(c.in)
		if err != nil {
			t.Errorf("parse --%s %q: %v", c.flag, c.in, err)
			continue
		}
		if s.Name() != c.flag || s.String() != c.want {
			t.Errorf("parse --%s %q: got %s %q, want %s %q", c.flag, c.in, s.Name(), s.String(), c.flag, c.want)
		}
		again, err := c.parse(s.String())
		if err != nil || again.String() != s.String() {
			t.Errorf("--%s %q does not read back: %v, %v", c.flag, s.String(), again, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		in, wantErr string
		parse       func(string) error
	}{
		{"150%", "between 0% and 100%", func(s string) error { _, err := ParseLoss(s); return err }},
		{"-1%", "between 0% and 100%", func(s string) error { _, err := ParseLoss(s); return err }},
		{"1.5", "between 0% and 100%", func(s string) error { _, err := ParseDup(s); return err }},
		{"lots", "want a percentage", func(s string) error { _, err := ParseReorder(s); return err }},
		{"NaN", "want a percentage", func(s string) error { _, err := ParseLoss(s); return err }},
		{"-5ms", "cannot be negative", func(s string) error { _, err := ParseDelay(s); return err }},
		{"5", "want a duration", func(s string) error { _, err := ParseJitter(s); return err }},
		{"1Mb", "want a bandwidth", func(s string) error { _, err := ParseRate(s); return err }},
		{"0Mbit", "at least 8bit", func(s string) error { _, err := ParseRate(s); return err }},
		{"2s", "want AT+FOR", func(s string) error { _, err := ParseCut(s); return err }},
		{"2s+0s", "more than 0s", func(s string) error { _, err := ParseCut(s); return err }},
		{"-1s+1s", "cannot be negative", func(s string) error { _, err := ParseCut(s); return err }},
		{"p=1%", "both p and r", func(s string) error { _, err := ParseBurst(s); return err }},
		{"p=1%,r=0%", "never recovers", func(s string) error { _, err := ParseBurst(s); return err }},
		{"p=1%,r=30%,q=2%", "unknown key", func(s string) error { _, err := ParseBurst(s); return err }},
		{"p=101%,r=30%", "between 0% and 100%", func(s string) error { _, err := ParseBurst(s); return err }},
	}
	for _, c := range cases {
		err := c.parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parse %q: got error %v, want one line containing %q", c.in, err, c.wantErr)
		}
	}
	if err := (Config{Loss: 1.5}).Validate(); err == nil || !strings.Contains(err.Error(), "--loss 150%") {
		t.Errorf("Config{Loss: 1.5}.Validate() = %v, want an error naming --loss 150%%", err)
	}
	if err := (Config{Delay: Delay(-time.Millisecond)}).Validate(); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative delay: Validate() = %v, want an error", err)
	}
}

// feed pushes n packets of size bytes, one every gap, through a fresh
// pipeline and returns what left, in order, with the counters.
func feed(cfg Config, n int, size int, gap time.Duration) ([]Packet, Counts) {
	var c Counters
	start := time.Unix(1_700_000_000, 0)
	p := NewPipeline(cfg, start, 0, 0, &c)
	var out []Packet
	for i := 0; i < n; i++ {
		out = p.Push(out, make([]byte, size), start.Add(time.Duration(i)*gap))
	}
	out = p.Flush(out, start.Add(time.Duration(n)*gap))
	return out, c.Load()
}

func indexes(pks []Packet) string {
	var b strings.Builder
	for _, p := range pks {
		fmt.Fprintf(&b, "%d@%d ", p.Index, p.At.UnixNano())
	}
	return b.String()
}

func TestSameSeedSamePattern(t *testing.T) {
	cfg := Config{Loss: 0.1, Burst: Burst{P: 0.02, R: 0.3, Bad: 1}, Dup: 0.05, Reorder: 0.05,
		Delay: Delay(10 * time.Millisecond), Jitter: Jitter(5 * time.Millisecond), Seed: 42}
	a, ca := feed(cfg, 2000, 100, time.Millisecond)
	b, cb := feed(cfg, 2000, 100, time.Millisecond)
	if indexes(a) != indexes(b) || ca != cb {
		t.Fatalf("same seed, different pattern:\n%v\n%v", ca, cb)
	}
	cfg.Seed = 43
	c, _ := feed(cfg, 2000, 100, time.Millisecond)
	if indexes(a) == indexes(c) {
		t.Fatal("seeds 42 and 43 gave the same pattern")
	}
	// Adding a stage does not shift another stage's draws.
	lossOnly, _ := feed(Config{Loss: 0.1, Seed: 42}, 2000, 100, time.Millisecond)
	withDelay, _ := feed(Config{Loss: 0.1, Seed: 42, Delay: Delay(time.Millisecond), Jitter: Jitter(time.Millisecond)}, 2000, 100, time.Millisecond)
	if len(lossOnly) != len(withDelay) {
		t.Fatalf("adding jitter changed which packets are lost: %d vs %d delivered", len(lossOnly), len(withDelay))
	}
	for i := range lossOnly {
		if lossOnly[i].Index != withDelay[i].Index {
			t.Fatalf("adding jitter changed which packets are lost at %d", i)
		}
	}
}

// within checks that got is within k standard deviations of a binomial
// count with n trials and probability p: |got - np| <= k*sqrt(np(1-p)).
func within(t *testing.T, what string, got, n int, p, k float64) {
	t.Helper()
	mean := float64(n) * p
	sigma := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(got)-mean) > k*sigma {
		t.Errorf("%s: %d of %d, want %.0f ± %.0f (%.0f sigma)", what, got, n, mean, k*sigma, k)
	} else {
		t.Logf("%s: %d of %d (expected %.0f ± %.0f at %.0f sigma)", what, got, n, mean, k*sigma, k)
	}
}

func TestRatesMatchSettings(t *testing.T) {
	const n = 100_000
	for _, seed := range []uint64{1, 2, 3} {
		out, c := feed(Config{Loss: 0.05, Seed: seed}, n, 10, time.Millisecond)
		within(t, "loss 5%", n-len(out), n, 0.05, 4)
		if c.Dropped != int64(n-len(out)) {
			t.Errorf("Dropped counter %d, %d missing", c.Dropped, n-len(out))
		}

		out, c = feed(Config{Dup: 0.02, Seed: seed}, n, 10, time.Millisecond)
		within(t, "dup 2%", len(out)-n, n, 0.02, 4)
		if c.Duplicated != int64(len(out)-n) {
			t.Errorf("Duplicated counter %d, %d extra", c.Duplicated, len(out)-n)
		}

		// A reordered datagram is one that leaves after a datagram that
		// entered after it.
		out, c = feed(Config{Reorder: 0.03, Seed: seed}, n, 10, time.Millisecond)
		late, highest := 0, uint64(0)
		for i, p := range out {
			if i > 0 && p.Index < highest {
				late++
			}
			highest = max(highest, p.Index)
		}
		within(t, "reorder 3%", late, n, 0.03, 4)
		if len(out) != n || c.Reordered < int64(late) {
			t.Errorf("reorder lost packets (%d of %d) or miscounted (%d, %d seen)", len(out), n, c.Reordered, late)
		}
	}
}

func TestBurstRunsMatchGilbertElliott(t *testing.T) {
	const n = 200_000
	b := Burst{P: 0.01, R: 0.3, Bad: 1}
	out, _ := feed(Config{Burst: b, Seed: 7}, n, 10, time.Millisecond)
	lost := n - len(out)
	// The loss indicator is a two-state Markov chain with stationary bad
	// probability pi = p/(p+r) and lag-one correlation lambda = 1-p-r, so
	// the variance of the count is n*pi*(1-pi)*(1+lambda)/(1-lambda).
	pi, lambda := b.LossRate(), 1-b.P-b.R
	sigma := math.Sqrt(n * pi * (1 - pi) * (1 + lambda) / (1 - lambda))
	if math.Abs(float64(lost)-n*pi) > 4*sigma {
		t.Errorf("burst loss: %d of %d, want %.0f ± %.0f", lost, n, n*pi, 4*sigma)
	}
	// Runs of consecutive losses: geometric with mean 1/r.
	runs := 0
	seen := make([]bool, n)
	for _, p := range out {
		seen[p.Index] = true
	}
	for i := 0; i < n; i++ {
		if !seen[i] && (i == 0 || seen[i-1]) {
			runs++
		}
	}
	mean := float64(lost) / float64(runs)
	// Std dev of a geometric run length is sqrt(1-r)/r; of the mean over
	// runs, that over sqrt(runs).
	se := math.Sqrt(1-b.R) / b.R / math.Sqrt(float64(runs))
	if math.Abs(mean-b.MeanBurst()) > 4*se {
		t.Errorf("mean burst %.2f packets over %d runs, want %.2f ± %.2f", mean, runs, b.MeanBurst(), 4*se)
	}
	t.Logf("burst: lost %d of %d (%.2f%%), %d runs, mean run %.2f", lost, n, 100*float64(lost)/n, runs, mean)
}

func TestDelayJitterRate(t *testing.T) {
	d, j := 20*time.Millisecond, 10*time.Millisecond
	out, c := feed(Config{Delay: Delay(d), Jitter: Jitter(j), Seed: 1}, 5000, 10, time.Millisecond)
	if len(out) != 5000 || c.Delayed != 5000 {
		t.Fatalf("delay lost or did not count packets: %d out, %d delayed", len(out), c.Delayed)
	}
	var sum time.Duration
	for i, p := range out {
		wait := p.At.Sub(p.In)
		sum += wait
		if p.Index != uint64(i) {
			t.Fatalf("jitter reordered: packet %d left %d-th", p.Index, i)
		}
		if wait < d-j || (wait > d+j && p.At.After(out[max(i-1, 0)].At)) {
			t.Fatalf("packet %d waited %v, want %v ± %v (or right behind the one ahead)", i, wait, d, j)
		}
	}
	if mean := sum / 5000; mean < d-j/2 || mean > d+j {
		t.Errorf("mean delay %v, want about %v", mean, d)
	}

	// 1 Mbit/s: 1250 bytes take 10 ms; sent every 1 ms they queue up.
	out, _ = feed(Config{Rate: 1_000_000}, 100, 1250, time.Millisecond)
	if got, want := out[99].At.Sub(out[0].In), 100*10*time.Millisecond; got != want {
		t.Errorf("100 × 1250 B at 1Mbit took %v, want %v", got, want)
	}
}

func TestCutDropsWhatMeetsIt(t *testing.T) {
	cut := Cut{At: 100 * time.Millisecond, For: 50 * time.Millisecond}
	out, c := feed(Config{Cut: cut}, 300, 10, time.Millisecond)
	if len(out) != 250 || c.Cut != 50 {
		t.Fatalf("cut 100ms+50ms at 1 packet/ms: %d passed, %d cut; want 250, 50", len(out), c.Cut)
	}
	start := time.Unix(1_700_000_000, 0)
	for _, p := range out {
		if cut.Dark(start, p.At) || cut.Dark(start, p.In) {
			t.Fatalf("packet %d passed during the cut", p.Index)
		}
	}
}

func TestConfigString(t *testing.T) {
	c := Config{Loss: 0.05, Delay: Delay(20 * time.Millisecond), Rate: 1e6, Seed: 3}
	if got, want := c.String(), "--loss 5% --delay 20ms --rate 1Mbit --seed 3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Config{}).String(); got != "perfect link" {
		t.Errorf("zero Config String() = %q", got)
	}
}
