package loss

// The head-of-line comparison ('netlab loss streams'): the same numbered
// messages, sent faster than a lost packet is recovered, over one ordered
// stream (TCP; QUIC with one stream) and over independent streams (QUIC
// with a stream per message), each through its own copy of the same seeded
// link. For every late message it tells whether it waited for its own
// packet or was held behind another message's.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// Defaults of the head-of-line comparison.
const (
	DefaultStreamsCount    = 300
	DefaultStreamsInterval = 2 * time.Millisecond
)

// DefaultStreamsLink is its link: 2% loss both ways, 5 ms each way, seed 1.
var DefaultStreamsLink = impair.Config{Loss: 0.02, Delay: impair.Delay(5 * time.Millisecond), Seed: 1}

// StreamsConfig is one run of the head-of-line comparison.
type StreamsConfig struct {
	Count    int
	Interval time.Duration
	Size     int
	Link     impair.Config
	// Recovery is the stacks' TCP loss detection on the link; PCAP, if
	// set, gets every packet that crossed it (all transports' runs).
	Recovery simwire.Recovery
	PCAP     *simwire.PCAP
	// Late is the one-way delay above which a message is late; 0 means the
	// link's delay + jitter + 5 ms (a lost packet recovered within a round
	// trip or two shows as late).
	Late time.Duration
	// Handshake, when set, measures each handshake over a link with only
	// the given one-way delay (cmd/netlab supplies QUIC's and TCP+TLS's).
	Handshake func(ctx context.Context, delay time.Duration) ([]HandshakeCost, error)
}

