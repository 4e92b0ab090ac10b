// Package echo is the echo lab: a client sends numbered messages, a server
// sends each one back, and the client measures round-trip time and counts
// what came back, what did not, what came back twice and what came back out
// of order. It runs over any transport.Transport.
package echo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// Config is one echo run.
type Config struct {
	Count    int           // messages to send
	Size     int           // bytes of Data per message
	Interval time.Duration // 0: send the next message when the previous reply arrives (ping-pong)
	Timeout  time.Duration // how long to wait for a reply before counting it lost; 0 means 1s
	// Via, if set, puts something (an impaired link, a wire tap) between
	// client and server.
	Via transport.Via
	// Trace, if set, is called for every message sent and every reply
	// received, one call at a time.
	Trace func(TraceEvent)
	// Progress, if not nil, counts the messages sent.
	Progress *report.Progress
}

// Validate reports what is wrong with c for transport info.
func (c Config) Validate(info transport.Info) error {
	switch {
	case c.Count < 1:
		return fmt.Errorf("count must be at least 1, got %d", c.Count)
	case c.Size < 0:
		return fmt.Errorf("size must be 0 or more bytes, got %d", c.Size)
	case c.Size > info.MaxMessage:
		return fmt.Errorf("size %d bytes is over the %s limit of %d bytes per message", c.Size, info.Name, info.MaxMessage)
	case c.Interval < 0:
		return fmt.Errorf("interval must not be negative, got %v", c.Interval)
	case c.Timeout < 0:
		return fmt.Errorf("timeout must not be negative, got %v", c.Timeout)
	}
	return nil
}

// Direction says which way a traced message went.
type Direction int

const (
	Out Direction = iota // client → server
	In                   // client ← server
)

func (d Direction) String() string {
	if d == Out {
		return "client → server"
	}
	return "client ← server"
}

// TraceEvent is one line of the ladder --trace prints.
type TraceEvent struct {
	At        time.Duration // since the run started
	Dir       Direction
	Seq       uint64
	Size      int           // bytes of Data
	RTT       time.Duration // for In: round-trip time
	Duplicate bool          // for In: this seq came back before
	Late      bool          // for In: a higher seq came back first
}

// Result is what one echo run measured, from the client's side.
type Result struct {
	Transport transport.Info
	Sent      int
	Received  int // distinct seqs that came back
	Lost      int // sent, never came back within its timeout
	// InFlight counts messages sent but not back when Ctrl-C ended the
	// run, their timeout not yet up: not lost, just not waited for.
	InFlight    int
	OutOfOrder  int // came back after a higher seq
	Duplicated  int // came back more than once (extra copies)
	RTT         stats.Summary
	RTTSamples  []time.Duration // one per distinct reply, in arrival order
	Wire        transport.WireStats
	HasWire     bool // the transport counted bytes on the wire
	Elapsed     time.Duration
	Interrupted bool // Ctrl-C (the context) ended the run early
}

// ServerStats counts what an echo server did. Safe for concurrent use.
type ServerStats struct {
	Conns    atomic.Int64 // connections (or UDP client addresses) accepted
	Open     atomic.Int64 // of those, still open
	Messages atomic.Int64 // messages echoed
	Bad      atomic.Int64 // malformed messages answered with an error
	// OnConn, when set before Serve, hears each client come ("connect")
	// and go ("disconnect"), for a server's log.
	OnConn func(event string, c transport.Conn)
}

// Serve echoes every message on every connection ln accepts until ctx is
// done or ln is closed. A malformed message gets a short error text back.
// st, if not nil, counts what the server did.
func Serve(ctx context.Context, ln transport.Listener, st *ServerStats) error {
	if st == nil {
		st = new(ServerStats)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return nil
			}
			return err
		}
		st.Conns.Add(1)
		st.Open.Add(1)
		if st.OnConn != nil {
			st.OnConn("connect", c)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer st.Open.Add(-1)
			handle(ctx, c, st)
			if st.OnConn != nil {
				st.OnConn("disconnect", c)
			}
		}()
	}
}

// Handle echoes messages on c until it fails or ctx is done, then closes c.
func Handle(ctx context.Context, c transport.Conn) { handle(ctx, c, new(ServerStats)) }

