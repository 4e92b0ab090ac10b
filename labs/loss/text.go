package loss

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// timelineWidth is how many marks a timeline line holds.
const timelineWidth = 50

// WriteText prints the result for people: the side-by-side table, the
// timelines, and what the numbers say.
func (res Result) WriteText(w io.Writer) error {
	report.Paragraph(w, fmt.Sprintf("The same %d numbered messages, one every %v, client → server, over each transport through its own copy of the link %s (same seed: same packets lost). The link is a simulated wire between two real TCP/IP stacks (%s loss recovery).", res.Count, res.Interval, res.Link, res.Recovery))
	inFlight := false
	for _, s := range res.Streams {
		inFlight = inFlight || s.InFlight > 0
		if s.Interrupted {
			report.Paragraph(w, fmt.Sprintf("Ctrl-C stopped the run during %s: the figures are what was measured until then; a message still on its way is counted as in flight, not lost.", s.Transport))
		}
	}
	fmt.Fprintln(w)
	t, row := report.SideBySide(res.Streams, func(s Stream) string {
		if s.Interrupted {
			return s.Transport + " (interrupted)"
		}
		return s.Transport
	})
	num := func(f func(s Stream) int) func(Stream) string {
		return func(s Stream) string { return fmt.Sprint(f(s)) }
	}
	lat := func(f func(s Stream) time.Duration) func(Stream) string {
		return func(s Stream) string {
			if s.Latency.Count == 0 {
				return "–"
			}
			return report.Duration(f(s))
		}
	}
	row("sent", num(func(s Stream) int { return s.Sent }))
	row("delivered", num(func(s Stream) int { return s.Delivered }))
	row("lost", num(func(s Stream) int { return s.Lost }))
	if inFlight {
		row("in flight at Ctrl-C", num(func(s Stream) int { return s.InFlight }))
	}
	row("duplicated", num(func(s Stream) int { return s.Duplicated }))
	row("out of order", num(func(s Stream) int { return s.OutOfOrder }))
	row("late (> "+report.Duration(res.Late)+")", num(func(s Stream) int { return s.LateCount }))
	t.Section("one-way delay")
	row("  p50", lat(func(s Stream) time.Duration { return s.Latency.P50 }))
	row("  p99", lat(func(s Stream) time.Duration { return s.Latency.P99 }))
	row("  max", lat(func(s Stream) time.Duration { return s.Latency.Max }))
	t.Section("what the wire did (client → server / back)")
	both := func(f func(c impair.Counts) int64) func(Stream) string {
		return func(s Stream) string { return fmt.Sprintf("%d / %d", f(s.Wire.Up), f(s.Wire.Down)) }
	}
	row("  packets in", both(func(c impair.Counts) int64 { return c.Packets }))
	row("  dropped", both(func(c impair.Counts) int64 { return c.Dropped }))
	row("  duplicated", both(func(c impair.Counts) int64 { return c.Duplicated }))
	row("  reordered", both(func(c impair.Counts) int64 { return c.Reordered }))
	if res.Link.Cut != (impair.Cut{}) {
		row("  met the cut", both(func(c impair.Counts) int64 { return c.Cut }))
	}
	t.Section("what the client's TCP did")
	tcpRow := func(name string, f func(simwire.TCPStats) uint64) {
		row("  "+name, func(s Stream) string {
			if s.Info.Network != "tcp" {
				return "–"
			}
			return fmt.Sprint(f(s.Wire.Client))
		})
	}
	tcpRow("segments sent", func(c simwire.TCPStats) uint64 { return c.SegmentsSent })
	tcpRow("retransmitted", func(c simwire.TCPStats) uint64 { return c.Retransmits })
	tcpRow("  fast (dup ACKs)", func(c simwire.TCPStats) uint64 { return c.FastRetransmits })
	tcpRow("  RTO timeouts", func(c simwire.TCPStats) uint64 { return c.Timeouts })
	tcpRow("SACK recoveries", func(c simwire.TCPStats) uint64 { return c.SACKRecoveries })
	tcpRow("tail loss probes", func(c simwire.TCPStats) uint64 { return c.TLPRecoveries })
	if err := t.Write(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTimeline, one mark per message (%d a line):\n", timelineWidth)
	name := 0
	for _, s := range res.Streams {
		name = max(name, len(s.Transport))
	}
	digits := len(fmt.Sprint(res.Count))
	for _, s := range res.Streams {
		for i := 0; i < len(s.Timeline); i += timelineWidth {
			label := ""
			if i == 0 {
				label = s.Transport
			}
			fmt.Fprintf(w, "  %-*s %*d %s\n", name, label, digits, i+1, s.Timeline[i:min(i+timelineWidth, len(s.Timeline))])
		}
	}
	for _, l := range report.Wrap(Legend(res.Late), report.Width(w), "  ", "  ") {
		fmt.Fprintln(w, l)
	}
	if inFlight {
		fmt.Fprintf(w, "  %c in flight at Ctrl-C: not arrived, not lost (still on its way)\n", MarkInFlight)
	}
	fmt.Fprint(w, "\nWhat happened:\n")
	return report.Bullets(w, "-", res.Explain())
}

// Explain says, with this run's numbers, what each transport did.
func (res Result) Explain() []string {
	var out []string
	var firstUDPLoss, firstTCPStall uint64
	for _, s := range res.Streams {
		if s.Err != nil {
			out = append(out, fmt.Sprintf("%s: %v", s.Transport, s.Err))
			continue
		}
		if s.Sent == 0 {
			continue
		}
		lat := fmt.Sprintf("p50 %s, p99 %s", report.Duration(s.Latency.P50), report.Duration(s.Latency.P99))
		if !s.Info.Reliable {
			line := fmt.Sprintf("%s: %d of %d messages never arrived (%s)", s.Transport, s.Lost, s.Sent, seqList(s.Timeline, MarkNever, 8))
			if s.InFlight > 0 {
				line += fmt.Sprintf(", %d %s on the way when Ctrl-C stopped the run", s.InFlight, were(s.InFlight))
			}
			if s.Up.Cut > 0 {
				line += fmt.Sprintf(", %d of them sent into the %s outage", s.Up.Cut, res.Link.Cut.For)
			}
			if s.OutOfOrder > 0 {
				line += fmt.Sprintf(", %s arrived after a later one", plural(int64(s.OutOfOrder), "message"))
			}
			if s.Duplicated > 0 {
				line += fmt.Sprintf(", %s arrived twice", plural(int64(s.Duplicated), "message"))
			}
			line += fmt.Sprintf("; the %d that came, came at once (%s): nothing waits for a lost datagram, and nobody tells the application it is gone — only the sequence numbers show it.", s.Delivered, lat)
			out = append(out, line)
			if firstUDPLoss == 0 {
				firstUDPLoss = uint64(strings.IndexByte(s.Timeline, MarkNever) + 1)
			}
			continue
		}
		line := fmt.Sprintf("%s: all %d of %d arrived, in order, none twice", s.Transport, s.Delivered, s.Sent)
		if s.InFlight > 0 {
			line = fmt.Sprintf("%s: %d of %d had arrived, in order, none twice, when Ctrl-C stopped the run (%d still on the way)",
				s.Transport, s.Delivered, s.Sent, s.InFlight)
		}
		c := s.Wire.Client
		lostPkts := s.Wire.Up.Dropped + s.Wire.Up.Cut + s.Wire.Down.Dropped + s.Wire.Down.Cut
		if c.Retransmits == 0 && s.LateCount == 0 {
			out = append(out, line+fmt.Sprintf(" (%s): the wire lost %s and TCP resent nothing.", lat, plural(lostPkts, "packet")))
			continue
		}
		var why []string
		if c.Retransmits > 0 {
			how := []string{}
			if c.FastRetransmits > 0 {
				how = append(how, fmt.Sprintf("%d by fast retransmit (the receiver's duplicate ACKs and SACK blocks said what was missing)", c.FastRetransmits))
			}
			if c.Timeouts > 0 {
				// Timeouts counts the timer's firings, not the segments
				// resent after them.
				fired := "once"
				if c.Timeouts > 1 {
					fired = fmt.Sprintf("%d times", c.Timeouts)
				}
				how = append(how, fmt.Sprintf("its retransmission timer fired %s (nothing behind the loss to make duplicate ACKs)", fired))
			}
			if c.TLPRecoveries > 0 {
				how = append(how, fmt.Sprintf("%d by a tail loss probe", c.TLPRecoveries))
			}
			w := fmt.Sprintf("the wire lost %s (%d client → server) and the client's TCP resent %s",
				plural(lostPkts, "packet"), s.Wire.Up.Dropped+s.Wire.Up.Cut, plural(int64(c.Retransmits), "segment"))
			if len(how) > 0 {
				w += ": " + strings.Join(how, "; ")
			}
			why = append(why, w)
		}
		if s.Up.Cut > 0 {
			why = append(why, fmt.Sprintf("%s from the client met the %s outage; TCP's timer doubles each time a resend is lost too (RFC 6298), so TCP came back after the link did",
				plural(s.Up.Cut, "packet"), res.Link.Cut.For))
		}
		if len(why) > 0 {
			line += ", but " + strings.Join(why, "; ")
		}
		line += fmt.Sprintf(": %s waited (head-of-line blocking)", plural(int64(s.LateCount), "message"))
		if len(s.Stalls) > 0 {
			worst := s.Stalls[0]
			for _, st := range s.Stalls {
				if st.Last-st.First > worst.Last-worst.First {
					worst = st
				}
			}
			if worst.First == worst.Last {
				line += fmt.Sprintf("; the longest stall held up message %d, by %s", worst.First, report.Duration(worst.Worst))
			} else {
				line += fmt.Sprintf("; the longest stall held up messages %d to %d, the worst by %s", worst.First, worst.Last, report.Duration(worst.Worst))
			}
			if firstTCPStall == 0 && s.Info.Name == "tcp" {
				firstTCPStall = s.Stalls[0].First
			}
		}
		line += fmt.Sprintf(". Delay p50 %s but p99 %s: reliability is paid for in time.",
			report.Duration(s.Latency.P50), report.Duration(s.Latency.P99))
		out = append(out, line)
	}
	if firstUDPLoss > 0 && firstUDPLoss == firstTCPStall {
		out = append(out, fmt.Sprintf("Same seed, same link: message %d is the first UDP lost and where TCP's first stall begins — the same lost packet, two outcomes.", firstUDPLoss))
	}
	return out
}

// seqList names the sequence numbers marked m in a timeline, runs as
// ranges ("seq 3, 31–60"), at most n items.
func seqList(timeline string, m byte, n int) string {
	var items []string
	for i := 0; i < len(timeline); i++ {
		if timeline[i] != m {
			continue
		}
		j := i
		for j+1 < len(timeline) && timeline[j+1] == m {
			j++
		}
		if len(items) == n {
			items = append(items, "…")
			break
		}
		if j > i {
			items = append(items, fmt.Sprintf("%d–%d", i+1, j+1))
		} else {
			items = append(items, fmt.Sprint(i+1))
		}
		i = j
	}
	if len(items) == 0 {
		return "none"
	}
	return "seq " + strings.Join(items, ", ")
}

// JSON is the --json form of a Result; durations are in the unit their
// field names say.
type JSON struct {
	Config  ConfigJSON   `json:"config"`
	Streams []StreamJSON `json:"streams"`
}

// ConfigJSON is how the run was set up.
type ConfigJSON struct {
	Count      int     `json:"count"`
	IntervalUs float64 `json:"interval_us"`
	SizeBytes  int     `json:"size_bytes"`
	Link       string  `json:"link"`
	LateUs     float64 `json:"late_us"`
	// Recovery is the stacks' TCP loss detection: classic or rack.
	Recovery string `json:"tcp_recovery"`
}

// StreamJSON is one transport's stream in JSON.
type StreamJSON struct {
	Transport  string             `json:"transport"`
	Network    string             `json:"network"`  // tcp or udp: what the transport runs on
	Reliable   bool               `json:"reliable"` // it promises delivery
	Sent       int                `json:"sent"`
	Delivered  int                `json:"delivered"`
	Lost       int                `json:"lost"`
	InFlight   int                `json:"in_flight,omitempty"` // interrupted: not arrived, not lost
	Duplicated int                `json:"duplicated"`
	OutOfOrder int                `json:"out_of_order"`
	Late       int                `json:"late"`
	Latency    report.LatencyJSON `json:"one_way_delay"`
	Timeline   string             `json:"timeline"`
	Stalls     []StallJSON        `json:"stalls"`
	Link       impair.Counts      `json:"link_client_to_server"`
	LinkDown   impair.Counts      `json:"link_server_to_client"`
	ClientTCP  *simwire.TCPStats  `json:"client_tcp,omitempty"`
	ServerTCP  *simwire.TCPStats  `json:"server_tcp,omitempty"`
	QueueDrops uint64             `json:"queue_drops"`
	// TCPProbe is the client TCP sender's state on every ACK that changed it.
	TCPProbe  []SampleJSON `json:"tcp_probe,omitempty"`
	Packets   []PacketJSON `json:"packets,omitempty"`
	ElapsedUs float64      `json:"elapsed_us"`
	// DelayBySeqUs is each message's one-way delay by sequence number (the
	// first is message 1); -1 for one that never arrived.
	DelayBySeqUs []float64 `json:"delay_by_seq_us"`
	// Interrupted: Ctrl-C stopped this stream's run; its counts are what
	// was measured until then.
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"error,omitempty"`
}

// SampleJSON is one sample of the TCP sender's state.
type SampleJSON struct {
	TUs       float64 `json:"t_us"`
	LocalPort uint16  `json:"local_port"` // the client's port: which connection
	CwndSegs  int     `json:"cwnd_segments"`
	// Ssthresh is -1 until the first loss sets it (it starts "infinite").
	Ssthresh    int     `json:"ssthresh_segments"`
	SRTTUs      float64 `json:"srtt_us"`
	RTTVarUs    float64 `json:"rttvar_us"`
	RTOUs       float64 `json:"rto_us"`
	Outstanding int     `json:"outstanding_segments"`
	SACKed      int     `json:"sacked_segments"`
	InRecovery  bool    `json:"in_recovery"`
}

// PacketJSON is one packet on the wire (--ladder).
type PacketJSON struct {
	Dir       string      `json:"dir"`
	Index     uint64      `json:"index"`
	SentUs    float64     `json:"sent_us"`
	ArrivedUs *float64    `json:"arrived_us"` // null: dropped
	Copies    int         `json:"copies"`
	Proto     string      `json:"proto"`
	SrcPort   uint16      `json:"src_port"`
	DstPort   uint16      `json:"dst_port"`
	Flags     string      `json:"flags,omitempty"`
	Seq       uint32      `json:"seq"`
	Ack       uint32      `json:"ack"`
	Len       int         `json:"len"`
	Window    uint16      `json:"window"`
	SACK      [][2]uint32 `json:"sack,omitempty"`
	Options   string      `json:"options,omitempty"`
}

// StallJSON is a run of late messages.
type StallJSON struct {
	FirstSeq uint64  `json:"first_seq"`
	LastSeq  uint64  `json:"last_seq"`
	WorstUs  float64 `json:"worst_us"`
}

// JSON returns the JSON form of res.
func (res Result) JSON() JSON {
	j := JSON{Config: ConfigJSON{Count: res.Count, IntervalUs: report.Micros(res.Interval), SizeBytes: res.Size,
		Link: res.Link.String(), LateUs: report.Micros(res.Late), Recovery: res.Recovery.String()}, Streams: []StreamJSON{}}
	for _, s := range res.Streams {
		sj := StreamJSON{Transport: s.Transport, Network: s.Info.Network, Reliable: s.Info.Reliable,
			Sent: s.Sent, Delivered: s.Delivered, Lost: s.Lost, InFlight: s.InFlight,
			Duplicated: s.Duplicated, OutOfOrder: s.OutOfOrder, Late: s.LateCount,
			Latency: report.Latency(s.Latency), Timeline: s.Timeline, Link: s.Wire.Up, LinkDown: s.Wire.Down,
			QueueDrops: s.Wire.QueueDrops, ElapsedUs: report.Micros(s.Elapsed), Stalls: []StallJSON{},
			DelayBySeqUs: make([]float64, len(s.BySeq)), Interrupted: s.Interrupted}
		for i, d := range s.BySeq {
			sj.DelayBySeqUs[i] = -1
			if d >= 0 {
				sj.DelayBySeqUs[i] = report.Micros(d)
			}
		}
		if s.Info.Network == "tcp" {
			c, sv := s.Wire.Client, s.Wire.Server
			sj.ClientTCP, sj.ServerTCP = &c, &sv
		}
		for _, p := range s.Probe {
			ssthresh := p.Ssthresh
			if ssthresh >= math.MaxInt32 {
				ssthresh = -1
			}
			sj.TCPProbe = append(sj.TCPProbe, SampleJSON{TUs: report.Micros(p.At), LocalPort: p.LocalPort, CwndSegs: p.Cwnd, Ssthresh: ssthresh,
				SRTTUs: report.Micros(p.SRTT), RTTVarUs: report.Micros(p.RTTVar), RTOUs: report.Micros(p.RTO),
				Outstanding: p.Outstanding, SACKed: p.SACKed, InRecovery: p.InRecovery})
		}
		for _, p := range s.Packets {
			pj := PacketJSON{Dir: p.Dir.String(), Index: p.Index, SentUs: report.Micros(p.Sent), Copies: p.Copies,
				Proto: p.Proto, SrcPort: p.SrcPort, DstPort: p.DstPort, Flags: p.Flags, Seq: p.Seq, Ack: p.Ack, Len: p.Len, Window: p.Window, SACK: p.SACK,
				Options: p.Options}
			if !p.Dropped() {
				a := report.Micros(p.Arrived)
				pj.ArrivedUs = &a
			}
			sj.Packets = append(sj.Packets, pj)
		}
		for _, st := range s.Stalls {
			sj.Stalls = append(sj.Stalls, StallJSON{st.First, st.Last, report.Micros(st.Worst)})
		}
		if s.Err != nil {
			sj.Error = s.Err.Error()
		}
		j.Streams = append(j.Streams, sj)
	}
	return j
}

// were is "was" for one, "were" for more.
func were(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// plural writes "1 segment", "2 segments".
func plural(n int64, noun string) string { return report.Plural(n, noun) }