func (c StreamsConfig) withDefaults() StreamsConfig {
	if c.Count == 0 {
		c.Count = DefaultStreamsCount
	}
	if c.Interval == 0 {
		c.Interval = DefaultStreamsInterval
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Late == 0 {
		c.Late = time.Duration(c.Link.Delay) + time.Duration(c.Link.Jitter) + streamsLateMargin
	}
	return c
}

// streamsLateMargin is added to the link's delay and jitter for the
// default lateness threshold.
const streamsLateMargin = 5 * time.Millisecond

// HandshakeCost is how long one kind of connection took before its client
// could send the first byte, over a link whose round trip is RTT.
type HandshakeCost struct {
	Name  string
	Ready time.Duration
	RTT   time.Duration
	// Connect is the part spent on TCP's SYN/SYN-ACK (0 for QUIC).
	Connect time.Duration
	// Note says what the number leaves out, if anything.
	Note string
}

// RoundTrips is Ready in round trips of the link.
func (h HandshakeCost) RoundTrips() float64 {
	if h.RTT <= 0 {
		return 0
	}
	return float64(h.Ready) / float64(h.RTT)
}

// StreamsResult is what the comparison measured.
type StreamsResult struct {
	Count      int
	Interval   time.Duration
	Size       int
	Link       impair.Config
	Late       time.Duration
	Runs       []StreamsRun
	Handshakes []HandshakeCost
	// HandshakeDelay is the one-way delay of the handshake link.
	HandshakeDelay time.Duration
	HandshakeErr   error
}

// StreamsRun is one transport's run.
type StreamsRun struct {
	Transport string
	Info      transport.Info
	Sent      int
	Delivered int
	// Delay is each delivered message's one-way delay (with a stream per
	// message, each stream's delay), on this process's monotonic clock.
	Delay stats.Summary
	Late  int
	// OwnWait counts late messages that waited for their own packet: the
	// first-sent late message of the burst they arrived in.
	OwnWait int
	// HeldBehind counts late messages that arrived in the same burst
	// (within BurstGap of each other) as an earlier-sent late message:
	// their own bytes had arrived, but an ordered stream could not hand
	// them over before the earlier message's lost packet was resent.
	HeldBehind int
	// Held are the runs of held-behind messages, with how long the worst
	// of each waited (its one-way delay).
	Held []Stall
	// Overtaken counts messages handed to the receiver after a later-sent
	// message: taken from the order Recv returned them, not from clocks. An
	// ordered stream never overtakes (it is 0 by the protocol); with a
	// stream per message, a message whose packet got through is handed over
	// while an earlier one's lost packet is being resent.
	Overtaken int
	// Up is what the link did to the client→server packets.
	Up impair.Counts
	// BySeq is each message's one-way delay, indexed by sequence number -
	// 1; -1 for one that never arrived (for the charts).
	BySeq []time.Duration
	// Interrupted reports whether Ctrl-C (ctx) ended this run early: the
	// figures are what was measured until then.
	Interrupted bool
	Err         error
}

// BurstGap groups arrivals: messages arriving this close together were
// released together.
func (r StreamsResult) BurstGap() time.Duration { return burstGap(r.Interval) }

func burstGap(interval time.Duration) time.Duration { return min(interval/2, time.Millisecond) }

// RunStreams sends the messages over each transport in turn. Its error
// joins the runs' errors (each also in its StreamsRun).
func RunStreams(ctx context.Context, cfg StreamsConfig, trs []transport.Transport) (StreamsResult, error) {
	cfg = cfg.withDefaults()
	c := Config{Count: cfg.Count, Interval: cfg.Interval, Size: cfg.Size, Link: cfg.Link, Late: cfg.Late}
	if err := c.Validate(); err != nil {
		return StreamsResult{}, err
	}
	if cfg.Interval <= 0 {
		return StreamsResult{}, errors.New("loss: streams: --interval must be > 0")
	}
	res := StreamsResult{Count: cfg.Count, Interval: cfg.Interval, Size: cfg.Size, Link: cfg.Link, Late: cfg.Late}
	if cfg.Handshake != nil {
		res.HandshakeDelay = max(time.Duration(cfg.Link.Delay), 10*time.Millisecond)
		res.Handshakes, res.HandshakeErr = cfg.Handshake(ctx, res.HandshakeDelay)
	}
	var errs []error
	for _, tr := range trs {
		r := runStreams(ctx, cfg, tr)
		res.Runs = append(res.Runs, r)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		errs = append(errs, r.Err)
	}
	return res, errors.Join(errs...)
}

func runStreams(parent context.Context, cfg StreamsConfig, tr transport.Transport) (r StreamsRun) {
	info := tr.Info()
	r = StreamsRun{Transport: info.Name, Info: info}
	if !info.Reliable {
		r.Err = fmt.Errorf("loss: streams: %s does not promise delivery; this comparison is between reliable streams", info.Name)
		return r
	}
	ctx, cancel := context.WithTimeout(parent, time.Duration(cfg.Count)*cfg.Interval+maxWait)
	defer cancel()
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		r.Err = fmt.Errorf("loss: %s: listen: %w", info.Name, err)
		return r
	}
	defer ln.Close()
	addr := ln.Addr().String()
	// The link outlives ctx until client and server have closed: QUIC's
	// Close waits (up to two seconds) for its peer across it.
	linkCtx, stopLink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLink()
	var link *simwire.Link
	if !cfg.Link.Perfect() {
		link, err = simwire.NewLink(simwire.Options{Impair: cfg.Link, Recovery: cfg.Recovery, PCAP: cfg.PCAP})
		if err == nil {
			addr, err = link.Via()(linkCtx, info.Network, addr)
		}
		if err != nil {
			r.Err = fmt.Errorf("loss: %s: impaired link: %w", info.Name, err)
			return r
		}
	}
	client, err := tr.Dial(ctx, addr)
	if err != nil {
		r.Err = fmt.Errorf("loss: %s: dial: %w", info.Name, err)
		return r
	}
	defer client.Close()

	n := cfg.Count
	sent := make([]time.Time, n+1)
	arrived := make([]time.Time, n+1)
	var order []uint64 // sequence numbers in the order Recv returned them
	var mu sync.Mutex
	all := make(chan struct{})
	go func() {
		sc, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		defer sc.Close()
		got := 0
		for {
			m, err := sc.Recv(ctx)
			if err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			if m.Seq >= 1 && m.Seq <= uint64(n) && arrived[m.Seq].IsZero() {
				arrived[m.Seq] = now
				order = append(order, m.Seq)
				got++
				if got == n {
					close(all)
				}
			}
			mu.Unlock()
		}
	}()

	payload := []byte(strings.Repeat("x", cfg.Size))
	tick := time.NewTicker(cfg.Interval)
	for seq := 1; seq <= n; seq++ {
		if seq > 1 {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		sent[seq] = time.Now()
		mu.Unlock()
		if err := client.Send(ctx, transport.Message{Seq: uint64(seq), Event: "loss", Data: payload}); err != nil {
			r.Err = fmt.Errorf("loss: %s: send %d: %w", info.Name, seq, err)
			break
		}
		r.Sent++
	}
	tick.Stop()
	select {
	case <-all:
	case <-ctx.Done():
	}
	cancel()
	client.Close()
	ln.Close()
	stopLink()
	if link != nil {
		r.Up = link.Up()
	}
	mu.Lock()
	defer mu.Unlock()
	r.Interrupted = parent.Err() != nil
	r.tally(sent[:r.Sent+1], arrived[:r.Sent+1], cfg.Late, burstGap(cfg.Interval))
	r.Overtaken = overtaken(order)
	if r.Err == nil && r.Delivered < r.Sent && parent.Err() == nil {
		r.Err = fmt.Errorf("loss: %s promises delivery, but %d of %d messages did not arrive", info.Name, r.Sent-r.Delivered, r.Sent)
	}
	return r
}

// tally computes delays and sorts late messages into those that waited for
// their own packet and those held behind another's. sent and arrived are
// indexed by sequence number (index 0 unused); a zero arrival is a message
// that never came.
func (r *StreamsRun) tally(sent, arrived []time.Time, late, gap time.Duration) {
	type msg struct {
		seq   int
		at    time.Time
		delay time.Duration
	}
	var got []msg
	var delays []time.Duration
	for seq := 1; seq < len(sent); seq++ {
		if arrived[seq].IsZero() {
			continue
		}
		d := arrived[seq].Sub(sent[seq])
		got = append(got, msg{seq, arrived[seq], d})
		delays = append(delays, d)
	}
	r.Delivered = len(got)
	r.Delay = stats.Summarize(delays)
	r.BySeq = make([]time.Duration, len(sent)-1)
	for seq := 1; seq < len(sent); seq++ {
		r.BySeq[seq-1] = -1
		if !arrived[seq].IsZero() {
			r.BySeq[seq-1] = arrived[seq].Sub(sent[seq])
		}
	}
	held := make([]bool, len(sent))
	slices.SortFunc(got, func(a, b msg) int { return a.at.Compare(b.at) })
	for i := 0; i < len(got); {
		j := i + 1
		for j < len(got) && got[j].at.Sub(got[j-1].at) <= gap {
			j++
		}
		first := -1 // the first-sent late message of this burst
		for _, m := range got[i:j] {
			if m.delay > late && (first < 0 || m.seq < first) {
				first = m.seq
			}
		}
		for _, m := range got[i:j] {
			if m.delay <= late {
				continue
			}
			r.Late++
			if m.seq == first {
				r.OwnWait++
			} else {
				r.HeldBehind++
				held[m.seq] = true
			}
		}
		i = j
	}
	var run *Stall
	for seq := 1; seq < len(sent); seq++ {
		if !held[seq] {
			run = nil
			continue
		}
		if run == nil {
			r.Held = append(r.Held, Stall{First: uint64(seq)})
			run = &r.Held[len(r.Held)-1]
		}
		run.Last = uint64(seq)
		run.Worst = max(run.Worst, arrived[seq].Sub(sent[seq]))
	}
}

// overtaken counts the messages in order (sequence numbers in the order
// they were received) that came after a higher sequence number.
func overtaken(order []uint64) int {
	n := 0
	var highest uint64
	for _, seq := range order {
		if seq < highest {
			n++
		}
		highest = max(highest, seq)
	}
	return n
}

// streamsLabel says how a transport puts the messages on streams.
func streamsLabel(s StreamsRun) string {
	switch {
	case s.Info.Network == "udp" && !s.Info.Ordered:
		return "a stream per message (independent)"
	case s.Info.Network == "udp":
		return "one QUIC stream (ordered)"
	default:
		return "one TCP stream (ordered)"
	}
}

// WriteText prints the comparison: the table, the handshakes and what this
// run's numbers say.
func (res StreamsResult) WriteText(w io.Writer) error {
	report.Paragraph(w, fmt.Sprintf("Head-of-line blocking: the same %d numbered messages, one every %v, client → server, through its own copy of the link %s (same seed: the same places in each packet sequence dropped).", res.Count, res.Interval, res.Link))
	for _, s := range res.Runs {
		if s.Interrupted {
			report.Paragraph(w, fmt.Sprintf("Ctrl-C stopped the run during %s: the figures are what was measured until then; a message sent but not delivered was still on its way.", s.Transport))
		}
	}
	fmt.Fprintln(w)
	t := report.Table{Header: []string{""}}
	for _, s := range res.Runs {
		if s.Interrupted {
			t.Header = append(t.Header, s.Transport+" (interrupted)")
			continue
		}
		t.Header = append(t.Header, s.Transport)
	}
	row := func(name string, f func(s StreamsRun) string) {
		cells := []string{name}
		for _, s := range res.Runs {
			if s.Err != nil && s.Delivered == 0 {
				cells = append(cells, "–")
				continue
			}
			cells = append(cells, f(s))
		}
		t.Row(cells...)
	}
	num := func(f func(s StreamsRun) int) func(StreamsRun) string {
		return func(s StreamsRun) string { return fmt.Sprint(f(s)) }
	}
	dur := func(f func(s StreamsRun) time.Duration) func(StreamsRun) string {
		return func(s StreamsRun) string { return report.Duration(f(s)) }
	}
	row("messages on", func(s StreamsRun) string {
		if s.Info.Network == "udp" && !s.Info.Ordered {
			return fmt.Sprintf("%d streams", s.Sent)
		}
		return "1 stream"
	})
	row("sent / delivered", func(s StreamsRun) string { return fmt.Sprintf("%d / %d", s.Sent, s.Delivered) })
	row("delivered out of order", num(func(s StreamsRun) int { return s.Overtaken }))
	row("packets dropped (client → server)", func(s StreamsRun) string { return fmt.Sprint(s.Up.Dropped) })
	t.Section("one-way delay per message (per stream)")
	row("  p50", dur(func(s StreamsRun) time.Duration { return s.Delay.P50 }))
	row("  p90", dur(func(s StreamsRun) time.Duration { return s.Delay.P90 }))
	row("  p99", dur(func(s StreamsRun) time.Duration { return s.Delay.P99 }))
	row("  max", dur(func(s StreamsRun) time.Duration { return s.Delay.Max }))
	t.Section("late (> " + report.Duration(res.Late) + ")")
	row("  waited for their own packet", num(func(s StreamsRun) int { return s.OwnWait }))
	row("  released with an earlier late one", num(func(s StreamsRun) int { return s.HeldBehind }))
	t.Notes = append(t.Notes,
		"delivered out of order: handed to the receiver after a message sent later, counted from the order they came out; one ordered stream (TCP, one QUIC stream) never does that, independent streams may.",
		"packets dropped: packets the simulated wire dropped, client → server; TCP resent them by its own fast retransmit or timer, QUIC by its own loss detection (RFC 9002).",
		fmt.Sprintf("released with an earlier late one: arrived within %s of an earlier-sent late message. On one ordered stream that is a message held behind a packet that was not its own; with a stream each, messages whose own packets were resent together.", report.Duration(res.BurstGap())))
	if err := t.Write(w); err != nil {
		return err
	}

	if len(res.Handshakes) > 0 {
		fmt.Fprintf(w, "\nHandshake, over a link with only %s each way (round trip %s):\n", report.Duration(res.HandshakeDelay), report.Duration(2*res.HandshakeDelay))
		h := report.Table{Header: []string{"", "client can send after", "round trips", "of which TCP connect"}}
		for _, c := range res.Handshakes {
			connect := "–"
			if c.Connect > 0 {
				connect = report.Duration(c.Connect)
			}
			h.Row(c.Name, report.Duration(c.Ready), fmt.Sprintf("%.1f", c.RoundTrips()), connect)
			if c.Note != "" {
				h.Notes = append(h.Notes, c.Name+": "+c.Note)
			}
		}
		if err := h.Write(w); err != nil {
			return err
		}
	} else if res.HandshakeErr != nil {
		fmt.Fprintf(w, "\nHandshake not measured: %v\n", res.HandshakeErr)
	}

	fmt.Fprintln(w, "\nWhat happened:")
	return report.Bullets(w, "-", res.StreamsSentences())
}

// StreamsSentences are what this run's numbers say, one sentence each.
func (res StreamsResult) StreamsSentences() []string {
	var out []string
	var ordered, independent *StreamsRun
	for i := range res.Runs {
		s := &res.Runs[i]
		if s.Err != nil {
			out = append(out, fmt.Sprintf("%s: %v", s.Transport, s.Err))
			continue
		}
		held := "released with an earlier late one"
		if s.Info.Ordered {
			held = "held behind a packet that was not theirs"
		}
		were := fmt.Sprintf("%d were", s.HeldBehind)
		if s.HeldBehind == 1 {
			were = "1 was"
		}
		line := fmt.Sprintf("%s (%s): %d of %d messages late; %d waited for their own packet, %s %s",
			s.Transport, streamsLabel(*s), s.Late, s.Delivered, s.OwnWait, were, held)
		if s.Interrupted {
			line = fmt.Sprintf("%s (%s, until Ctrl-C): %d of the %d delivered late (%d of %d sent still on the way); %d waited for their own packet, %s %s",
				s.Transport, streamsLabel(*s), s.Late, s.Delivered, s.Sent-s.Delivered, s.Sent, s.OwnWait, were, held)
		}
		if len(s.Held) > 0 {
			worst := s.Held[0]
			for _, h := range s.Held {
				if h.Last-h.First > worst.Last-worst.First {
					worst = h
				}
			}
			if worst.First == worst.Last {
				line += fmt.Sprintf(" (the longest run: message %d, %s)", worst.First, report.Duration(worst.Worst))
			} else {
				line += fmt.Sprintf(" (the longest run: messages %d to %d, up to %s)", worst.First, worst.Last, report.Duration(worst.Worst))
			}
		}
		out = append(out, line+".")
		if s.Interrupted {
			continue // cut short: not compared with a whole run
		}
		if s.Info.Ordered && (ordered == nil || s.Delay.P99 > ordered.Delay.P99) {
			ordered = s
		}
		if !s.Info.Ordered && independent == nil {
			independent = s
		}
	}
	if ordered != nil && independent != nil && independent.Delay.P99 > 0 {
		if independent.Delay.P99 < ordered.Delay.P99 {
			out = append(out, fmt.Sprintf("With a stream per message, p99 delay was %s against %s over %s's one stream (%.1f× lower): a lost packet held up only the message it carried.",
				report.Duration(independent.Delay.P99), report.Duration(ordered.Delay.P99), ordered.Transport, float64(ordered.Delay.P99)/float64(independent.Delay.P99)))
		} else {
			out = append(out, fmt.Sprintf("In this run independent streams did not help the p99: %s against %s over %s.",
				report.Duration(independent.Delay.P99), report.Duration(ordered.Delay.P99), ordered.Transport))
		}
	}
	var oneQUIC, manyQUIC *StreamsRun
	for i := range res.Runs {
		s := &res.Runs[i]
		if s.Err == nil && !s.Interrupted && s.Info.Network == "udp" {
			if s.Info.Ordered {
				oneQUIC = s
			} else {
				manyQUIC = s
			}
		}
	}
	if oneQUIC != nil && manyQUIC != nil {
		out = append(out, fmt.Sprintf("Over QUIC, one stream held %s behind another's packet; with a stream per message %s came out together with an earlier one: on one stream QUIC orders bytes as TCP does, across streams it does not.",
			report.Plural(oneQUIC.HeldBehind, "message"), report.Plural(manyQUIC.HeldBehind, "late message")))
	}
	var q, t *HandshakeCost
	for i := range res.Handshakes {
		switch c := &res.Handshakes[i]; {
		case strings.HasPrefix(c.Name, "quic"):
			q = c
		case strings.HasPrefix(c.Name, "tcp"):
			t = c
		}
	}
	if q != nil && t != nil {
		line := fmt.Sprintf("Handshake: the QUIC client could send after %.1f round trips (QUIC carries TLS 1.3 in its first packets), the TCP+TLS 1.3 client after %.1f",
			q.RoundTrips(), t.RoundTrips())
		line += " (TCP's SYN/SYN-ACK, then TLS's ClientHello/Finished)"
		out = append(out, line+".")
	}
	return out
}

// StreamsJSON is the comparison's JSON form: Config and Results go into
// the --json envelope. Durations are in microseconds (fields ending _us).
type StreamsJSON struct {
	Config  StreamsConfigJSON  `json:"config"`
	Results StreamsResultsJSON `json:"results"`
}

// StreamsConfigJSON is how the comparison was set up.
type StreamsConfigJSON struct {
	Count      int     `json:"count"`
	IntervalUs float64 `json:"interval_us"`
	Size       int     `json:"size_bytes"`
	Link       string  `json:"link"`
	LateUs     float64 `json:"late_us"`
}

// StreamsResultsJSON is what it measured.
type StreamsResultsJSON struct {
	Runs       []StreamsRunJSON    `json:"runs"`
	Handshakes []HandshakeCostJSON `json:"handshakes"`
	// HandshakeDelayUs is the one-way delay of the handshakes' link.
	HandshakeDelayUs float64 `json:"handshake_delay_us"`
	HandshakeError   string  `json:"handshake_error,omitempty"`
}

// StreamsRunJSON is one run in JSON.
type StreamsRunJSON struct {
	Transport string `json:"transport"`
	// Network and Ordered are what the transport runs on and whether it
	// keeps the messages in order (one stream, or a stream each).
	Network    string             `json:"network"`
	Ordered    bool               `json:"ordered"`
	Streams    int                `json:"streams"`
	Sent       int                `json:"sent"`
	Delivered  int                `json:"delivered"`
	Overtaken  int                `json:"out_of_order"`
	Dropped    int64              `json:"packets_dropped"`
	Delay      report.LatencyJSON `json:"delay"`
	Late       int                `json:"late"`
	OwnWait    int                `json:"late_own_packet"`
	HeldBehind int                `json:"late_held_behind"`
	// HeldRuns are the runs of held-behind messages; DelayBySeqUs each
	// message's one-way delay by sequence number, -1 if it never arrived.
	HeldRuns     []StallJSON `json:"held_runs"`
	DelayBySeqUs []float64   `json:"delay_by_seq_us"`
	// Interrupted: Ctrl-C stopped this run; the figures are what was
	// measured until then.
	Interrupted bool   `json:"interrupted,omitempty"`
	Error       string `json:"error,omitempty"`
}

// HandshakeCostJSON is one handshake in JSON.
type HandshakeCostJSON struct {
	Name       string  `json:"name"`
	ReadyUs    float64 `json:"ready_us"`
	ConnectUs  float64 `json:"tcp_connect_us"`
	RTTUs      float64 `json:"rtt_us"`
	RoundTrips float64 `json:"round_trips"`
	// Note says what the number leaves out ("" if nothing).
	Note string `json:"note"`
}

// JSON returns the result's JSON form.
func (res StreamsResult) JSON() StreamsJSON {
	j := StreamsJSON{Config: StreamsConfigJSON{Count: res.Count, IntervalUs: report.Micros(res.Interval), Size: res.Size,
		Link: res.Link.String(), LateUs: report.Micros(res.Late)}}
	j.Results.Runs = []StreamsRunJSON{}
	j.Results.Handshakes = []HandshakeCostJSON{}
	j.Results.HandshakeDelayUs = report.Micros(res.HandshakeDelay)
	if res.HandshakeErr != nil {
		j.Results.HandshakeError = res.HandshakeErr.Error()
	}
	for _, s := range res.Runs {
		streams := 1
		if !s.Info.Ordered {
			streams = s.Sent
		}
		r := StreamsRunJSON{Transport: s.Transport, Network: s.Info.Network, Ordered: s.Info.Ordered, Streams: streams,
			Sent: s.Sent, Delivered: s.Delivered, Overtaken: s.Overtaken, Dropped: s.Up.Dropped, Delay: report.Latency(s.Delay), Late: s.Late,
			OwnWait: s.OwnWait, HeldBehind: s.HeldBehind, HeldRuns: []StallJSON{}, DelayBySeqUs: []float64{},
			Interrupted: s.Interrupted}
		for _, h := range s.Held {
			r.HeldRuns = append(r.HeldRuns, StallJSON{FirstSeq: h.First, LastSeq: h.Last, WorstUs: report.Micros(h.Worst)})
		}
		for _, d := range s.BySeq {
			us := -1.0
			if d >= 0 {
				us = report.Micros(d)
			}
			r.DelayBySeqUs = append(r.DelayBySeqUs, us)
		}
		if s.Err != nil {
			r.Error = s.Err.Error()
		}
		j.Results.Runs = append(j.Results.Runs, r)
	}
	for _, h := range res.Handshakes {
		j.Results.Handshakes = append(j.Results.Handshakes, HandshakeCostJSON{Name: h.Name, ReadyUs: report.Micros(h.Ready),
			ConnectUs: report.Micros(h.Connect), RTTUs: report.Micros(h.RTT), RoundTrips: h.RoundTrips(), Note: h.Note})
	}
	return j
}
