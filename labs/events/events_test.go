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
