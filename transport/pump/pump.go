// Package pump is the one shape every netlab connection has, after
// gorilla/websocket's examples/chat/client.go.
//
// A transport hands New a Wire: its framing of one connection ("read one
// message", "write one message", "say goodbye", "close the socket"). The
// pump gives back a Conn that implements transport.Conn on top of it:
//
//   - One read pump goroutine per connection does every read. It calls
//     Wire.ReadMessage in a loop (the Wire applies the read limit and the
//     read deadline, and answers pings and close frames as it reads) and
//     hands each whole message to Recv through a channel. Recv is a select
//     on that channel and ctx, so a Recv whose ctx ends returns at once and
//     loses nothing: the message it did not take stays in the channel.
//   - Writes are serialized in one place, a write lock: Send encodes and
//     writes its message under it, the heartbeat's pings and Close's goodbye
//     take it too. A Send waiting for the lock gives up when its ctx ends.
//     There is no writer goroutine: measured, one made no difference to a
//     loopback round trip, and its stack (about 4 KiB) would be a fifth of
//     an idle chat connection's memory. What it would buy is throughput with
//     many messages in flight, where Send could return before the write.
//
// Close takes the write lock (so a Send in progress finishes), says goodbye
// (a WebSocket close frame), waits a moment for the peer's answer, which the
// read pump sees, then closes the socket; the read pump then ends.
//
// The package sits beside the transports rather than in transport/internal
// because the chat lab's line client (labs/chat) is built on it too.
//
// # What the shape costs
//
// Issue 13 asks for an echo round trip within 1.25× of a bare echo (bare
// gorilla, bare Go TCP). transport/ws's BenchmarkEchoRTT measures it, with a
// third anchor, pump-tcp: the bare TCP echo with a read pump and a channel
// on each side and nothing else of netlab. On the 2-vCPU VM of
// December 2026 (-cpu 1,2, -count 3, other builds running):
//
//	                     1 P          2 Ps, load 6–10   2 Ps, load 2.5–3.5
//	pump-tcp/bare-tcp    1.08         1.15–1.20         1.17–1.31
//	tcp/bare-tcp         1.48–1.55    1.53–1.67         1.56–2.01
//	ws/bare-ws           1.42–1.47    1.42–1.57         1.45–1.79
//
// The floor is not met, for two measured reasons:
//
//   - The JSON codec. Counted with valgrind (lackey, 1 P), a round trip
//     costs 6.4k instructions in user space on bare TCP, 9.6k with the pumps,
//     35.5k on netlab tcp (bare gorilla 12.3k, netlab ws 41.2k). Of the 26k
//     netlab adds, 13k are the two json-v2 Decodes (go-json-experiment,
//     about 6.5k each here, 8k in transport's BenchmarkDecode;
//     encoding/json takes 18k) and 3.5k the two AppendEncodes. With both
//     replaced by stubs (an experiment, not kept), tcp/bare-tcp fell from
//     1.53–1.67 to 1.30–1.34 at 2 Ps and ws/bare-ws to 1.26–1.32: even a
//     free codec leaves the floor unmet (goccy/go-json and valyala/fastjson
//     decode the same message in 2.6k and 2.4k instructions).
//   - The hand-offs, at 2 Ps. The bare echo runs both its goroutines on one
//     thread: each blocks in the poller and the same M picks the other up (strace -c -f: 0.08 futex calls per round
//     trip). A channel send to a parked Recv makes the runtime wake an idle
//     M for the other P (wakep): 2.2 to 2.7 futex calls per round trip, and
//     runtime/trace shows 4.8 to 8.6 µs between the pump readying Recv's
//     goroutine and its next read: that is the futex wake. At 1 P there is
//     no idle P to wake and the two hand-offs cost 8%. The woken M then
//     competes for the socket's readiness, so turns move between threads.
//     How much this costs depends on the other vCPU: the first run of this
//     session, at load 0.5 to 3, printed 1.66–1.72 (ws) and 1.79–1.84
//     (tcp); an earlier run on an idle machine printed about 2.6 and 2.8.
//
// Neither goes away without giving up the shape (a Recv that reads the
// socket itself) or the library codec.
package pump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// A Wire is one connection's framing, given to New by a transport.
type Wire interface {
	// ReadMessage reads the next whole message. Only the read pump calls
	// it. An error matching transport.ErrMalformed goes to Recv and reading
	// goes on; any other error ends reading (io.EOF: the peer closed
	// cleanly).
	ReadMessage() (transport.Message, error)
	// WriteMessage writes m by deadline. Calls never overlap. An error
	// matching transport.ErrTooLarge means nothing was written and the
	// connection is fine; any other error means it is broken.
	WriteMessage(m transport.Message, deadline time.Time) error
	// Goodbye tells the peer the connection is ending with code and reason
	// (a WebSocket close frame) and reports whether the peer will answer
	// (then Close waits a moment for the read pump to see the answer).
	// Calls never overlap with WriteMessage.
	Goodbye(code int, reason string, deadline time.Time) (answer bool)
	// Close closes the socket; a ReadMessage in progress returns.
	Close() error
}

