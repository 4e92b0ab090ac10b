package chart

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/events"
	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/transport/simwire"
)

// aLostSegment is a TCP connection, client port 40000, as the wire traces
// it: three segments of 100 bytes, the second dropped and sent again after
// the third, and the ACKs; and a second connection (port 40001) that
// carried less.
func aLostSegment() loss.Stream {
	const isn = 1000
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	up := func(at int, seq uint32, n int, copies int) simwire.Packet {
		p := simwire.Packet{Dir: simwire.Up, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "PSH,ACK",
			Seq: isn + seq, Len: n, Sent: ms(at), Arrived: ms(at + 5), Copies: copies}
		if copies == 0 {
			p.Arrived = -1
		}
		return p
	}
	ack := func(at int, ack uint32) simwire.Packet {
		return simwire.Packet{Dir: simwire.Down, Proto: "tcp", SrcPort: 80, DstPort: 40000, Flags: "ACK",
			Ack: isn + ack, Sent: ms(at - 5), Arrived: ms(at), Copies: 1}
	}
	return loss.Stream{Transport: "tcp", Packets: []simwire.Packet{
		{Dir: simwire.Up, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "SYN", Seq: isn, Copies: 1},
		{Dir: simwire.Up, Proto: "tcp", SrcPort: 40001, DstPort: 80, Flags: "PSH,ACK", Seq: 9, Len: 10, Copies: 1},
		up(10, 1, 100, 1), up(20, 101, 100, 0), up(30, 201, 100, 1), ack(15, 101), ack(35, 101),
		up(40, 101, 100, 1), ack(45, 301),
	}, Probe: []simwire.Sample{
		{At: ms(15), LocalPort: 40000, Cwnd: 10, Ssthresh: math.MaxInt32, SRTT: ms(10), RTO: ms(200)},
		{At: ms(35), LocalPort: 40000, Cwnd: 5, Ssthresh: 5, SRTT: ms(10), RTO: ms(200), InRecovery: true},
		{At: ms(36), LocalPort: 40001, Cwnd: 99, Ssthresh: 99, SRTT: ms(1), RTO: ms(200)},
	}}
}

func svgOf(t *testing.T, c Chart) string {
	t.Helper()
	b, err := c.Encode("svg")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSequenceMarksTheRetransmission: the Stevens graph counts the data
// segments of the connection that carried the messages, and marks the
// one the wire dropped and the one sent again.
func TestSequenceMarksTheRetransmission(t *testing.T) {
	cs, err := Sequence(loss.Result{Streams: []loss.Stream{aLostSegment(), {Transport: "udp"}}})
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	if strings.Join(cs[0].Series, ",") != "tcp" {
		t.Errorf("series %v, want tcp only (udp has no TCP sender)", cs[0].Series)
	}
	svg := svgOf(t, cs[0])
	for _, want := range []string{">tcp: 4 data segments, 1 retransmitted, 1 dropped by the wire</text>",
		">retransmitted</text>", ">dropped by the wire</text>", ">segment sent</text>",
		">the first retransmission close up (33 ms)</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	f, _ := dataFlow(aLostSegment().Packets)
	if f.port != 40000 || len(f.segments) != 4 || len(f.acks) != 3 || f.rel(f.segments[0].Seq) != 1 {
		t.Errorf("flow: port %d, %d segments, %d ACKs; want 40000, 4, 3, the first byte at 1", f.port, len(f.segments), len(f.acks))
	}
}

// TestCwndFollowsTheDataConnection: the cwnd chart draws the probe of the
// connection that carried the messages, not another one's.
func TestCwndFollowsTheDataConnection(t *testing.T) {
	cs, err := Cwnd(loss.Result{Streams: []loss.Stream{aLostSegment()}})
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	svg := svgOf(t, cs[0])
	for _, want := range []string{">cwnd</text>", ">ssthresh</text>", ">in fast recovery</text>", ">RTO</text>",
		">smoothed RTT</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	// Its segments axis ends at 10 (ticks 0, 5, 10); with the other
	// connection's cwnd of 99 it would tick 0, 50, 100.
	if strings.Contains(svg, ">50</text>") || !strings.Contains(svg, ">10</text>") {
		t.Error("the chart's axis reaches the other connection's cwnd of 99")
	}
}

// TestStreamsMarksHeadOfLine: a message held behind another's packet is
// marked, one that never came is crossed, per transport in the run's order.
func TestStreamsMarksHeadOfLine(t *testing.T) {
	ms := time.Millisecond
	r := loss.StreamsResult{Runs: []loss.StreamsRun{
		{Transport: "quic-streams", Sent: 3, Delivered: 2, BySeq: []time.Duration{5 * ms, -1, 6 * ms}},
		{Transport: "tcp", Sent: 3, Delivered: 3, Late: 2, OwnWait: 1, HeldBehind: 1, BySeq: []time.Duration{40 * ms, 39 * ms, 5 * ms},
			Held: []loss.Stall{{First: 2, Last: 2, Worst: 39 * ms}}},
	}}
	cs, err := Streams(r)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	if strings.Join(cs[0].Series, ",") != "quic-streams,tcp" {
		t.Errorf("series %v, want the run's order", cs[0].Series)
	}
	svg := svgOf(t, cs[0])
	for _, want := range []string{">tcp: 2 late, 1 waited for their own packet, 1 released with an earlier late one</text>",
		">released with an earlier late one</text>", ">never arrived</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

// TestEventsAndCluster: one line per transport each way for events; same
// server and across servers for each cluster run.
func TestEventsAndCluster(t *testing.T) {
	d := []time.Duration{time.Millisecond, 2 * time.Millisecond}
	cs, err := Events([]events.Result{{Transport: "ws", ClientToSrvRTTs: d, SrvToClientRTTs: d},
		{Transport: "poll", ClientToSrvRTTs: d, SrvToClientRTTs: d}})
	if err != nil || len(cs) != 2 || strings.Join(cs[0].Series, ",") != "ws,poll" || strings.Join(cs[1].Series, ",") != "ws,poll" {
		t.Fatalf("events: %d charts, err %v", len(cs), err)
	}
	var res cluster.DemoResult
	res.Runs = make([]cluster.RunResult, 2)
	res.Runs[0].Adapter, res.Runs[0].Load.SameServerSamples, res.Runs[0].Load.CrossServerSamples = "nats", d, d
	res.Runs[1].Adapter, res.Runs[1].Load.SameServerSamples = "none", d
	cs, err = Cluster(&res)
	if err != nil || len(cs) != 2 {
		t.Fatalf("cluster: %d charts, err %v", len(cs), err)
	}
	if got := strings.Join(cs[0].Series, ","); got != "same server,across servers (nats)" {
		t.Errorf("cluster nats series %q", got)
	}
	if got := strings.Join(cs[1].Series, ","); got != "same server" {
		t.Errorf("cluster none series %q (no cross-server deliveries without an adapter)", got)
	}
	if svg := svgOf(t, cs[0]); !strings.Contains(svg, "stroke-dasharray") {
		t.Error("across servers is not dashed")
	}
}
