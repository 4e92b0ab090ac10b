package events

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWhoReceivesWhat(t *testing.T) {
	r, err := Run(context.Background(), Config{Transport: &transporttest.Mem{}, Clients: 3, RoundTrips: 20, AckTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Server: 1, Clients: []int{0, 0, 0}},               // a client's emit reaches the server only
		{Server: 1, Clients: []int{0, 1, 1}},               // others see it only when the server relays it
		{Server: 0, Clients: []int{0, 1, 0}},               // one socket
		{Server: 0, Clients: []int{1, 1, 1}},               // all
		{Server: 0, Clients: []int{0, 0, 0}, Unhandled: 1}, // no handler: counted and dropped
	}
	if len(r.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(r.Steps), len(want))
	}
	for i, w := range want {
		g := r.Steps[i]
		if g.Server != w.Server || !slices.Equal(g.Clients, w.Clients) || g.Unhandled != w.Unhandled {
			t.Errorf("%s: got server %d clients %v unhandled %d, want %d %v %d",
				g.Action, g.Server, g.Clients, g.Unhandled, w.Server, w.Clients, w.Unhandled)
		}
	}
	if r.TimedOutIn < 50*time.Millisecond {
		t.Errorf("the unanswered EmitWithAck gave up after %v, before its 50ms timeout", r.TimedOutIn)
	}
	if r.ClientToSrv.Count != 20 || r.SrvToClient.Count != 20 {
		t.Errorf("round trips %d and %d, want 20 each", r.ClientToSrv.Count, r.SrvToClient.Count)
	}
}

// TestInterruptedRunKeepsWhatItMeasured: Ctrl-C during the round trips
// returns the steps and the round trips so far, marked interrupted.
func TestInterruptedRunKeepsWhatItMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := Run(context.Background(), Config{Transport: &transporttest.Mem{}, RoundTrips: 1})
	if err != nil || r.Interrupted {
		t.Fatalf("a whole run: %v, interrupted %v", err, r.Interrupted)
	}
	done := make(chan struct{})
	var res Result
	go func() {
		defer close(done)
		res, err = Run(ctx, Config{Transport: &transporttest.Mem{}, RoundTrips: 1 << 30, RoundTripTime: time.Minute})
	}()
	time.Sleep(800 * time.Millisecond) // past the steps, into the round trips
	cancel()
	stopped := time.Now()
	<-done
	if err != nil {
		t.Fatalf("interrupted run returned %v, want its partial result", err)
	}
	if !res.Interrupted || len(res.Steps) == 0 || res.ClientToSrv.Count == 0 {
		t.Errorf("interrupted run: interrupted %v, %d steps, %d round trips", res.Interrupted, len(res.Steps), res.ClientToSrv.Count)
	}
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("the run took %v to stop after Ctrl-C", d)
	}
}

// TestRoundTripsStopAtTheirTime: a slow transport measures what fits in
// RoundTripTime instead of every round trip asked for.
func TestRoundTripsStopAtTheirTime(t *testing.T) {
	start := time.Now()
	r, err := Run(context.Background(), Config{Transport: &transporttest.Mem{}, RoundTrips: 1 << 30, RoundTripTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.ClientToSrv.Count == 0 || r.SrvToClient.Count == 0 || time.Since(start) > 10*time.Second {
		t.Errorf("counts %d and %d in %v", r.ClientToSrv.Count, r.SrvToClient.Count, time.Since(start))
	}
}