// A Pinger is a Wire with a heartbeat: Ping writes a ping by deadline.
type Pinger interface {
	Ping(deadline time.Time) error
}

// Options configure a Conn.
type Options struct {
	// Name prefixes errors: "ws", "tcp".
	Name string
	// MaxMessage is the largest Data Send accepts; a bigger message is
	// refused with transport.ErrTooLarge.
	MaxMessage int
	// WriteTimeout bounds each write (and a Send's wait for the lock).
	WriteTimeout time.Duration
	// RecvQueue is how many messages the read pump may read ahead of Recv
	// before it stops reading (and TCP's flow control slows the peer).
	RecvQueue int
	// PingInterval, when the Wire is a Pinger, is how often it pings.
	PingInterval time.Duration
	// CloseCode and CloseReason are what Close says goodbye with.
	CloseCode   int
	CloseReason string
	// AnswerWait is how long Close waits for the peer to answer its
	// goodbye before closing the socket.
	AnswerWait time.Duration
	// OnClose, if set, is called once when Close is first called.
	OnClose func()
}

// closeWait bounds how long Close waits for a Send in progress and for
// writing the goodbye.
const closeWait = 2 * time.Second

// received is one message or a malformed one, for Recv.
type received struct {
	m   transport.Message
	err error
}

// A Conn is a transport.Conn made of a Wire, a read pump and a write lock.
// Its methods are safe for concurrent use.
type Conn struct {
	wire Wire
	opts Options

	in      chan received // read pump → Recv; closed when reading ends
	readErr error         // why reading ended, set before in is closed
	read    chan struct{} // closed when the read pump has returned

	wlock    chan struct{} // holds a token while someone writes
	writeErr error         // guarded by wlock: the write that broke the connection

	closed    chan struct{} // closed when Close is called
	closeOnce sync.Once
	ping      *time.Timer
}

var _ transport.Conn = (*Conn)(nil)

// New starts the read pump (and, for a Pinger, the heartbeat) on w.
func New(w Wire, opts Options) *Conn {
	c := &Conn{
		wire:   w,
		opts:   opts,
		in:     make(chan received, opts.RecvQueue),
		read:   make(chan struct{}),
		wlock:  make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	if p, ok := w.(Pinger); ok && opts.PingInterval > 0 {
		// A timer, not a goroutine: an idle connection costs no stack.
		c.ping = time.AfterFunc(opts.PingInterval, func() { c.heartbeat(p) })
	}
	go c.readPump()
	return c
}

// readPump reads every message and hands it to Recv. After Close it goes on
// reading, dropping messages, until the socket is closed: that is how the
// peer's answer to the goodbye is seen.
func (c *Conn) readPump() {
	defer close(c.read)
	for {
		m, err := c.wire.ReadMessage()
		if err != nil && !errors.Is(err, transport.ErrMalformed) {
			select {
			case <-c.closed:
				err = fmt.Errorf("%s: recv: %w", c.opts.Name, transport.ErrClosed)
			default:
			}
			if err != io.EOF {
				// Nothing more can be read (the Wire answered what the
				// peer got wrong): close the socket, as gorilla's chat
				// example does when its read pump ends.
				c.wire.Close()
			}
			c.readErr = err
			close(c.in)
			return
		}
		select {
		case c.in <- received{m, err}:
		case <-c.closed:
		}
	}
}

// Recv returns the next message. After the peer closed cleanly it returns
// io.EOF; when ctx is done, ctx.Err(), and the connection stays usable.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-c.closed:
		return transport.Message{}, c.errClosed("recv")
	default:
	}
	select {
	case r, ok := <-c.in:
		if !ok {
			return transport.Message{}, c.readErr
		}
		return r.m, r.err
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-c.closed:
		return transport.Message{}, c.errClosed("recv")
	}
}

