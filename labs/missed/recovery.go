package missed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netlab/netlab/labs/stats"
)

// Recovery is Socket.IO's own way back (connection state recovery), beside
// the application's ack and replay: the server keeps every packet it
// broadcasts, and a disconnected socket's id and rooms, for
// maxDisconnectionDuration; a client that reconnects within that window
// sends its session id and the offset of the last packet it got (the JS
// client does it by itself), and the server restores the socket
// (socket.recovered) and sends what it missed. What it does not keep:
// volatile packets, packets emitted with an ack, and anything once the
// window has ended. Meanwhile the client keeps its own emits in a send
// buffer and sends them when it is back.
//
// It runs the Offline scenario over the real protocol, through a
// RecoveryLink (Config.RecoveryLink: cmd/netlab wires transport/socketio),
// whatever the transport column: it is only run for "socketio".
const Recovery Strategy = All + 1

// A RecoveryLink is a Socket.IO server with connection state recovery and
// one client connected to it, as transport/socketio provides them.
type RecoveryLink interface {
	// Emit has the server send event "tick" n to the client, as a
	// broadcast to a room it is in (so that it is kept for recovery),
	// volatile or with an ack when asked.
	Emit(n int, volatile, withAck bool) error
	// Next returns the next thing the client's application sees.
	Next(ctx context.Context) (LinkEvent, error)
	// Drop cuts the client's connection as a lost network would (the
	// server sees its transport close); the client stays away until
	// Resume, then reconnects by itself.
	Drop()
	Resume()
	// ClientEmit has the client emit "up" n (into its send buffer while
	// it is disconnected); Buffered is how many wait there.
	ClientEmit(n int) error
	Buffered() int
	// ServerGot is how many distinct "up" events the server received.
	ServerGot() int
	Close() error
}

// A LinkEvent is a tick the client got (Tick > 0), or its connect (with
// whether the session was recovered and the socket's id) or disconnect.
type LinkEvent struct {
	Tick       int
	Connect    bool
	Recovered  bool
	ID         string
	Disconnect bool
	Reason     string
}

// RecoveryInfo is what Socket.IO's recovery did in one run.
type RecoveryInfo struct {
	Window         time.Duration // maxDisconnectionDuration
	Recovered      bool          // socket.recovered on the reconnect
	SameID         bool          // the socket kept its id (and so its rooms)
	VolatileMissed int           // volatile ticks emitted while away (never kept)
	AckedMissed    int           // ticks emitted with an ack while away (never kept)
	Buffered       int           // client emits made while away, held in its send buffer
	BufferedGot    int           // of those, received by the server after the reconnect
}

// DefaultRecoveryWindow is the maxDisconnectionDuration the lab uses: long
// enough for the default offline time.
const DefaultRecoveryWindow = 10 * time.Second

// tickKind says how tick n is emitted: every tenth volatile, every tenth
// plus five with an ack, the rest plainly.
func tickKind(n int) (volatile, withAck bool) { return n%10 == 0, n%10 == 5 }

