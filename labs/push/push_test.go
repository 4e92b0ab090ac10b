package push

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var reliable = transport.Info{Name: "pipe", Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: true}

func TestRunConnsFixedScheduleExactCounts(t *testing.T) {
	server, client := transporttest.Pipe()
	defer server.Close()
	defer client.Close()
	cfg := Config{Rate: 200, Schedule: Fixed, Count: 40, UpRate: 100}
	res, err := RunConns(context.Background(), cfg, reliable, server, client)
	if err != nil {
		t.Fatal(err)
	}
	if res.Emitted != 40 || res.Delivered != 40 || res.Lost() != 0 {
		t.Errorf("emitted %d, delivered %d, lost %d; want 40, 40, 0", res.Emitted, res.Delivered, res.Lost())
	}
	if res.Duplicates != 0 || res.Reordered != 0 {
		t.Errorf("duplicates %d, reordered %d; want 0, 0", res.Duplicates, res.Reordered)
	}
	if len(res.Delays) != 40 || res.Delay.Count != 40 {
		t.Errorf("%d delay samples, summary count %d; want 40", len(res.Delays), res.Delay.Count)
	}
	if res.UpSent != 40 || res.UpReceived != 40 {
		t.Errorf("upstream sent %d, received %d; want 40, 40", res.UpSent, res.UpReceived)
	}
	if res.Delay.Min < 0 || res.Delay.Max > 5*time.Second {
		t.Errorf("delay range %v..%v is not plausible for an in-memory pipe", res.Delay.Min, res.Delay.Max)
	}
	// Upstream at 100/s runs 0.4 s; the downstream at 200/s runs 0.2 s:
	// some upstream arrived while the downstream flowed, not all.
	if res.UpDuringPush == 0 || res.UpDuringPush >= res.UpReceived {
		t.Errorf("up during push %d of %d; want some but not all", res.UpDuringPush, res.UpReceived)
	}
	if res.HasWire || !math.IsNaN(res.BytesPerMessage()) {
		t.Errorf("HasWire = %v, bytes per message %v; a Pipe counts no bytes", res.HasWire, res.BytesPerMessage())
	}
	if res.Interrupted {
		t.Error("interrupted, want not")
	}
	if len(res.Events) != 40 {
		t.Errorf("%d event times, want one per delivered event (40)", len(res.Events))
	}
	for i, e := range res.Events {
		if e.Sent <= 0 || e.Arrived < e.Sent || e.Arrived-e.Sent != res.Delays[i] {
			t.Errorf("event %d: sent %v, arrived %v, delay %v: want 0 < sent <= arrived, arrived-sent = delay", e.Seq, e.Sent, e.Arrived, res.Delays[i])
		}
	}
}

func TestRunOverTransportDuration(t *testing.T) {
	tr := &transporttest.Mem{Name: "pipe"}
	cfg := Config{Transport: tr, Rate: 100, Schedule: Fixed, Duration: 300 * time.Millisecond, UpRate: -1}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Events at 0, 10 ms, ... 290 ms: exactly 30.
	if res.Emitted != 30 || res.Delivered != 30 {
		t.Errorf("emitted %d, delivered %d; want 30, 30", res.Emitted, res.Delivered)
	}
	if res.UpSent != 0 || res.UpReceived != 0 || !math.IsNaN(res.Overlap()) {
		t.Errorf("upstream sent %d received %d overlap %v; want none", res.UpSent, res.UpReceived, res.Overlap())
	}
}

func TestRunInterruptedReturnsPartial(t *testing.T) {
	tr := &transporttest.Mem{Name: "pipe"}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := Run(ctx, Config{Transport: tr, Rate: 50, Schedule: Fixed, Count: 1000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !res.Interrupted {
		t.Error("Interrupted = false, want true")
	}
	if res.Emitted == 0 || res.Emitted >= 1000 || res.Delivered == 0 {
		t.Errorf("emitted %d delivered %d; want some of 1000", res.Emitted, res.Delivered)
	}
}

func TestConfigErrors(t *testing.T) {
	tr := &transporttest.Mem{Name: "mem"} // MaxMessage 1 MiB
	for _, cfg := range []Config{
		{},
		{Transport: tr, Rate: -1},
		{Transport: tr, Rate: math.Inf(1)},
		{Transport: tr, Count: -1},
		{Transport: tr, Size: 1<<20 + 1},
		{Transport: tr, Count: maxEvents + 1},
		{Transport: tr, Schedule: Schedule(7)},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v) = nil error, want one", cfg)
		}
	}
}

func TestOffsetsFixed(t *testing.T) {
	got := Offsets(Fixed, 4, 0, 3, 0)
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("offset %d = %v, want %v", i, got[i], want[i])
		}
	}
	if n := len(Offsets(Fixed, 10, 0, 0, time.Second)); n != 10 {
		t.Errorf("fixed 10/s for 1 s: %d events, want 10", n)
	}
}

