// Package tcp carries netlab messages over raw TCP.
//
// TCP is a reliable, ordered byte stream: it has no message boundaries, so
// netlab frames each message as one line — the JSON wire form from package
// transport followed by '\n' (newline-delimited JSON). JSON escapes newlines
// inside strings, so a message never contains a raw '\n' and the framing is
// unambiguous. A line that is not a JSON object is a plain text message; a
// connection whose peer speaks plain lines (nc, telnet) is answered in plain
// lines, so `nc 127.0.0.1 PORT` works against every netlab TCP server.
//
// Each Conn has one writer goroutine (the shape of gorilla/websocket's chat
// example): Send encodes on the caller's goroutine and queues the line; the
// writer writes everything queued and flushes once. When nothing is queued or
// being written, Send writes its line itself: handing one line to another
// goroutine would cost a wake-up (several microseconds, as much as a loopback
// round trip) for nothing to coalesce, and order is kept because every write
// happens under one lock, after everything queued before it.
//
// Reading needs no goroutine of its own: Recv reads the socket directly (one
// Recv at a time), and a cancelled context interrupts it with a read
// deadline, keeping any half-read line for the next Recv. A peer that sends
// while nobody calls Recv fills the kernel's buffers and TCP's flow control
// slows it down, which is what TCP is for.
package tcp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/countconn"
)

// Defaults.
const (
	// DefaultMaxMessage is the largest Data a message may carry: 64 KiB.
	DefaultMaxMessage = 64 << 10
	// sendQueue is how many encoded lines may wait for the writer.
	sendQueue = 256
	// writeWait bounds one flush to the socket; a peer that reads nothing
	// for this long gets its connection closed.
	writeWait = 10 * time.Second
	// closeWait bounds how long Close spends flushing what was queued.
	closeWait = time.Second
)

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// Nagle turns Nagle's algorithm on (TCP_NODELAY off). Off by default:
	// netlab sends each message at once.
	Nagle bool
	// MaxMessage bounds a message's Data; 0 means DefaultMaxMessage.
	MaxMessage int
	// MaxConns bounds the connections a Listener keeps open; the excess is
	// told "server full" and closed. 0 means a default below the file
	// descriptor limit (see transport/accept).
	MaxConns int
	// Logf, when set, hears a Listener's accept errors (once, not per retry).
	Logf func(format string, args ...any)
}

// Transport is raw TCP with newline-delimited JSON framing.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns a TCP transport.
func New(o Options) *Transport {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	return &Transport{opts: o}
}

// Info describes TCP: reliable, ordered, connected, full-duplex.
func (t *Transport) Info() transport.Info {
	return transport.Info{Name: "tcp", Network: "tcp", Reliable: true, Ordered: true,
		Connected: true, Duplex: true, MaxMessage: t.opts.MaxMessage}
}

// maxLine bounds one encoded line: the worst case of JSON escaping (6 bytes
// per byte of Data, "\u0000") plus room for the other fields.
func (t *Transport) maxLine() int { return 6*t.opts.MaxMessage + 1024 }

// Dial connects to a netlab TCP server at addr.
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return t.newConn(c), nil
}

// Listen listens on addr ("127.0.0.1:0" for any free port).
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return newListener(accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(t.opts.MaxConns), Refusal: accept.LineFull, Logf: t.opts.Logf}), t), nil
}

