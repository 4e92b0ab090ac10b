// Package loss is the dropped-packets lab: the same numbered stream of
// messages goes, one way, from a client to a server over each transport,
// every one through its own copy of the same impaired link (the same seed,
// so the same packets are "lost"), and the lab records which messages
// arrived, when, how often and in what order.
//
// It shows the trade at the heart of transport design: UDP loses and
// reorders messages but delivers the rest at once; TCP (and HTTP and
// WebSocket on it) delivers every message in order, and pays for it in
// time: a lost segment waits for its retransmission and every message
// behind it waits too (head-of-line blocking).
//
// The link is real: each transport's client and server talk across
// package simwire's wire, two TCP/IP stacks whose packets go through the
// impairment stages, so a lost TCP segment is recovered by TCP itself (fast
// retransmit after duplicate ACKs, or its retransmission timer), and the
// lab reports what the stacks did.
//
// The lab is written against package transport's interface only.
package loss

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// Defaults.
const (
	DefaultCount    = 200
	DefaultInterval = 10 * time.Millisecond
	DefaultSize     = 32
	// lateMargin is added to the link's own delay and jitter to get the
	// default lateness threshold.
	lateMargin = 20 * time.Millisecond
	// maxWait bounds how long the lab waits after the last send for a
	// reliable transport to deliver everything (beyond the cut).
	maxWait = 10 * time.Second
	// traceLimit is how many packets a --ladder run keeps per transport.
	traceLimit = 5000
	// probeLimit is how many samples of the TCP sender's state (cwnd,
	// srtt, RTO) a run keeps per transport.
	probeLimit = 20_000
)

// DefaultLink is the lab's link when none is given: a few percent loss,
// a little delay with jitter, a little reordering, a fixed seed.
var DefaultLink = impair.Config{
	Loss:    0.03,
	Delay:   impair.Delay(5 * time.Millisecond),
	Jitter:  impair.Jitter(2 * time.Millisecond),
	Reorder: 0.01,
	Seed:    1,
}

// Config is one run of the lab.
type Config struct {
	Count    int           // messages per transport
	Interval time.Duration // time between two sends
	Size     int           // payload bytes per message
	Link     impair.Config // the impaired link, the same for every transport
	// Late is the one-way delay above which a message counts as late; 0
	// means the link's delay + jitter + 20 ms.
	Late time.Duration
	// Recovery is the stacks' TCP loss detection (classic 3-dup-ACK or RACK).
	Recovery simwire.Recovery
	// Ladder keeps every packet's headers (Stream.Packets) for a ladder
	// diagram.
	Ladder bool
	// PCAP, if set, receives every packet of every transport's wire.
	PCAP *simwire.PCAP
	// Progress, if not nil, shows each transport's messages sent.
	Progress *report.Progress
}

