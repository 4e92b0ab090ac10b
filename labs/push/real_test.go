package push

import (
	"context"
	"testing"
	"time"

	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/udp"
)

// The lab itself never imports a concrete transport; its tests run it over
// real ones on 127.0.0.1:0.

func TestRunTCPFixedScheduleExactCounts(t *testing.T) {
	cfg := Config{Transport: tcp.New(tcp.Options{}), Rate: 100, Schedule: Fixed, Count: 30, UpRate: 100}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Emitted != 30 || res.Delivered != 30 || res.UpSent != 30 || res.UpReceived != 30 {
		t.Errorf("events %d/%d, upstream %d/%d; want 30/30 both ways",
			res.Delivered, res.Emitted, res.UpReceived, res.UpSent)
	}
	if res.Reordered != 0 || res.Duplicates != 0 {
		t.Errorf("reordered %d duplicates %d over TCP", res.Reordered, res.Duplicates)
	}
	if !res.HasWire || res.Wire.Requests != 0 || res.Wire.EmptyPolls != 0 {
		t.Errorf("wire %+v (has %v): want counted, no requests, no polls", res.Wire, res.HasWire)
	}
	// Each message is one JSON line of at least 16 payload bytes; the
	// client sees events in and upstream out.
	if min := int64(30 * DefaultSize); res.Wire.BytesReceived < min || res.Wire.BytesSent < min {
		t.Errorf("wire bytes sent %d received %d, want >= %d each", res.Wire.BytesSent, res.Wire.BytesReceived, min)
	}
	// Both schedules span about 0.3 s; most upstream arrives in the span.
	if res.UpDuringPush < 15 {
		t.Errorf("upstream while pushing %d of 30, want most", res.UpDuringPush)
	}
	// Generous: a loaded machine may add tens of ms, never seconds.
	if res.Delay.P50 > time.Second {
		t.Errorf("delay p50 %v over loopback TCP", res.Delay.P50)
	}
}

func TestRunUDPCountsLossInsteadOfHiding(t *testing.T) {
	// NoAmplify as netlab's registry sets it: the server may not send a
	// datagram larger than the client's last, so the client pads.
	cfg := Config{Transport: udp.New(udp.Options{NoAmplify: true}), Rate: 100, Schedule: Fixed, Count: 30, Drain: 500 * time.Millisecond}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Emitted != 30 {
		t.Errorf("emitted %d, want 30", res.Emitted)
	}
	if res.Delivered+res.Lost() != res.Emitted || res.UpReceived+res.UpLost() != res.UpSent {
		t.Errorf("delivered %d + lost %d != emitted %d", res.Delivered, res.Lost(), res.Emitted)
	}
	// Loopback rarely drops; most must arrive.
	if res.Delivered < 20 {
		t.Errorf("delivered %d of 30 over loopback UDP", res.Delivered)
	}
	if !res.Padded {
		t.Error("Padded = false over UDP")
	}
	if res.Hellos < 1 {
		t.Errorf("hellos %d, want >= 1: the server learns the client's address from it", res.Hellos)
	}
	notes := Notes([]Result{res})
	found := false
	for _, n := range notes {
		if len(n) > 4 && n[:4] == "udp " {
			found = true
		}
	}
	if !found {
		t.Errorf("notes %q say nothing about what UDP does not promise", notes)
	}
}
