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
// Every Conn has the shape of gorilla/websocket's chat example, written once
// in transport/pump: one read pump goroutine reads lines and hands
// each message to Recv through a channel (a Recv whose ctx ends returns at
// once and loses nothing), and Send writes its line under one write lock.
// The read pump reads up to 16 messages ahead of Recv, then stops reading,
// and TCP's flow control slows a peer that sends faster than the
// application receives. A line over the size limit closes the connection.
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
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/pump"
)

// Defaults.
const (
	// DefaultMaxMessage is the largest Data a message may carry: 64 KiB.
	DefaultMaxMessage = 64 << 10
	// writeWait bounds one write to the socket; a peer that reads nothing
	// for this long gets its connection closed.
	writeWait = 10 * time.Second
	// ReadAhead is how many messages the read pump reads ahead of Recv
	// before it stops reading (and TCP's flow control slows the peer).
	ReadAhead = 16
	// readBuffer is the line reader's buffer; a longer line is gathered
	// past it.
	readBuffer = 4 << 10
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

// Dial connects to a netlab TCP server at addr.
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return t.newConn(c, nil), nil
}

// Listen listens on addr ("127.0.0.1:0" for any free port).
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tcp: %w", err)
	}
	return &Listener{
		ln:    accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(t.opts.MaxConns), Refusal: accept.LineFull, Logf: t.opts.Logf}),
		t:     t,
		conns: map[*Conn]struct{}{},
	}, nil
}

// Conn is one end of a TCP connection carrying messages: a pump.Conn over
// lineWire. It is safe for concurrent use.
type Conn struct {
	*pump.Conn
	nc  net.Conn
	ctr *countconn.Counter
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

func (t *Transport) newConn(nc net.Conn, onClose func()) *Conn {
	if tc, ok := nc.(interface{ SetNoDelay(bool) error }); ok { // a *net.TCPConn, or accept's wrapper of one
		tc.SetNoDelay(!t.opts.Nagle)
	}
	w := &lineWire{nc: nc, maxData: t.opts.MaxMessage, maxLine: 6*t.opts.MaxMessage + 1024}
	counted := countconn.New(nc, &w.ctr)
	w.r = bufio.NewReaderSize(counted, readBuffer)
	w.w = counted
	return &Conn{
		Conn: pump.New(w, pump.Options{
			Name:         "tcp",
			MaxMessage:   t.opts.MaxMessage,
			WriteTimeout: writeWait,
			RecvQueue:    ReadAhead,
			OnClose:      onClose,
		}),
		nc:  nc,
		ctr: &w.ctr,
	}
}

// NetConn returns the underlying connection (for TCP_INFO and the like).
func (c *Conn) NetConn() net.Conn { return c.nc }

// WireStats reports bytes read from and written to the socket.
func (c *Conn) WireStats() transport.WireStats {
	read, written := c.ctr.Load()
	return transport.WireStats{BytesSent: written, BytesReceived: read}
}

// lineWire is the framing: one message per line.
type lineWire struct {
	nc      net.Conn
	ctr     countconn.Counter
	r       *bufio.Reader // read pump only
	w       io.Writer     // under the pump's write lock
	line    []byte        // a line longer than r's buffer, gathered (read pump only)
	maxData int
	maxLine int // the worst case of JSON escaping (6 bytes per byte of Data) plus the other fields
	// plainPeer reports whether the peer has sent a plain-text line (sticky;
	// set by the read pump, read by Send).
	plainPeer atomic.Bool
}

// ReadMessage reads one line. A line that is not a message is an error
// matching transport.ErrMalformed, and the connection stays usable; a line
// over the size limit ends it with transport.ErrTooLarge.
func (w *lineWire) ReadMessage() (transport.Message, error) {
	line, err := w.readLine()
	if err != nil {
		return transport.Message{}, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r")) // nc -C, telnet
	m, err := transport.Decode(line)            // copies what it keeps
	if err != nil {
		w.plainPeer.Store(true) // someone typing at us: answer in plain lines
		return transport.Message{}, fmt.Errorf("tcp: recv: %w", err)
	}
	if len(m.Data) > w.maxData {
		return transport.Message{}, fmt.Errorf("tcp: recv %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, w.maxData)
	}
	if transport.IsPlainText(line) {
		w.plainPeer.Store(true) // sticky: someone typing at us
	}
	return m, nil
}

// readLine reads up to and including the next '\n'.
func (w *lineWire) readLine() ([]byte, error) {
	w.line = w.line[:0]
	for {
		chunk, err := w.r.ReadSlice('\n')
		if err == nil && len(w.line) == 0 {
			return chunk, nil // the common case: no copy
		}
		w.line = append(w.line, chunk...)
		if len(w.line) > w.maxLine {
			return nil, fmt.Errorf("tcp: recv: line over %d bytes: %w", w.maxLine, transport.ErrTooLarge)
		}
		switch {
		case err == nil:
			return w.line, nil
		case err == bufio.ErrBufferFull:
			continue
		case errors.Is(err, io.EOF) && len(w.line) == 0:
			return nil, io.EOF
		case errors.Is(err, io.EOF):
			// A last line without its newline (nc when its input ends
			// without one) is still a line; the next read sees io.EOF.
			return w.line, nil
		default:
			return nil, fmt.Errorf("tcp: recv: %w", err)
		}
	}
}

// lineBuffers lend WriteMessage a buffer to encode a line into.
var lineBuffers = sync.Pool{New: func() any { return new([]byte) }}

// WriteMessage writes m as one line, with one write.
func (w *lineWire) WriteMessage(m transport.Message, deadline time.Time) error {
	bp := lineBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			lineBuffers.Put(bp)
		}
	}()
	b := (*bp)[:0]
	if w.plainPeer.Load() && transport.SendsAsPlainText(m, true) {
		b = append(b, m.Data...)
	} else {
		b = transport.AppendEncode(b, m)
	}
	b = append(b, '\n')
	*bp = b
	w.nc.SetWriteDeadline(deadline)
	_, err := w.w.Write(b)
	return err
}

// Goodbye: TCP has nothing to say before closing.
func (w *lineWire) Goodbye(int, string, time.Time) bool { return false }

// Close closes the socket.
func (w *lineWire) Close() error { return w.nc.Close() }

// Listener accepts TCP connections. Closing it closes every connection it
// accepted that is still open.
type Listener struct {
	ln *accept.Listener // retries out-of-fd errors, refuses over MaxConns
	t  *Transport

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool
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
	var c *Conn
	c = l.t.newConn(nc, func() { // forget the conn once closed, so a long-running server does not grow
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	})
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return nil, fmt.Errorf("tcp: accept: %w", transport.ErrClosed)
	}
	l.conns[c] = struct{}{}
	l.mu.Unlock()
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