// Conn is one end of a TCP connection carrying messages. It is safe for
// concurrent use.
type Conn struct {
	nc      net.Conn
	ctr     countconn.Counter
	maxData int
	maxLine int

	out chan []byte // encoded lines for writeLoop

	// wmu serializes writes to w. pending counts lines queued on out or
	// being written by writeLoop; Send writes directly only when it is 0.
	wmu     sync.Mutex
	w       *bufio.Writer
	pending atomic.Int64

	plainPeer atomic.Bool // the peer has sent a plain-text line (sticky)

	// rmu serializes Recv; the fields below it belong to whoever holds it.
	rmu     sync.Mutex
	r       *bufio.Reader
	partial []byte // a line begun but not finished when a Recv was cancelled
	readErr error  // sticky: why the stream can't be read any more

	writeErr atomic.Value  // error: why writing failed
	closing  chan struct{} // closed by Close
	wdone    chan struct{} // closed when writeLoop returns
	once     sync.Once
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

func (t *Transport) newConn(nc net.Conn) *Conn {
	if tc, ok := nc.(interface{ SetNoDelay(bool) error }); ok { // a *net.TCPConn, or accept's wrapper of one
		tc.SetNoDelay(!t.opts.Nagle)
	}
	c := &Conn{
		nc:      nc,
		maxData: t.opts.MaxMessage,
		maxLine: t.maxLine(),
		out:     make(chan []byte, sendQueue),
		closing: make(chan struct{}),
		wdone:   make(chan struct{}),
	}
	cc := countconn.New(nc, &c.ctr)
	c.w = bufio.NewWriterSize(cc, 64<<10)
	c.r = bufio.NewReaderSize(cc, 64<<10)
	go c.writeLoop()
	return c
}

// NetConn returns the underlying connection (for TCP_INFO and the like).
func (c *Conn) NetConn() net.Conn { return c.nc }

// WireStats reports bytes read from and written to the socket.
func (c *Conn) WireStats() transport.WireStats {
	read, written := c.ctr.Load()
	return transport.WireStats{BytesSent: written, BytesReceived: read}
}

// Send encodes m as one line and queues it for the writer.
func (c *Conn) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > c.maxData {
		return fmt.Errorf("tcp: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.maxData)
	}
	select {
	case <-c.closing:
		return fmt.Errorf("tcp: send: %w", transport.ErrClosed)
	default:
	}
	if err, _ := c.writeErr.Load().(error); err != nil {
		return err
	}
	var line []byte
	if c.plainPeer.Load() && transport.SendsAsPlainText(m, true) {
		line = append(append(make([]byte, 0, len(m.Data)+1), m.Data...), '\n')
	} else {
		line = append(transport.AppendEncode(make([]byte, 0, len(m.Data)+64), m), '\n')
	}
	// Fast path: nothing queued or in flight, so writing now keeps order.
	c.wmu.Lock()
	if c.pending.Load() == 0 {
		err := c.writeLocked(line, writeWait)
		c.wmu.Unlock()
		return err
	}
	c.wmu.Unlock()
	c.pending.Add(1)
	select {
	case c.out <- line:
		return nil
	case <-ctx.Done():
		c.pending.Add(-1)
		return ctx.Err()
	case <-c.closing:
		c.pending.Add(-1)
		return fmt.Errorf("tcp: send: %w", transport.ErrClosed)
	case <-c.wdone:
		c.pending.Add(-1)
		if err, _ := c.writeErr.Load().(error); err != nil {
			return err
		}
		return fmt.Errorf("tcp: send: %w", transport.ErrClosed)
	}
}

// Recv reads the next message. A malformed line yields an error matching
// transport.ErrMalformed and the connection stays usable; a line over the
// size limit closes the connection with an error matching
// transport.ErrTooLarge. When ctx is done Recv returns ctx.Err() and the
// connection stays usable.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-c.closing:
		return transport.Message{}, fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
	default:
	}
	if err := ctx.Err(); err != nil {
		return transport.Message{}, err
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.readErr != nil {
		return transport.Message{}, c.readErr
	}
	if ctx.Done() != nil {
		// Interrupt a blocked read when ctx ends; afterwards, make sure the
		// deadline is cleared before anyone reads again.
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			c.nc.SetReadDeadline(time.Unix(1, 0))
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
				c.nc.SetReadDeadline(time.Time{})
			}
		}()
	}
	line, err := c.readLine()
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return transport.Message{}, ctx.Err()
		}
		select {
		case <-c.closing:
			err = fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
		default:
		}
		c.readErr = err
		return transport.Message{}, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r")) // nc -C, telnet
	m, err := transport.Decode(line)            // copies what it keeps
	if err != nil {
		c.plainPeer.Store(true) // someone typing at us: answer in plain lines
		return transport.Message{}, fmt.Errorf("tcp: recv: %w", err)
	}
	if len(m.Data) > c.maxData {
		c.readErr = fmt.Errorf("tcp: recv %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.maxData)
		c.nc.Close()
		return transport.Message{}, c.readErr
	}
	if transport.IsPlainText(line) {
		c.plainPeer.Store(true) // sticky: someone typing at us
	}
	return m, nil
}

