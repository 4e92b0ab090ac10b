package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// Event names on the wire. A learner watching the traffic (nc, curl, wscat)
// sees these in the "event" field.
const (
	EventHello = "hello" // client → server: "I am here" (UDP: this is how the server learns the client's address)
	EventPush  = "push"  // server → client: one event the server chose to send
	EventUp    = "up"    // client → server: one message the client chose to send
	EventEnd   = "end"   // server → client: no more events; Seq is how many were emitted
	EventBye   = "bye"   // client → server: the client is done
)

// Defaults for a Config's zero fields.
const (
	DefaultRate  = 10.0            // events per second
	DefaultCount = 20              // events, when neither Count nor Duration is set
	DefaultSize  = 16              // payload bytes of each event and upstream message
	DefaultDrain = 2 * time.Second // how long to wait for late messages once the server is done
	// helloEvery is how often a client on an unreliable transport repeats
	// its hello until the server answers with any message.
	helloEvery = 200 * time.Millisecond
)

// Config says what to run.
type Config struct {
	// Transport is the way client and server talk. Required.
	Transport transport.Transport
	// Listen is the server's address; "" means 127.0.0.1:0.
	Listen string
	// Rate is how many events per second the server emits (DefaultRate if 0).
	Rate float64
	// Schedule is when it emits them: Poisson (the default) or Fixed.
	Schedule Schedule
	// Seed picks the Poisson moments; the same seed gives the same schedule.
	Seed int64
	// Count is how many events the server emits. When 0, the server emits
	// for Duration; when both are 0, DefaultCount events.
	Count    int
	Duration time.Duration
	// UpRate is how many messages per second the client sends upstream at
	// the same time, at a fixed rate. 0 (the default) means as many
	// messages as the server emits events, spread evenly over the same
	// span of time; negative means none.
	UpRate float64
	// Size is the payload size of every message in bytes (DefaultSize if 0).
	Size int
	// Drain bounds the wait for late or lost messages after the server has
	// emitted its last event (DefaultDrain if 0). Short polling needs at
	// least one poll interval.
	Drain time.Duration
	// Via, if set, puts something between client and server (an impaired
	// link, a wire tap): the client dials the address it returns.
	Via transport.Via
	// Progress, if not nil, counts the events the server emitted.
	Progress *report.Progress
}