// TestOffsetsPoisson checks the Poisson schedule's statistics. With n
// exponential gaps of mean 1/rate, the sample mean has a standard deviation
// of (1/rate)/sqrt(n): 1% for n = 10,000. The bounds are 5%, five standard
// deviations, for every seed tried.
func TestOffsetsPoisson(t *testing.T) {
	const rate, n = 100.0, 10000
	for seed := int64(1); seed <= 5; seed++ {
		off := Offsets(Poisson, rate, seed, n, 0)
		if len(off) != n {
			t.Fatalf("seed %d: %d offsets, want %d", seed, len(off), n)
		}
		var prev time.Duration
		var gaps []float64
		for _, o := range off {
			if o < prev {
				t.Fatalf("seed %d: offsets go backwards", seed)
			}
			gaps = append(gaps, (o - prev).Seconds())
			prev = o
		}
		mean, sd := meanSD(gaps)
		// An exponential distribution's standard deviation equals its mean.
		if math.Abs(mean*rate-1) > 0.05 {
			t.Errorf("seed %d: mean gap %.4f s, want 1/%v s ± 5%%", seed, mean, rate)
		}
		if math.Abs(sd/mean-1) > 0.05 {
			t.Errorf("seed %d: gap sd/mean %.3f, want 1 ± 0.05", seed, sd/mean)
		}
		// Same seed, same schedule.
		again := Offsets(Poisson, rate, seed, n, 0)
		if again[n-1] != off[n-1] {
			t.Errorf("seed %d: two schedules differ", seed)
		}
	}
	if a, b := Offsets(Poisson, rate, 1, 10, 0), Offsets(Poisson, rate, 2, 10, 0); a[0] != 0 || a[1] == b[1] {
		t.Error("want the first event at once, then seeds 1 and 2 to differ")
	}
	// Over a duration the count is Poisson(rate·d): mean 1000, sd ≈ 32;
	// allow 5 sd.
	for seed := int64(1); seed <= 5; seed++ {
		if n := len(Offsets(Poisson, rate, seed, 0, 10*time.Second)); n < 840 || n > 1160 {
			t.Errorf("seed %d: %d events in 10 s at 100/s, want 1000 ± 160", seed, n)
		}
	}
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func TestParseSchedule(t *testing.T) {
	for _, s := range []Schedule{Fixed, Poisson} {
		got, err := ParseSchedule(s.String())
		if err != nil || got != s {
			t.Errorf("ParseSchedule(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseSchedule("burst"); err == nil {
		t.Error("ParseSchedule(burst) = nil error")
	}
}

// TestRunCountsLossExactly drops and duplicates client messages on an
// in-memory link and checks the lab counts exactly what happened; the first
// hello is dropped too, so the client must repeat it.
func TestRunCountsLossExactly(t *testing.T) {
	var hellos atomic.Int32
	tr := &transporttest.Mem{Name: "lossy", Copies: func(m transport.Message) int {
		switch {
		case m.Event == EventHello && hellos.Add(1) == 1:
			return 0
		case m.Event == EventUp && m.Seq%5 == 0:
			return 0
		case m.Event == EventUp && m.Seq%7 == 0:
			return 2
		}
		return 1
	}}
	res, err := Run(context.Background(), Config{Transport: tr, Rate: 200, Schedule: Fixed, Count: 30, Drain: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Hellos < 2 {
		t.Errorf("hellos %d, want >= 2 (the first was dropped)", res.Hellos)
	}
	// Up seqs 5, 10, ... 30 are dropped: 6 of 30. Duplicates (7, 14, 21,
	// 28) count once.
	if res.UpSent != 30 || res.UpReceived != 24 || res.UpLost() != 6 {
		t.Errorf("upstream sent %d received %d lost %d; want 30, 24, 6", res.UpSent, res.UpReceived, res.UpLost())
	}
	if res.Emitted != 30 || res.Delivered != 30 {
		t.Errorf("events %d/%d, want 30/30 (the server→client direction is not impaired)", res.Delivered, res.Emitted)
	}
	if !has(Notes([]Result{res}), "lossy promises neither delivery nor order", "6 of 30 upstream") {
		t.Errorf("notes %q do not count the loss", Notes([]Result{res}))
	}
}

// TestRunVia checks the client dials the address Config.Via returns, and
// that Via is told the network the transport runs on.
func TestRunVia(t *testing.T) {
	var calls atomic.Int32
	var network string
	via := func(ctx context.Context, nw, upstream string) (string, error) {
		calls.Add(1)
		network = nw
		return upstream, nil
	}
	res, err := Run(context.Background(), Config{Transport: &transporttest.Mem{}, Rate: 200, Schedule: Fixed, Count: 10, Via: via})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || network != "tcp" || res.Delivered != 10 || res.UpReceived != 10 {
		t.Errorf("via called %d times with %q, delivered %d, upstream %d; want 1, tcp, 10, 10", calls.Load(), network, res.Delivered, res.UpReceived)
	}
	failing := func(context.Context, string, string) (string, error) { return "", errors.New("no link") }
	if _, err := Run(context.Background(), Config{Transport: &transporttest.Mem{}, Via: failing}); err == nil || !strings.Contains(err.Error(), "no link") {
		t.Errorf("Run with a failing Via: %v, want its error", err)
	}
}

func has(lines []string, parts ...string) bool {
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}
