// Package countconn counts the bytes that cross real network connections, so
// the HTTP-based transports (httppoll, ws) can report bytes on the wire with
// request lines, headers, chunk sizes and frame headers included.
//
// A Conn counts everything read from and written to the net.Conn it wraps.
// Its bytes can be attributed to an owner Counter (a polling session, a
// WebSocket connection): bytes counted before the first owner is set are
// handed to it when it is set. A Conn can also be corked: writes are held in a
// buffer and sent with one Write when it is uncorked (the WebSocket writer
// uses this to send a batch of frames in one system call).
package countconn

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// A Counter adds up bytes read and written. It is safe for concurrent use.
type Counter struct {
	read, written atomic.Int64
}

// Add adds r bytes read and w bytes written.
func (c *Counter) Add(r, w int64) {
	if r != 0 {
		c.read.Add(r)
	}
	if w != 0 {
		c.written.Add(w)
	}
}

// Load returns the bytes read and written so far.
func (c *Counter) Load() (read, written int64) { return c.read.Load(), c.written.Load() }

// A Conn is a net.Conn that counts its bytes. It is safe for concurrent use
// as a net.Conn is.
type Conn struct {
	net.Conn

	mu              sync.Mutex
	owner           *Counter
	unownedR        int64 // bytes read while there was no owner
	unownedW        int64
	read, written   int64
	corked          bool
	corkBuf         []byte
	capture         bool // record bytes for Captured
	capturedR, capW []byte
}

// New wraps c; bytes are counted from now on. owner may be nil.
func New(c net.Conn, owner *Counter) *Conn { return &Conn{Conn: c, owner: owner} }

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.read += int64(n)
		if c.capture {
			c.capturedR = append(c.capturedR, p[:n]...)
		}
		if c.owner != nil {
			c.owner.Add(int64(n), 0)
		} else {
			c.unownedR += int64(n)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.capture {
		c.capW = append(c.capW, p...)
	}
	if c.corked {
		c.corkBuf = append(c.corkBuf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	// Count before writing, so that no peer can see bytes that are not yet
	// counted; take back what a short write did not send.
	c.countWritten(len(p))
	n, err := c.Conn.Write(p)
	if n < len(p) {
		c.countWritten(n - len(p))
	}
	return n, err
}

func (c *Conn) countWritten(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.addWrittenLocked(n)
	c.mu.Unlock()
}

func (c *Conn) addWrittenLocked(n int) {
	c.written += int64(n)
	if c.owner != nil {
		c.owner.Add(0, int64(n))
	} else {
		c.unownedW += int64(n)
	}
}

// SetOwner makes o the counter of this connection's bytes from now on. The
// bytes counted while the connection had no owner go to o as well.
func (c *Conn) SetOwner(o *Counter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owner == o {
		return
	}
	c.owner = o
	if o != nil {
		o.Add(c.unownedR, c.unownedW)
		c.unownedR, c.unownedW = 0, 0
	}
}

// Totals returns the bytes read and written on this connection so far.
func (c *Conn) Totals() (read, written int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read, c.written
}

// Cork holds later writes in a buffer until Uncork.
func (c *Conn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork sends what was held since Cork in one Write and stops holding.
func (c *Conn) Uncork() error {
	c.mu.Lock()
	buf := c.corkBuf
	c.corkBuf = c.corkBuf[:0]
	c.corked = false
	if len(buf) == 0 {
		c.mu.Unlock()
		return nil
	}
	// Write while holding mu so that a later Write cannot overtake the batch.
	c.addWrittenLocked(len(buf))
	n, err := c.Conn.Write(buf)
	if n < len(buf) {
		c.addWrittenLocked(n - len(buf))
	}
	c.mu.Unlock()
	return err
}

// StartCapture records every byte read and written from now on, for
// StopCapture.
func (c *Conn) StartCapture() {
	c.mu.Lock()
	c.capture = true
	c.mu.Unlock()
}

// StopCapture stops recording and returns what was written and read.
func (c *Conn) StopCapture() (written, read []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capture = false
	written, read = c.capW, c.capturedR
	c.capW, c.capturedR = nil, nil
	return written, read
}

// A Listener wraps every accepted connection in a Conn.
type Listener struct{ net.Listener }

// Accept waits for the next connection and wraps it.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return New(c, nil), nil
}

type ctxKey struct{}

// ConnContext is an http.Server ConnContext hook that makes the counting
// connection a request arrived on available to handlers through FromContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, ctxKey{}, cc)
	}
	return ctx
}

// FromContext returns the counting connection a request arrived on, or nil
// when the server's listener does not count.
func FromContext(ctx context.Context) *Conn {
	cc, _ := ctx.Value(ctxKey{}).(*Conn)
	return cc
}