// readLine reads up to and including the next '\n'. c.rmu must be held. A
// read interrupted by a deadline keeps what it read in c.partial.
func (c *Conn) readLine() ([]byte, error) {
	for {
		chunk, err := c.r.ReadSlice('\n')
		if err == nil && c.partial == nil {
			return chunk, nil // the common case: no copy
		}
		if len(chunk) > 0 {
			c.partial = append(c.partial, chunk...)
		}
		if len(c.partial) > c.maxLine {
			c.nc.Close()
			return nil, fmt.Errorf("tcp: recv: line over %d bytes: %w", c.maxLine, transport.ErrTooLarge)
		}
		switch {
		case err == nil:
			line := c.partial
			c.partial = nil
			return line, nil
		case err == bufio.ErrBufferFull:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, err
		case errors.Is(err, io.EOF) && len(c.partial) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			// A last line without its newline (nc when its input ends
			// without one) is still a line; the next read sees io.EOF.
			line := c.partial
			c.partial = nil
			return line, nil
		case errors.Is(err, net.ErrClosed):
			return nil, fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
		default:
			return nil, fmt.Errorf("tcp: recv: %w", err)
		}
	}
}

func (c *Conn) writeLocked(line []byte, wait time.Duration) error {
	if err, _ := c.writeErr.Load().(error); err != nil {
		return err
	}
	if _, err := c.w.Write(line); err != nil {
		return c.failLocked(err)
	}
	return c.flushLocked(wait)
}

func (c *Conn) flushLocked(wait time.Duration) error {
	if c.w.Buffered() == 0 {
		return nil
	}
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	if err := c.w.Flush(); err != nil {
		return c.failLocked(err)
	}
	return nil
}

func (c *Conn) failLocked(err error) error {
	err = fmt.Errorf("tcp: send: %w", err)
	c.writeErr.CompareAndSwap(nil, err)
	c.nc.Close()
	return err
}

// writeLoop writes what Send queued: every line waiting, then one flush.
func (c *Conn) writeLoop() {
	defer close(c.wdone)
	// drain writes every queued line under the lock, then flushes once.
	drain := func(first []byte, wait time.Duration) bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		n := int64(0)
		ok := true
		write := func(line []byte) {
			n++
			if ok {
				if _, err := c.w.Write(line); err != nil {
					c.failLocked(err)
					ok = false
				}
			}
		}
		if first != nil {
			write(first)
		}
		for more := true; more; {
			select {
			case line := <-c.out:
				write(line)
			default:
				more = false
			}
		}
		if ok && c.flushLocked(wait) != nil {
			ok = false
		}
		c.pending.Add(-n)
		return ok
	}
	for {
		select {
		case line := <-c.out:
			if !drain(line, writeWait) {
				return
			}
		case <-c.closing:
			drain(nil, closeWait)
			return
		}
	}
}

// Close flushes queued messages (for at most a second), then closes the
// connection. It is safe to call more than once.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.closing)
		<-c.wdone
		c.nc.Close()
	})
	return nil
}

// Listener accepts TCP connections. Closing it closes every connection it
// accepted that is still open.
type Listener struct {
	ln *accept.Listener // retries out-of-fd errors, refuses over MaxConns
	t  *Transport

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
}

func newListener(ln *accept.Listener, t *Transport) *Listener {
	return &Listener{ln: ln, t: t, conns: map[*Conn]struct{}{}}
}

// Addr is the address clients dial.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept waits for a client.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	stop := context.AfterFunc(ctx, func() { l.ln.SetDeadline(time.Now()) })
	defer stop()
	nc, err := l.ln.Accept()
	if err != nil {
		if ctx.Err() != nil {
			l.ln.SetDeadline(time.Time{})
			return nil, ctx.Err()
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, fmt.Errorf("tcp: accept: %w", transport.ErrClosed)
		}
		return nil, fmt.Errorf("tcp: accept: %w", err)
	}
	c := l.t.newConn(nc)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, fmt.Errorf("tcp: accept: %w", transport.ErrClosed)
	}
	l.conns[c] = struct{}{}
	go func() { // forget the conn once it is closed, so a long-running server does not grow
		<-c.closing
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()
	return c, nil
}

// Close stops listening and closes every accepted connection.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	return err
}