// WithDefaults returns c with its zero fields set to the defaults, or an
// error saying which field is out of range.
func (c Config) WithDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
		return c, fmt.Errorf("push: rate must be > 0 events/s, got %v", c.Rate)
	}
	if c.Count < 0 || c.Duration < 0 {
		return c, fmt.Errorf("push: count and duration must be >= 0, got %d and %v", c.Count, c.Duration)
	}
	if c.Count == 0 && c.Duration == 0 {
		c.Count = DefaultCount
	}
	if c.Count > maxEvents {
		return c, fmt.Errorf("push: count must be <= %d, got %d", maxEvents, c.Count)
	}
	if c.Schedule != Poisson && c.Schedule != Fixed {
		return c, fmt.Errorf("push: unknown schedule %v", c.Schedule)
	}
	if math.IsNaN(c.UpRate) || math.IsInf(c.UpRate, 0) {
		return c, fmt.Errorf("push: up rate must be a number, got %v", c.UpRate)
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Size < 0 {
		return c, fmt.Errorf("push: size must be >= 0, got %d", c.Size)
	}
	if c.Transport == nil {
		return c, nil
	}
	if max := c.Transport.Info().MaxMessage; max > 0 && c.Size > max {
		return c, fmt.Errorf("push: size %d is over %s's limit of %d bytes", c.Size, c.Transport.Info().Name, max)
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	return c, nil
}

// Result is what one run measured. Every time is taken from the one clock
// the server and the client share (they run in the same process).
type Result struct {
	Transport string
	Info      transport.Info
	Schedule  Schedule
	Rate      float64 // events per second asked for
	Seed      int64
	UpRate    float64 // upstream messages per second, as scheduled (0: none)

	// Emitted is how many events the server sent; Delivered how many
	// different ones reached the client. Emitted-Delivered were lost.
	Emitted   int
	Delivered int
	// Duplicates counts events that arrived more than once, Reordered
	// events that arrived after one with a higher Seq.
	Duplicates int
	Reordered  int
	// Delays holds the one-way delay of every delivered event, in order of
	// arrival: client receive time minus the Message.Sent the server
	// stamped just before handing the event to its transport.
	Delays []time.Duration
	Delay  stats.Summary

	// UpSent and UpReceived count the client's own messages upstream;
	// UpDelays are their one-way delays, client Send to server Recv.
	UpSent     int
	UpReceived int
	UpDelays   []time.Duration
	UpDelay    stats.Summary
	// UpDuringPush counts upstream messages the server received between the
	// first and the last event the client received: messages that went up
	// while the downstream was flowing.
	UpDuringPush int
	// PushSpan is the time from the first to the last event received.
	PushSpan time.Duration

	// Wire is what crossed the real connection as the client saw it
	// (headers, framing and empty polls included); HasWire reports whether
	// the transport counts it (implements transport.Meter).
	Wire    transport.WireStats
	HasWire bool
	// Padded reports whether the client padded its messages to the size of
	// an event (over UDP, so the server never answers larger than asked).
	Padded bool
	// Hellos is how many hello messages the client sent before the server
	// answered (more than one only on unreliable transports, when lost).
	Hellos int

	Elapsed time.Duration
	// Interrupted reports whether the run was stopped early (ctx done);
	// the numbers are then what was measured until then.
	Interrupted bool
}

// Lost is how many emitted events never reached the client.
func (r Result) Lost() int { return max(0, r.Emitted-r.Delivered) }

// UpLost is how many upstream messages never reached the server.
func (r Result) UpLost() int { return max(0, r.UpSent-r.UpReceived) }

// Messages is how many messages the run moved: events delivered plus
// upstream messages received.
func (r Result) Messages() int { return r.Delivered + r.UpReceived }

// BytesPerMessage is the bytes on the wire, both directions, per message
// delivered either way; NaN when nothing was delivered or not counted.
func (r Result) BytesPerMessage() float64 {
	if !r.HasWire || r.Messages() == 0 {
		return math.NaN()
	}
	return float64(r.Wire.BytesSent+r.Wire.BytesReceived) / float64(r.Messages())
}

// RequestsPerMessage is HTTP requests made per message delivered either way.
func (r Result) RequestsPerMessage() float64 {
	if !r.HasWire || r.Messages() == 0 {
		return math.NaN()
	}
	return float64(r.Wire.Requests) / float64(r.Messages())
}

// EmptyPollsPerEvent is polls answered with nothing per event delivered.
func (r Result) EmptyPollsPerEvent() float64 {
	if !r.HasWire || r.Delivered == 0 {
		return math.NaN()
	}
	return float64(r.Wire.EmptyPolls) / float64(r.Delivered)
}

// Overlap is the share of upstream messages received while the downstream
// was flowing (UpDuringPush / UpReceived); NaN when none went up.
func (r Result) Overlap() float64 {
	if r.UpReceived == 0 {
		return math.NaN()
	}
	return float64(r.UpDuringPush) / float64(r.UpReceived)
}

// Run starts a server and a client over cfg.Transport in this process and
// runs one push session: the server emits events on its own schedule while
// the client sends its own messages upstream. When ctx is done it stops and
// returns what it measured so far with Interrupted set, and ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Transport == nil {
		return Result{}, errors.New("push: no transport")
	}
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return Result{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	info := cfg.Transport.Info()
	ln, err := cfg.Transport.Listen(runCtx, cfg.Listen)
	if err != nil {
		return Result{}, fmt.Errorf("push: %s: %w", info.Name, err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if cfg.Via != nil {
		if addr, err = cfg.Via(runCtx, info.Network, addr); err != nil {
			return Result{}, fmt.Errorf("push: %s: via: %w", info.Name, err)
		}
	}
	client, err := cfg.Transport.Dial(runCtx, addr)
	if err != nil {
		return Result{}, fmt.Errorf("push: %s: dial %s: %w", info.Name, addr, err)
	}
	defer client.Close()
	return session(ctx, cfg, info, ln.Accept, client)
}

// RunConns runs one push session over a connected pair (server end, client
// end), such as transporttest.Pipe returns. info describes the pair.
func RunConns(ctx context.Context, cfg Config, info transport.Info, server, client transport.Conn) (Result, error) {
	if cfg.Transport == nil {
		cfg.Transport = fixedInfo(info)
	}
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return Result{}, err
	}
	accept := func(context.Context) (transport.Conn, error) { return server, nil }
	return session(ctx, cfg, info, accept, client)
}

// fixedInfo is a Transport that only answers Info, for RunConns.
type fixedInfo transport.Info

func (f fixedInfo) Info() transport.Info { return transport.Info(f) }
func (f fixedInfo) Listen(context.Context, string) (transport.Listener, error) {
	return nil, errors.New("push: no listener")
}
func (f fixedInfo) Dial(context.Context, string) (transport.Conn, error) {
	return nil, errors.New("push: no dialer")
}

// upstreamOffsets returns the moments the client sends its own messages,
// counted from the moment the server starts its schedule: evenly spaced, the first half a gap in so that the
// two schedules do not line up by construction.
func upstreamOffsets(cfg Config, events []time.Duration) []time.Duration {
	var n int
	var gap float64 // seconds
	switch {
	case cfg.UpRate < 0:
		return nil
	case cfg.UpRate > 0:
		n, gap = len(events), 1/cfg.UpRate
		if cfg.Count == 0 {
			n = int(cfg.Duration.Seconds() * cfg.UpRate)
		}
	default: // as many as the events, over the same span
		n = len(events)
		if n == 0 {
			return nil
		}
		first, last := events[0], events[n-1]
		if cfg.Count == 0 {
			first, last = 0, cfg.Duration
		}
		gap := (last - first).Seconds() / float64(n)
		out := make([]time.Duration, 0, n)
		for i := range n {
			out = append(out, first+time.Duration((float64(i)+0.5)*gap*float64(time.Second)))
		}
		return out
	}
	out := make([]time.Duration, 0, n)
	for i := range n {
		out = append(out, time.Duration((float64(i)+0.5)*gap*float64(time.Second)))
	}
	return out
}

// arrival is one message received, with the time it arrived.
type arrival struct {
	m  transport.Message
	at time.Time
}

// session is one run: the server side in two goroutines (emitter, reader),
// the client side in three (upstream sender, reader, hello repeater) and
// this function, which collects the client's arrivals and decides when the
// run is over.
func session(ctx context.Context, cfg Config, info transport.Info,
	accept func(context.Context) (transport.Conn, error), client transport.Conn) (Result, error) {
	start := time.Now()
	res := Result{Transport: info.Name, Info: info, Schedule: cfg.Schedule, Rate: cfg.Rate,
		Seed: cfg.Seed, Padded: info.Network == "udp" && !info.Connected}
	offsets := Offsets(cfg.Schedule, cfg.Rate, cfg.Seed, cfg.Count, cfg.Duration)
	upOffsets := upstreamOffsets(cfg, offsets)
	if n := len(upOffsets); n > 1 {
		res.UpRate = float64(n-1) / (upOffsets[n-1] - upOffsets[0]).Seconds()
	}
	payload := []byte(strings.Repeat("x", cfg.Size))
	// Over UDP, the client's datagrams are padded to at least the size of
	// the server's largest event: a UDP server that answers with more bytes
	// than it was sent is an amplifier (a spoofed source address turns it
	// into a weapon), and netlab's refuses, as QUIC's anti-amplification
	// limit does. Other transports send the payload as it is.
	padTo := 0
	if info.Network == "udp" && !info.Connected { // not QUIC: it validates addresses itself
		padTo = len(transport.Encode(transport.Message{Seq: uint64(len(offsets)), Event: EventPush, Sent: time.Now(), Data: payload}))
	}
	pad := func(m transport.Message) transport.Message {
		if n := padTo - len(transport.Encode(m)); n > 0 {
			if info.MaxMessage > 0 {
				n = min(n, info.MaxMessage-len(m.Data)) // never over the limit
			}
			m.Data = append(append([]byte(nil), m.Data...), strings.Repeat(".", n)...)
		}
		return m
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex // guards the fields below, written by several goroutines
	var (
		firstErr    error
		emitted     int
		emitDone    = make(chan struct{}) // closed when the server has sent its last event and "end"
		gotHello    = make(chan struct{}) // closed when the server has heard the client
		gotBye      = make(chan struct{}) // closed when the server has heard "bye"
		started     = make(chan struct{}) // closed when the server starts its schedule, at startAt
		startAt     time.Time
		upArrivals  []arrival
		hellos      int
		upSent      int
		serverConn  transport.Conn
		helloOnce   sync.Once
		byeOnce     sync.Once
		emitOnce    sync.Once
		fail        func(error)
		closeEmit   = func() { emitOnce.Do(func() { close(emitDone) }) }
		acceptReady = make(chan struct{})
	)
	fail = func(err error) {
		mu.Lock()
		if firstErr == nil && runCtx.Err() == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}

	// Server: accept, then one reader and one emitter.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer closeEmit()
		conn, err := accept(runCtx)
		if err != nil {
			fail(fmt.Errorf("push: %s: accept: %w", info.Name, err))
			return
		}
		mu.Lock()
		serverConn = conn
		mu.Unlock()
		close(acceptReady)
		wg.Add(1)
		go func() { // server reader
			defer wg.Done()
			for {
				m, err := conn.Recv(runCtx)
				at := time.Now()
				if err != nil {
					if runCtx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, transport.ErrClosed) {
						fail(fmt.Errorf("push: %s: server recv: %w", info.Name, err))
					}
					return
				}
				switch m.Event {
				case EventHello:
					helloOnce.Do(func() { close(gotHello) })
				case EventUp:
					// Any datagram tells a UDP server where the client is.
					helloOnce.Do(func() { close(gotHello) })
					mu.Lock()
					upArrivals = append(upArrivals, arrival{m, at})
					mu.Unlock()
				case EventBye:
					byeOnce.Do(func() { close(gotBye) })
				}
			}
		}()
		select {
		case <-gotHello:
		case <-runCtx.Done():
			return
		}
		t0 := time.Now()
		startAt = t0
		close(started)
		timer := time.NewTimer(0)
		defer timer.Stop()
		<-timer.C
		for i, off := range offsets {
			if wait := time.Until(t0.Add(off)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-runCtx.Done():
					return
				}
			}
			m := transport.Message{Seq: uint64(i + 1), Event: EventPush, Sent: time.Now(), Data: payload}
			if err := conn.Send(runCtx, m); err != nil {
				if runCtx.Err() == nil {
					fail(fmt.Errorf("push: %s: server send event %d: %w", info.Name, i+1, err))
				}
				return
			}
			mu.Lock()
			emitted++
			cfg.Progress.Set(emitted)
			mu.Unlock()
		}
		if err := conn.Send(runCtx, transport.Message{Seq: uint64(len(offsets)), Event: EventEnd, Sent: time.Now()}); err != nil && runCtx.Err() == nil {
			fail(fmt.Errorf("push: %s: server send end: %w", info.Name, err))
		}
	}()

	// Client: hello (repeated on unreliable transports until the server
	// answers), a reader, and an upstream sender.
	heard := make(chan struct{}) // closed when the client has received anything
	var heardOnce sync.Once
	sendHello := func() error {
		mu.Lock()
		hellos++
		mu.Unlock()
		return client.Send(runCtx, pad(transport.Message{Event: EventHello, Sent: time.Now()}))
	}
	if err := sendHello(); err != nil {
		cancel()
		wg.Wait()
		return res, fmt.Errorf("push: %s: client send hello: %w", info.Name, err)
	}
	if !info.Reliable {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(helloEvery)
			defer tick.Stop()
			for {
				select {
				case <-heard:
					return
				case <-runCtx.Done():
					return
				case <-tick.C:
					if err := sendHello(); err != nil && runCtx.Err() == nil {
						fail(fmt.Errorf("push: %s: client send hello: %w", info.Name, err))
						return
					}
				}
			}
		}()
	}
	upDone := make(chan struct{})
	wg.Add(1)
	go func() { // upstream sender
		defer wg.Done()
		defer close(upDone)
		// Both schedules count from the moment the server starts (it
		// heard the client): one clock, one origin, in this process.
		select {
		case <-started:
		case <-runCtx.Done():
			return
		}
		t0 := startAt
		timer := time.NewTimer(0)
		defer timer.Stop()
		<-timer.C
		for j, off := range upOffsets {
			if wait := time.Until(t0.Add(off)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-runCtx.Done():
					return
				}
			}
			m := pad(transport.Message{Seq: uint64(j + 1), Event: EventUp, Sent: time.Now(), Data: payload})
			if err := client.Send(runCtx, m); err != nil {
				if runCtx.Err() == nil {
					fail(fmt.Errorf("push: %s: client send up %d: %w", info.Name, j+1, err))
				}
				return
			}
			mu.Lock()
			upSent++
			mu.Unlock()
		}
	}()
	arrivals := make(chan arrival, 64)
	wg.Add(1)
	go func() { // client reader
		defer wg.Done()
		for {
			m, err := client.Recv(runCtx)
			at := time.Now()
			if err != nil {
				if runCtx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, transport.ErrClosed) {
					fail(fmt.Errorf("push: %s: client recv: %w", info.Name, err))
				}
				return
			}
			heardOnce.Do(func() { close(heard) })
			select {
			case arrivals <- arrival{m, at}:
			case <-runCtx.Done():
				return
			}
		}
	}()

	// Collect the client's arrivals until every event is in, or the server
	// is done and Drain has passed.
	seen := make(map[uint64]bool)
	var maxSeq uint64
	var firstAt, lastAt time.Time
	endSeq, gotEnd := uint64(0), false
	var drain <-chan time.Time
	emitDoneC := emitDone
	complete := func() bool { return gotEnd && uint64(len(seen)) >= endSeq }