func runRecovery(ctx context.Context, cfg Config, sc Scenario) Result {
	if sc != Offline {
		return Result{Err: "missed: recovery is about a client that goes away and comes back: run it with --scenario offline"}
	}
	if cfg.RecoveryLink == nil {
		return Result{Err: "missed: recovery needs Config.RecoveryLink (Socket.IO)"}
	}
	window := cfg.RecoveryWindow
	if window <= 0 {
		window = DefaultRecoveryWindow
	}
	p := cfg.plan(Offline)
	link, err := cfg.RecoveryLink(ctx, window)
	if err != nil {
		return Result{Err: err.Error()}
	}
	defer link.Close()

	info := &RecoveryInfo{Window: window}
	res := Result{Emitted: p.total, RecoveryInfo: info}
	every := time.Duration(float64(time.Second) / cfg.Rate)
	got := map[int]time.Time{}
	sentAt := make([]time.Time, p.total+1)
	cutSeen := make(chan struct{})
	done := make(chan struct{})
	var backAt time.Time
	var firstID string
	readErr := make(chan error, 1)

	// The client's application: it records every tick and the lifecycle.
	go func() {
		defer close(done)
		for {
			ev, err := link.Next(ctx)
			if err != nil {
				readErr <- err
				return
			}
			switch {
			case ev.Connect:
				if firstID == "" {
					firstID = ev.ID
				} else {
					info.Recovered, info.SameID = ev.Recovered, ev.ID == firstID
				}
			case ev.Tick > 0:
				if _, dup := got[ev.Tick]; dup {
					res.Duplicated++
					continue
				}
				got[ev.Tick] = time.Now()
				if ev.Tick == p.cutAfter {
					close(cutSeen)
				}
				if ev.Tick == p.total {
					return
				}
			}
		}
	}()

	emit := func(n int) error {
		v, a := tickKind(n)
		sentAt[n] = time.Now()
		return link.Emit(n, v, a)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-tick.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for n := 1; n <= p.total && ctx.Err() == nil; n++ {
		if err := emit(n); err != nil {
			res.Err = err.Error()
			return res
		}
		if n == p.cutAfter {
			select {
			case <-cutSeen:
			case <-time.After(5 * time.Second):
				res.Err = "missed: the client never got the event before the cut"
				return res
			case <-ctx.Done():
			}
			link.Drop()
			// Away: the client's application goes on emitting; its
			// socket buffers what it sends.
			for k := 1; k <= 3; k++ {
				link.ClientEmit(k)
			}
			info.Buffered = link.Buffered()
		}
		if n == p.backAfter {
			link.Resume()
			backAt = time.Now()
		}
		if n < p.total && !wait() {
			break
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second): // what is missing stays missing
	case err := <-readErr:
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			res.Err = fmt.Sprintf("missed: client: %v", err)
		}
	case <-ctx.Done():
	}
	time.Sleep(100 * time.Millisecond) // the buffered emits reach the server
	info.BufferedGot = link.ServerGot()
	link.Close()
	<-done

	var delays []time.Duration
	var last time.Time
	for n := 1; n <= p.total; n++ {
		at, ok := got[n]
		away := n > p.cutAfter && n <= p.backAfter
		v, a := tickKind(n)
		if away && !v && !a {
			// Kept for this client while it was away: the packet's data,
			// ["tick",n], as the server stores it (its offset besides).
			res.HeldPeakEvents++
			res.HeldPeakBytes += int64(len(fmt.Sprintf(`["tick",%d]`, n)))
		}
		if !ok {
			if away && v {
				info.VolatileMissed++
			}
			if away && a {
				info.AckedMissed++
			}
			continue
		}
		res.Delivered++
		delays = append(delays, at.Sub(sentAt[n]))
		if away {
			res.Recovered++
			if at.After(last) {
				last = at
			}
		}
	}
	res.Missed = res.Emitted - res.Delivered
	res.Unrecoverable = res.Missed
	res.Replayed = int64(res.Recovered)
	res.ExtraMessages = res.Replayed
	if res.Recovered > 0 && !backAt.IsZero() {
		res.TimeToRecover = last.Sub(backAt)
	}
	res.Delay = stats.Summarize(delays)
	return res
}

// recoveryNotes explains the recovery rows of a table.
func recoveryNotes(results []Result) []string {
	var out []string
	for _, r := range results {
		i := r.RecoveryInfo
		if i == nil || r.Err != "" {
			continue
		}
		out = append(out, fmt.Sprintf("recovery (Socket.IO, maxDisconnectionDuration %v): socket.recovered %v, same id %v; "+
			"not kept by the server: %d volatile and %d acked ticks sent while away; "+
			"the client's %d emits made while away waited in its send buffer, %d reached the server after the reconnect",
			i.Window, i.Recovered, i.SameID, i.VolatileMissed, i.AckedMissed, i.Buffered, i.BufferedGot))
	}
	if len(out) > 0 {
		out = append(out, "recovery: every tenth tick is volatile and every tenth plus five asks for an ack; gone = missed (the server never kept them, or the window ended)")
	}
	return out
}