func (c Config) withDefaults() Config {
	if c.Count == 0 {
		c.Count = DefaultCount
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Late == 0 {
		c.Late = time.Duration(c.Link.Delay) + time.Duration(c.Link.Jitter) + lateMargin
	}
	return c
}

// Validate reports a setting out of range, as a one-line error.
func (c Config) Validate() error {
	switch {
	case c.Count < 0 || c.Count > 100_000:
		return fmt.Errorf("loss: --count must be between 1 and 100000, got %d", c.Count)
	case c.Interval < 0:
		return fmt.Errorf("loss: --interval cannot be negative, got %v", c.Interval)
	case c.Size < 0 || c.Size > 60_000:
		return fmt.Errorf("loss: --size must be between 1 and 60000 bytes, got %d", c.Size)
	case c.Late < 0:
		return fmt.Errorf("loss: --late cannot be negative, got %v", c.Late)
	}
	return c.Link.Validate()
}

// Result is what one run measured.
type Result struct {
	Count    int
	Interval time.Duration
	Size     int
	Link     impair.Config
	Late     time.Duration
	Recovery simwire.Recovery
	Streams  []Stream
}

// Stream is what one transport did with the stream.
type Stream struct {
	Transport  string
	Info       transport.Info
	Sent       int // messages sent
	Delivered  int // distinct messages that arrived
	Lost       int // messages that never arrived
	InFlight   int // Interrupted: not arrived, not lost (still on the way at Ctrl-C)
	Duplicated int // extra arrivals of a message already seen
	OutOfOrder int // messages that arrived after a later-numbered one
	LateCount  int // messages that arrived later than Result.Late
	// Latency is the one-way delay of each delivered message's first
	// arrival, measured on this process's monotonic clock (client and
	// server run here, so they share it).
	Latency stats.Summary
	Samples []time.Duration
	// BySeq is the one-way delay of each message's first arrival, indexed
	// by sequence number - 1; -1 for a message that never arrived.
	BySeq []time.Duration
	// Timeline has one mark per message, in sequence order (MarkOnTime...).
	Timeline string
	// Stalls are the runs of consecutive late messages, in order: how
	// many messages waited behind one hold-up.
	Stalls []Stall
	// Up is what the link did to the client→server packets.
	Up impair.Counts
	// Wire is what the wire and both stacks did: the link's counts each
	// way, the client's TCP (the sender here) and the server's.
	Wire simwire.Stats
	// Packets are the packets that crossed the wire (Config.Ladder).
	Packets []simwire.Packet
	// Probe is the client TCP sender's state on every ACK: cwnd,
	// ssthresh, smoothed RTT and RTO over time.
	Probe []simwire.Sample
	// Elapsed is from the first send to the last arrival (or giving up).
	Elapsed time.Duration
	// Interrupted reports whether Ctrl-C (ctx) ended this stream's run
	// early: the counts are what was measured until then.
	Interrupted bool
	Err         error
}

// A Stall is a run of consecutive late messages.
type Stall struct {
	First, Last uint64        // sequence numbers
	Worst       time.Duration // the longest one-way delay in it
}

// Marks used in a Stream's Timeline, one per message.
const (
	MarkOnTime     = '.'
	MarkLate       = '~'
	MarkOutOfOrder = '<'
	MarkTwice      = '2'
	MarkNever      = 'x'
	MarkInFlight   = '?' // not arrived when Ctrl-C stopped the run, not lost
)

// Legend explains the Timeline marks.
func Legend(late time.Duration) string {
	return fmt.Sprintf("%c on time   %c late (> %s)   %c out of order   %c twice or more   %c never",
		MarkOnTime, MarkLate, report.Duration(late), MarkOutOfOrder, MarkTwice, MarkNever)
}

// Run sends the stream over each transport in turn and returns what
// happened. When ctx is done it stops and returns what it measured so far
// with ctx's error.
func Run(ctx context.Context, cfg Config, trs []transport.Transport) (Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Count: cfg.Count, Interval: cfg.Interval, Size: cfg.Size, Link: cfg.Link, Late: cfg.Late,
		Recovery: cfg.Recovery}
	for _, tr := range trs {
		cfg.Progress.Step("loss over "+tr.Info().Name, cfg.Count)
		r := runOne(ctx, cfg, tr)
		res.Streams = append(res.Streams, r)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}

// arrival is one message arriving at the server.
type arrival struct {
	seq uint64
	at  time.Time
}

func runOne(parent context.Context, cfg Config, tr transport.Transport) (r Stream) {
	info := tr.Info()
	r = Stream{Transport: info.Name, Info: info}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		r.Err = fmt.Errorf("loss: %s: listen: %w", info.Name, err)
		return r
	}
	defer ln.Close()
	addr := ln.Addr().String()
	// The link outlives ctx until the client and server have closed: a
	// transport's Close says goodbye across it (QUIC waits for its peer,
	// up to two seconds, and would wait in vain on a link already gone).
	linkCtx, stopLink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLink()
	var link *simwire.Link
	if !cfg.Link.Perfect() {
		opts := simwire.Options{Impair: cfg.Link, Recovery: cfg.Recovery, Probe: probeLimit, PCAP: cfg.PCAP}
		if cfg.Ladder {
			opts.Trace = traceLimit
		}
		link, err = simwire.NewLink(opts)
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

	// The server: accept the client and record every arrival.
	var (
		mu       sync.Mutex
		arrivals []arrival
		got      = make(map[uint64]bool)
		all      = make(chan struct{}) // closed when every seq arrived
		lastAt   time.Time
	)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		defer sc.Close()
		closed := false
		for {
			m, err := sc.Recv(ctx)
			if err != nil {
				return
			}
			now := time.Now()
			if m.Seq < 1 || m.Seq > uint64(cfg.Count) {
				continue
			}
			mu.Lock()
			arrivals = append(arrivals, arrival{m.Seq, now})
			got[m.Seq] = true
			lastAt = now
			if len(got) == cfg.Count && !closed {
				closed = true
				close(all)
			}
			mu.Unlock()
		}
	}()

	// The client: one message every Interval.
	sent := make([]time.Time, cfg.Count+1)
	payload := []byte(strings.Repeat("x", cfg.Size))
	start := time.Now()
	tick := time.NewTicker(max(cfg.Interval, time.Microsecond))
	defer tick.Stop()
	for seq := 1; seq <= cfg.Count; seq++ {
		if seq > 1 && cfg.Interval > 0 {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent[seq] = time.Now()
		err := client.Send(ctx, transport.Message{Seq: uint64(seq), Event: "loss", Sent: time.Now(), Data: payload})
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				r.Err = fmt.Errorf("loss: %s: send %d: %w", info.Name, seq, err)
			}
			break
		}
		r.Sent++
		cfg.Progress.Set(r.Sent)
	}

	// Wait for stragglers. A reliable transport delivers everything
	// (bounded by maxWait). For an unreliable one, stop as soon as every
	// message is accounted for (arrived, or dropped by the link), or when
	// the link has had ample time to deliver what it still holds.
	lastSend := time.Now()
	linger := 2*(time.Duration(cfg.Link.Delay)+time.Duration(cfg.Link.Jitter)) + impair.HoldLimit + 2*time.Second
	if info.Reliable {
		linger = maxWait
	}
	if c := cfg.Link.Cut; c != (impair.Cut{}) {
		if end := start.Add(c.At + c.For); end.After(lastSend) {
			linger += end.Sub(lastSend)
		}
	}
	accounted := func() bool {
		if info.Reliable || link == nil {
			return false
		}
		mu.Lock()
		n := int64(len(got))
		mu.Unlock()
		u := link.Up()
		return n+u.Dropped+u.Cut >= int64(r.Sent)
	}
	if r.Sent > 0 && r.Err == nil {
		giveUp := time.NewTimer(linger)
		poll := time.NewTicker(5 * time.Millisecond)
	wait:
		for !accounted() {
			select {
			case <-all:
				break wait
			case <-giveUp.C:
				break wait
			case <-ctx.Done():
				break wait
			case <-poll.C:
			}
		}
		giveUp.Stop()
		poll.Stop()
	}
	cancel()
	client.Close()
	ln.Close()
	wg.Wait()
	stopLink()
	if link != nil {
		r.Up = link.Up()
		r.Wire = link.Stats()
		for _, n := range link.Networks() {
			<-n.Closed()
			r.Wire = link.Stats()
			r.Packets = append(r.Packets, n.Trace()...)
			for _, s := range n.Samples() {
				if s.Side == "client" {
					r.Probe = append(r.Probe, s)
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !lastAt.IsZero() {
		r.Elapsed = lastAt.Sub(start)
	}
	r.Interrupted = parent.Err() != nil
	r.tally(arrivals, sent, cfg.Late)
	if r.Interrupted {
		r.markInFlight(info.Reliable || link == nil)
	}
	if r.Err == nil && info.Reliable && r.Lost > 0 && parent.Err() == nil {
		r.Err = fmt.Errorf("loss: %s promises delivery, but %d of %d messages did not arrive within %v", info.Name, r.Lost, r.Sent, linger)
	}
	return r
}

// markInFlight, for a run Ctrl-C stopped, moves the messages that had not
// arrived from lost to in flight: all of them when all is set (a reliable
// transport would have delivered them; without a link nothing drops them),
// else those the link had not dropped. The link counts how many; which
// ones is not recorded, so they are taken as the last sent, as a link that
// delays packets holds the newest.
func (r *Stream) markInFlight(all bool) {
	n := r.Lost
	if !all {
		n = min(n, max(0, r.Sent-r.Delivered-int(r.Up.Dropped+r.Up.Cut)))
	}
	tl := []byte(r.Timeline)
	for i := len(tl) - 1; i >= 0 && r.InFlight < n; i-- {
		if tl[i] == MarkNever {
			tl[i] = MarkInFlight
			r.InFlight++
		}
	}
	r.Lost -= r.InFlight
	r.Timeline = string(tl)
}

// tally turns arrivals into counts, latencies and the timeline.
func (r *Stream) tally(arrivals []arrival, sent []time.Time, late time.Duration) {
	n := r.Sent
	times := make([]int, n+1)
	first := make([]time.Duration, n+1)
	order := make([]bool, n+1) // arrived after a higher seq
	var highest uint64
	for _, a := range arrivals {
		if a.seq > uint64(n) {
			continue
		}
		times[a.seq]++
		if times[a.seq] > 1 {
			r.Duplicated++
			continue
		}
		first[a.seq] = a.at.Sub(sent[a.seq])
		r.Samples = append(r.Samples, first[a.seq])
		if a.seq < highest {
			order[a.seq] = true
			r.OutOfOrder++
		}
		highest = max(highest, a.seq)
	}
	r.Latency = stats.Summarize(r.Samples)
	r.BySeq = make([]time.Duration, n)
	for seq := 1; seq <= n; seq++ {
		r.BySeq[seq-1] = -1
		if times[seq] > 0 {
			r.BySeq[seq-1] = first[seq]
		}
	}
	var tl strings.Builder
	var stall *Stall
	for seq := 1; seq <= n; seq++ {
		isLate := times[seq] > 0 && first[seq] > late
		switch {
		case times[seq] == 0:
			r.Lost++
			tl.WriteByte(MarkNever)
		case times[seq] > 1:
			tl.WriteByte(MarkTwice)
		case order[seq]:
			tl.WriteByte(MarkOutOfOrder)
		case isLate:
			tl.WriteByte(MarkLate)
		default:
			tl.WriteByte(MarkOnTime)
		}
		if times[seq] > 0 {
			r.Delivered++
		}
		if isLate {
			r.LateCount++
			if stall == nil {
				r.Stalls = append(r.Stalls, Stall{First: uint64(seq)})
				stall = &r.Stalls[len(r.Stalls)-1]
			}
			stall.Last = uint64(seq)
			stall.Worst = max(stall.Worst, first[seq])
		} else {
			stall = nil
		}
	}
	r.Timeline = tl.String()
}
