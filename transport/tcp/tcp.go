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
// Each Conn has one reader goroutine and one writer goroutine (the shape of
// gorilla/websocket's chat example): the reader parses lines into a buffered
// channel that Recv drains; Send encodes on the caller's goroutine and queues
// the line; the writer writes everything queued and flushes once.
package tcp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/wire"
)

// Defaults.
const (
	// DefaultMaxMessage is the largest Data a message may carry: 64 KiB.
	DefaultMaxMessage = 64 << 10
	// sendQueue is how many encoded lines may wait for the writer.
	sendQueue = 256
	// recvQueue is how many parsed messages may wait for Recv.
	recvQueue = 256
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
	return newListener(ln, t), nil
}

// Conn is one end of a TCP connection carrying messages. It is safe for
// concurrent use.
type Conn struct {
	nc      net.Conn
	ctr     wire.Counter
	maxData int
	maxLine int

	in  chan received // parsed by readLoop
	out chan []byte            // encoded lines for writeLoop

	plainPeer atomic.Bool // the peer's last line was plain text, not JSON

	readErr  error         // why readLoop stopped; read after in is closed
	writeErr atomic.Value  // error: why writeLoop stopped
	closing  chan struct{} // closed by Close
	wdone    chan struct{} // closed when writeLoop returns
	rdone    chan struct{} // closed when readLoop returns
	once     sync.Once
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

func (t *Transport) newConn(nc net.Conn) *Conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(!t.opts.Nagle)
	}
	c := &Conn{
		nc:      nc,
		maxData: t.opts.MaxMessage,
		maxLine: t.maxLine(),
		in:      make(chan received, recvQueue),
		out:     make(chan []byte, sendQueue),
		closing: make(chan struct{}),
		wdone:   make(chan struct{}),
		rdone:   make(chan struct{}),
	}
	go c.readLoop()
	go c.writeLoop()
	return c
}

// NetConn returns the underlying connection (for TCP_INFO and the like).
func (c *Conn) NetConn() net.Conn { return c.nc }

// WireStats reports bytes read from and written to the socket.
func (c *Conn) WireStats() transport.WireStats {
	return transport.WireStats{BytesSent: c.ctr.Sent(), BytesReceived: c.ctr.Received()}
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
	if c.plainPeer.Load() && isPlain(m) {
		line = append(append(make([]byte, 0, len(m.Data)+1), m.Data...), '\n')
	} else {
		line = append(transport.AppendEncode(make([]byte, 0, len(m.Data)+64), m), '\n')
	}
	select {
	case c.out <- line:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return fmt.Errorf("tcp: send: %w", transport.ErrClosed)
	case <-c.wdone:
		if err, _ := c.writeErr.Load().(error); err != nil {
			return err
		}
		return fmt.Errorf("tcp: send: %w", transport.ErrClosed)
	}
}

// isPlain reports whether m can go to a plain-text peer as a bare line
// without losing anything: only Data, valid text with no newline, and not
// something that would read back as JSON.
func isPlain(m transport.Message) bool {
	return m.Event == "" && m.Room == "" && m.Sent.IsZero() &&
		bytes.IndexByte(m.Data, '\n') < 0 && !bytes.HasPrefix(bytes.TrimLeft(m.Data, " \t"), []byte("{")) &&
		!bytes.ContainsAny(m.Data, "\r\x00")
}

// Recv returns the next message. A malformed line yields an error matching
// transport.ErrMalformed and the connection stays usable; a line over the
// size limit closes the connection with an error matching
// transport.ErrTooLarge.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-c.closing:
		return transport.Message{}, fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
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
	case <-c.closing:
		return transport.Message{}, fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
	}
}

// received is one parsed line: a message, or why the line was not one (kept
// in order with the messages around it).
type received struct {
	m   transport.Message
	err error
}

func (c *Conn) readLoop() {
	defer close(c.rdone)
	defer close(c.in)
	r := bufio.NewReaderSize(wire.Count(c.nc, &c.ctr), 64<<10)
	var long []byte // a line longer than the reader's buffer, being assembled
	for {
		chunk, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			if len(long) > c.maxLine {
				c.readErr = fmt.Errorf("tcp: recv: line over %d bytes: %w", c.maxLine, transport.ErrTooLarge)
				c.nc.Close()
				return
			}
			continue
		}
		if err != nil {
			switch {
			case errors.Is(err, io.EOF) && len(long)+len(chunk) == 0:
				c.readErr = io.EOF
			case errors.Is(err, io.EOF):
				c.readErr = fmt.Errorf("tcp: recv: connection closed in the middle of a message: %w", io.ErrUnexpectedEOF)
			case errors.Is(err, net.ErrClosed):
				c.readErr = fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
			default:
				c.readErr = fmt.Errorf("tcp: recv: %w", err)
			}
			return
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
			if len(line) > c.maxLine {
				c.readErr = fmt.Errorf("tcp: recv: line over %d bytes: %w", c.maxLine, transport.ErrTooLarge)
				c.nc.Close()
				return
			}
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r")) // nc -C, telnet
		m, derr := transport.Decode(line)           // copies what it keeps
		var rerr error
		switch {
		case derr != nil:
			rerr = fmt.Errorf("tcp: recv: %w", derr)
			c.plainPeer.Store(true) // someone typing at us: answer in plain lines
		case len(m.Data) > c.maxData:
			c.readErr = fmt.Errorf("tcp: recv %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.maxData)
			c.nc.Close()
			return
		default:
			c.plainPeer.Store(!bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{")))
		}
		select {
		case c.in <- received{m, rerr}:
		case <-c.closing:
			c.readErr = fmt.Errorf("tcp: recv: %w", transport.ErrClosed)
			return
		}
	}
}

func (c *Conn) writeLoop() {
	defer close(c.wdone)
	w := bufio.NewWriterSize(wire.Count(c.nc, &c.ctr), 64<<10)
	fail := func(err error) {
		c.writeErr.Store(fmt.Errorf("tcp: send: %w", err))
		c.nc.Close()
	}
	write := func(line []byte) bool {
		if _, err := w.Write(line); err != nil {
			fail(err)
			return false
		}
		return true
	}
	// flushQueued writes every line already queued, then flushes once.
	flushQueued := func(wait time.Duration) bool {
		for {
			select {
			case line := <-c.out:
				if !write(line) {
					return false
				}
				continue
			default:
			}
			break
		}
		c.nc.SetWriteDeadline(time.Now().Add(wait))
		if err := w.Flush(); err != nil {
			fail(err)
			return false
		}
		return true
	}
	for {
		select {
		case line := <-c.out:
			if !write(line) || !flushQueued(writeWait) {
				return
			}
		case <-c.closing:
			flushQueued(closeWait)
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
		<-c.rdone
	})
	return nil
}

// Listener accepts TCP connections. Closing it closes every connection it
// accepted that is still open.
type Listener struct {
	ln net.Listener
	t  *Transport

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
}

func newListener(ln net.Listener, t *Transport) *Listener {
	return &Listener{ln: ln, t: t, conns: map[*Conn]struct{}{}}
}

// Addr is the address clients dial.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept waits for a client.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	stop := context.AfterFunc(ctx, func() { l.ln.(*net.TCPListener).SetDeadline(time.Now()) })
	defer stop()
	nc, err := l.ln.Accept()
	if err != nil {
		if ctx.Err() != nil {
			l.ln.(*net.TCPListener).SetDeadline(time.Time{})
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
		<-c.rdone
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