// Send writes m under the write lock.
func (c *Conn) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > c.opts.MaxMessage {
		return fmt.Errorf("%s: send %d bytes: %w (limit %d)", c.opts.Name, len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
	}
	select {
	case <-c.closed:
		return c.errClosed("send")
	default:
	}
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	deadline := time.Now().Add(c.opts.WriteTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err := c.wire.WriteMessage(m, deadline)
	if err == nil || errors.Is(err, transport.ErrTooLarge) {
		return err
	}
	// A failed write leaves the connection broken: close the socket, so
	// the read pump ends and Recv reports it.
	c.writeErr = fmt.Errorf("%s: send: %w", c.opts.Name, err)
	c.wire.Close()
	return c.writeErr
}

// lock takes the write lock, or gives up when ctx ends or Close was called.
func (c *Conn) lock(ctx context.Context) error {
	select {
	case c.wlock <- struct{}{}: // the common case
		return nil
	default:
	}
	select {
	case c.wlock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return c.errClosed("send")
	}
}

func (c *Conn) unlock() { <-c.wlock }

// heartbeat pings the peer every PingInterval until Close.
func (c *Conn) heartbeat(p Pinger) {
	select {
	case c.wlock <- struct{}{}:
	case <-c.closed:
		return
	}
	var err error
	if c.writeErr == nil {
		err = p.Ping(time.Now().Add(c.opts.WriteTimeout))
	}
	c.unlock()
	if err != nil {
		c.wire.Close() // a peer we cannot write to is gone
		return
	}
	select {
	case <-c.closed:
	default:
		c.ping.Reset(c.opts.PingInterval)
	}
}

// Close says goodbye with Options.CloseCode and closes the connection.
func (c *Conn) Close() error {
	return c.CloseWith(c.opts.CloseCode, c.opts.CloseReason)
}

// CloseWith is Close with the goodbye's code and reason (a WebSocket close
// code, RFC 6455 7.4). It waits for a Send in progress (at most two
// seconds), says goodbye, waits up to AnswerWait for the peer's answer and
// closes the socket. Only the first Close or CloseWith has an effect; every
// call returns once the connection is closed.
func (c *Conn) CloseWith(code int, reason string) error {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.ping != nil {
			c.ping.Stop()
		}
		if c.opts.OnClose != nil {
			c.opts.OnClose()
		}
		deadline := time.Now().Add(closeWait)
		t := time.NewTimer(closeWait)
		select {
		case c.wlock <- struct{}{}: // never released: nothing is written after the goodbye
			if c.writeErr == nil && c.wire.Goodbye(code, reason, deadline) {
				t.Reset(c.opts.AnswerWait)
				select {
				case <-c.read: // the read pump saw the answer (or the end)
				case <-t.C:
				}
			}
		case <-t.C: // a Send stuck on a peer that reads nothing
		}
		t.Stop()
		c.wire.Close()
	})
	<-c.read
	return nil
}

func (c *Conn) errClosed(op string) error {
	return fmt.Errorf("%s: %s: %w", c.opts.Name, op, transport.ErrClosed)
}