collect:
	for !complete() {
		select {
		case a := <-arrivals:
			switch a.m.Event {
			case EventPush:
				if seen[a.m.Seq] {
					res.Duplicates++
					continue
				}
				seen[a.m.Seq] = true
				if a.m.Seq < maxSeq {
					res.Reordered++
				}
				maxSeq = max(maxSeq, a.m.Seq)
				res.Delays = append(res.Delays, a.at.Sub(a.m.Sent))
				if firstAt.IsZero() {
					firstAt = a.at
				}
				lastAt = a.at
			case EventEnd:
				endSeq, gotEnd = a.m.Seq, true
			}
		case <-emitDoneC:
			emitDoneC = nil
			drain = time.After(cfg.Drain)
		case <-drain:
			break collect
		case <-runCtx.Done():
			break collect
		}
	}
	// The client's own messages run on their own schedule; wait for them,
	// then say goodbye and give the server a moment to read everything.
	select {
	case <-upDone:
	case <-runCtx.Done():
	}
	if runCtx.Err() == nil {
		if err := client.Send(runCtx, transport.Message{Event: EventBye, Sent: time.Now()}); err != nil && runCtx.Err() == nil {
			fail(fmt.Errorf("push: %s: client send bye: %w", info.Name, err))
		}
		select {
		case <-gotBye:
		case <-time.After(cfg.Drain):
		case <-runCtx.Done():
		}
	}
	if m, ok := client.(transport.Meter); ok {
		res.Wire, res.HasWire = m.WireStats(), true
	}
	res.Interrupted = ctx.Err() != nil
	cancel()
	client.Close()
	select {
	case <-acceptReady:
		mu.Lock()
		if serverConn != nil {
			serverConn.Close()
		}
		mu.Unlock()
	default:
	}
	wg.Wait()

	res.Emitted = emitted
	res.Delivered = len(seen)
	res.Delay = stats.Summarize(res.Delays)
	res.UpSent = upSent
	res.Hellos = hellos
	upSeen := make(map[uint64]bool)
	for _, a := range upArrivals {
		if upSeen[a.m.Seq] {
			continue
		}
		upSeen[a.m.Seq] = true
		res.UpDelays = append(res.UpDelays, a.at.Sub(a.m.Sent))
		if !firstAt.IsZero() && !a.at.Before(firstAt) && !a.at.After(lastAt) {
			res.UpDuringPush++
		}
	}
	res.UpReceived = len(upSeen)
	res.UpDelay = stats.Summarize(res.UpDelays)
	if !firstAt.IsZero() {
		res.PushSpan = lastAt.Sub(firstAt)
	}
	res.Elapsed = time.Since(start)
	if res.Interrupted {
		return res, ctx.Err()
	}
	return res, firstErr
}