// goingAway is the WebSocket close code for a server shutting down (RFC
// 6455 §7.4.1: 1001, "going away"); connections that can say a code
// (CloseWith) say it when the server stops.
const goingAway = 1001

func handle(ctx context.Context, c transport.Conn, st *ServerStats) {
	defer func() {
		if cw, ok := c.(interface{ CloseWith(int, string) error }); ok && ctx.Err() != nil {
			cw.CloseWith(goingAway, "server shutting down")
			return
		}
		c.Close()
	}()
	for {
		m, err := c.Recv(ctx)
		if errors.Is(err, transport.ErrMalformed) {
			// Tell the sender; a transport that refuses to amplify may
			// refuse this, which is fine.
			st.Bad.Add(1)
			_ = c.Send(ctx, transport.Message{Data: []byte("error: " + err.Error())})
			continue
		}
		if err != nil {
			return
		}
		// A refused reply (a UDP reply larger than its request: no
		// amplification) loses only that reply; a dead connection also
		// fails the next Recv.
		if err := c.Send(ctx, m); err != nil {
			if ctx.Err() != nil || errors.Is(err, transport.ErrClosed) {
				return
			}
			continue
		}
		st.Messages.Add(1)
	}
}

// Run starts an echo server for tr on 127.0.0.1:0, connects a client and
// measures cfg.Count round trips. If ctx ends early, Run returns what it
// measured so far with Interrupted set.
func Run(ctx context.Context, tr transport.Transport, cfg Config) (Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	info := tr.Info()
	if err := cfg.Validate(info); err != nil {
		return Result{}, err
	}
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServer()
	ln, err := tr.Listen(srvCtx, "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	served := make(chan error, 1)
	go func() { served <- Serve(srvCtx, ln, nil) }()
	defer func() {
		stopServer()
		ln.Close()
		<-served
	}()
	addr := ln.Addr().String()
	if cfg.Via != nil {
		if addr, err = cfg.Via(srvCtx, info.Network, addr); err != nil {
			return Result{}, err
		}
	}
	return RunClient(ctx, tr, addr, cfg)
}

// RunClient measures cfg.Count round trips against an echo server at addr.
func RunClient(ctx context.Context, tr transport.Transport, addr string, cfg Config) (Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	info := tr.Info()
	if err := cfg.Validate(info); err != nil {
		return Result{}, err
	}
	conn, err := tr.Dial(ctx, addr)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()

	payload := make([]byte, cfg.Size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	start := time.Now()
	// The ladder is printed in time order. A send's line can only be
	// printed once Send has returned (it may fail), and a reply's once the
	// receiver has looked at it, a moment after it took the reply's time:
	// under load the sender can send the next message in that moment. So
	// the lines wait in held, and held is printed, sorted by time, only
	// when nothing is being sent and no reply that has arrived is still
	// untraced (arriving counts those; the receiver counts a reply before
	// it reads the clock, so every line printed later has a later time).
	var (
		traceMu  sync.Mutex
		sending  bool
		held     []TraceEvent
		arriving atomic.Int32
	)
	flush := func() { // with traceMu held
		if sending || arriving.Load() > 0 {
			return
		}
		sort.SliceStable(held, func(i, j int) bool { return held[i].At < held[j].At })
		for _, e := range held {
			cfg.Trace(e)
		}
		held = held[:0]
	}
	// arrived counts a reply the receiver is about to time.
	arrived := func() {
		if cfg.Trace != nil {
			arriving.Add(1)
		}
	}
	// trace prints a reply's line (e nil: the reply was not ours).
	trace := func(e *TraceEvent) {
		if cfg.Trace == nil {
			return
		}
		traceMu.Lock()
		defer traceMu.Unlock()
		if e != nil {
			held = append(held, *e)
		}
		arriving.Add(-1)
		flush()
	}
	beginSend := func() {
		traceMu.Lock()
		sending = true
		traceMu.Unlock()
	}
	// endSend prints the send's line, if it was sent, and what was held.
	endSend := func(out *TraceEvent) {
		traceMu.Lock()
		defer traceMu.Unlock()
		sending = false
		if cfg.Trace == nil {
			return
		}
		if out != nil {
			held = append(held, *out)
		}
		flush()
	}

	// The receiver records replies; sendTimes holds each seq's send time
	// on the monotonic clock.
	var (
		mu        sync.Mutex
		sendTimes = make([]time.Time, cfg.Count+1)
		seen      = make([]bool, cfg.Count+1)
		res       = Result{Transport: info}
		highest   uint64
		replied   = make(chan uint64, cfg.Count+16)
	)
	recvCtx, stopRecv := context.WithCancel(ctx)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			m, err := conn.Recv(recvCtx)
			if err != nil {
				if errors.Is(err, transport.ErrMalformed) {
					continue
				}
				return
			}
			arrived()
			now := time.Now()
			if testHookReceived != nil {
				testHookReceived(m.Seq)
			}
			mu.Lock()
			if m.Seq == 0 || m.Seq > uint64(cfg.Count) || sendTimes[m.Seq].IsZero() {
				mu.Unlock()
				trace(nil)
				continue // not ours
			}
			e := TraceEvent{At: now.Sub(start), Dir: In, Seq: m.Seq, Size: len(m.Data), RTT: now.Sub(sendTimes[m.Seq])}
			switch {
			case seen[m.Seq]:
				res.Duplicated++
				e.Duplicate = true
			default:
				seen[m.Seq] = true
				res.Received++
				res.RTTSamples = append(res.RTTSamples, e.RTT)
				if m.Seq < highest {
					res.OutOfOrder++
					e.Late = true
				}
				highest = max(highest, m.Seq)
			}
			mu.Unlock()
			trace(&e)
			if !e.Duplicate {
				replied <- m.Seq
			}
		}
	}()

	var sendErr error
	waitFor := func(seq uint64, deadline time.Time) {
		// Wait until seq (or anything later) has come back, or deadline.
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		for {
			select {
			case s := <-replied:
				if s >= seq {
					return
				}
			case <-t.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}
	next := start
	for i := 1; i <= cfg.Count && ctx.Err() == nil; i++ {
		seq := uint64(i)
		if cfg.Interval > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					break
				}
			}
			next = next.Add(cfg.Interval)
		}
		beginSend()
		now := time.Now()
		mu.Lock()
		sendTimes[seq] = now
		mu.Unlock()
		err := conn.Send(ctx, transport.Message{Seq: seq, Event: "echo", Sent: now, Data: payload})
		if err != nil {
			endSend(nil)
			if ctx.Err() == nil {
				sendErr = err
			}
			break
		}
		res.Sent++
		cfg.Progress.Set(res.Sent)
		endSend(&TraceEvent{At: now.Sub(start), Dir: Out, Seq: seq, Size: len(payload)})
		if cfg.Interval == 0 {
			waitFor(seq, now.Add(cfg.Timeout))
		}
	}
	// Give the last replies their timeout to arrive.
	if ctx.Err() == nil && sendErr == nil {
		deadline := time.Now().Add(cfg.Timeout)
		for ctx.Err() == nil && time.Now().Before(deadline) {
			mu.Lock()
			done := res.Received == res.Sent
			mu.Unlock()
			if done {
				break
			}
			waitFor(uint64(cfg.Count)+1, earliest(deadline, time.Now().Add(10*time.Millisecond)))
		}
	}
	stopRecv()
	<-recvDone

	mu.Lock()
	defer mu.Unlock()
	res.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		stopped := time.Now()
		for seq := 1; seq <= res.Sent; seq++ {
			if !seen[seq] && !sendTimes[seq].IsZero() && stopped.Sub(sendTimes[seq]) < cfg.Timeout {
				res.InFlight++
			}
		}
	}
	res.Lost = res.Sent - res.Received - res.InFlight
	res.RTT = stats.Summarize(res.RTTSamples)
	if m, ok := conn.(transport.Meter); ok {
		res.Wire, res.HasWire = m.WireStats(), true
	}
	res.Interrupted = ctx.Err() != nil
	if sendErr != nil {
		return res, fmt.Errorf("echo over %s: %w", info.Name, sendErr)
	}
	return res, nil
}

// testHookReceived, set by a test, runs in the receiver just after it timed
// a reply.
var testHookReceived func(seq uint64)

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
