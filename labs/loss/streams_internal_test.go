package loss

import (
	"testing"
	"time"
)

// TestStreamsTally: on an ordered stream message 2's packet is lost and
// 3, 4 arrive with it; on its own, message 6 is late for its own packet.
func TestStreamsTally(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := time.Millisecond
	sent := []time.Time{{}, t0, t0.Add(2 * ms), t0.Add(4 * ms), t0.Add(6 * ms), t0.Add(8 * ms), t0.Add(10 * ms)}
	arrived := []time.Time{{},
		t0.Add(5 * ms),          // 1 on time
		t0.Add(40 * ms),         // 2 lost, resent
		t0.Add(40*ms + 10*1000), // 3 held behind 2
		t0.Add(40*ms + 20*1000), // 4 held behind 2
		t0.Add(13 * ms),         // 5 on time (its own stream)
		t0.Add(50 * ms)}         // 6 late on its own
	var r StreamsRun
	r.tally(sent, arrived, 20*ms, ms)
	if r.Delivered != 6 || r.Late != 4 || r.OwnWait != 2 || r.HeldBehind != 2 {
		t.Fatalf("delivered %d, late %d, own %d, held behind %d; want 6, 4, 2, 2", r.Delivered, r.Late, r.OwnWait, r.HeldBehind)
	}
	if len(r.Held) != 1 || r.Held[0].First != 3 || r.Held[0].Last != 4 {
		t.Fatalf("held runs %+v, want 3..4", r.Held)
	}
}

// TestOvertaken: messages received after a higher sequence number.
func TestOvertaken(t *testing.T) {
	for _, c := range []struct {
		order []uint64
		want  int
	}{
		{nil, 0},
		{[]uint64{1, 2, 3, 4}, 0},
		{[]uint64{1, 3, 4, 2, 5}, 1}, // 2's packet lost, 3 and 4 handed over first
		{[]uint64{3, 1, 2, 4}, 2},
	} {
		if got := overtaken(c.order); got != c.want {
			t.Errorf("overtaken(%v) = %d, want %d", c.order, got, c.want)
		}
	}
}
