package quic

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
)

// Application error codes in CONNECTION_CLOSE.
const (
	codeDone     quicgo.ApplicationErrorCode = 0 // a clean close
	codeTooLarge quicgo.ApplicationErrorCode = 1 // a message over the limit arrived
	codeBadData  quicgo.ApplicationErrorCode = 2 // a frame that is not a message
)

// Stream kinds in per-message mode: the first byte of a stream.
const (
	kindMessage = 'M'
	kindEnd     = 'E' // followed by the number of message streams sent, in decimal
)

// A Conn is one QUIC connection carrying messages on streams. One
// goroutine writes everything (the write pump); the read pump reads the
// peer's stream (in per-message mode it starts one reader per stream, so
// streams do not wait for each other) and hands messages to Recv through a
// channel. Its methods are safe for concurrent use.
type Conn struct {
	qc      *quicgo.Conn
	opts    Options
	counter *countconn.Counter
	server  bool
	onClose func()

	send chan transport.Message
	recv chan transport.Message

	closing    chan struct{}
	closeOnce  sync.Once
	closedFlag atomic.Bool

	readDone  chan struct{}
	readErr   error // set before readDone is closed
	writeDone chan struct{}
	writeErr  error // set before writeDone is closed
	sent      atomic.Int64
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

func newConn(qc *quicgo.Conn, opts Options, counter *countconn.Counter, server bool) *Conn {
	c := &Conn{
		qc:      qc,
		opts:    opts,
		counter: counter,
		server:  server,
		send:    make(chan transport.Message, opts.Queue),
		// Room for a whole queue, so that the peer's Close, which waits
		// for this side to have read its stream to the end, does not wait
		// for this side's application.
		recv:      make(chan transport.Message, opts.Queue),
		closing:   make(chan struct{}),
		readDone:  make(chan struct{}),
		writeDone: make(chan struct{}),
	}
	if opts.PerMessage {
		go c.readStreams()
		go c.writeStreams()
	} else {
		go c.readPump()
		go c.writePump()
	}
	return c
}

// Handshake reports what the QUIC handshake did: the TLS version and
// whether 0-RTT was used.
func (c *Conn) Handshake() (tlsVersion uint16, used0RTT bool) {
	st := c.qc.ConnectionState()
	return st.TLS.Version, st.Used0RTT
}

// Send queues m for the write pump.
func (c *Conn) Send(ctx context.Context, m transport.Message) error {
	if c.closedFlag.Load() {
		return fmt.Errorf("quic: send: %w", transport.ErrClosed)
	}
	if len(m.Data) > c.opts.MaxMessage {
		return fmt.Errorf("quic: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
	}
	select {
	case c.send <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return fmt.Errorf("quic: send: %w", transport.ErrClosed)
	case <-c.writeDone:
		return c.writeErr
	}
}

// Recv returns the next message; io.EOF once the peer closed cleanly.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	if c.closedFlag.Load() {
		return transport.Message{}, fmt.Errorf("quic: recv: %w", transport.ErrClosed)
	}
	select {
	case m := <-c.recv:
		return m, nil
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-c.readDone:
		select {
		case m := <-c.recv:
			return m, nil
		default:
		}
		if c.closedFlag.Load() {
			return transport.Message{}, fmt.Errorf("quic: recv: %w", transport.ErrClosed)
		}
		return transport.Message{}, c.readErr
	}
}

// Close writes what is queued and ends this side's stream (within about
// two seconds), waits for the peer to close the connection having read it
// all, then closes the connection.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closedFlag.Store(true)
		close(c.closing)
		<-c.writeDone
		t := time.NewTimer(closeTimeout)
		select {
		case <-c.qc.Context().Done():
		case <-c.readDone:
		case <-t.C:
		}
		t.Stop()
		c.qc.CloseWithError(codeDone, "closed")
		<-c.readDone
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// abort closes the connection at once, for Listener.Close.
func (c *Conn) abort() {
	c.closeOnce.Do(func() {
		c.closedFlag.Store(true)
		close(c.closing)
		c.qc.CloseWithError(codeDone, "listener closed")
		<-c.writeDone
		<-c.readDone
		if c.onClose != nil {
			c.onClose()
		}
	})
}

// WireStats reports the UDP payloads (QUIC packets) this connection read
// and wrote.
func (c *Conn) WireStats() transport.WireStats {
	r, w := c.counter.Load()
	return transport.WireStats{BytesReceived: r, BytesSent: w}
}

// connErr turns the connection's end into what Recv reports: io.EOF for
// the peer's clean close, ErrClosed for ours.
func (c *Conn) connErr(err error) error {
	if c.closedFlag.Load() {
		return fmt.Errorf("quic: recv: %w", transport.ErrClosed)
	}
	var ae *quicgo.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		switch ae.ErrorCode {
		case codeDone:
			return io.EOF
		case codeTooLarge:
			return fmt.Errorf("quic: the peer closed the connection: %s: %w", ae.ErrorMessage, transport.ErrTooLarge)
		}
	}
	return fmt.Errorf("quic: recv: %w", err)
}

// deliver hands m to Recv; false once the connection is done.
func (c *Conn) deliver(m transport.Message) bool {
	select {
	case c.recv <- m:
		return true
	case <-c.qc.Context().Done():
		return false
	}
}

// fail closes the connection because of what the peer sent.
func (c *Conn) fail(code quicgo.ApplicationErrorCode, err error) error {
	c.qc.CloseWithError(code, err.Error())
	return err
}

// readPump reads the peer's one stream: frames of a 4-byte length and a
// wire form, until the stream's end (io.EOF) or the connection's.
func (c *Conn) readPump() {
	defer close(c.readDone)
	rs, err := c.qc.AcceptUniStream(context.Background())
	if err != nil {
		c.readErr = c.connErr(err)
		return
	}
	br := bufio.NewReaderSize(rs, 32<<10)
	var hdr [4]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF { // the peer ended its stream between messages
				c.readErr = io.EOF
				c.qc.CloseWithError(codeDone, "read to the end")
				return
			}
			c.readErr = c.connErr(err)
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > uint32(c.opts.frameLimit()) {
			c.readErr = c.fail(codeTooLarge, fmt.Errorf("quic: recv: a %d-byte frame: %w (limit %d)", n, transport.ErrTooLarge, c.opts.frameLimit()))
			return
		}
		buf = buf[:0]
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf); err != nil {
			c.readErr = c.connErr(err)
			return
		}
		m, err := transport.Decode(buf)
		if err == nil && len(m.Data) > c.opts.MaxMessage {
			err = fmt.Errorf("a %d-byte message: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
		}
		if err != nil {
			c.readErr = c.fail(codeBadData, fmt.Errorf("quic: recv: %w", err))
			return
		}
		if !c.deliver(m) {
			c.readErr = c.connErr(context.Cause(c.qc.Context()))
			return
		}
	}
}

// writePump opens this side's stream and writes every queued message on
// it, as many as are queued in one write, until Close has flushed the
// queue; then it ends the stream.
func (c *Conn) writePump() {
	defer close(c.writeDone)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.WriteTimeout)
	ss, err := c.qc.OpenUniStreamSync(ctx)
	cancel()
	if err != nil {
		c.writeErr = fmt.Errorf("quic: send: opening a stream: %w", err)
		return
	}
	var buf []byte
	for {
		var first transport.Message
		select {
		case first = <-c.send:
		case <-c.closing:
			select {
			case first = <-c.send:
			default:
				ss.SetWriteDeadline(time.Now().Add(closeTimeout))
				ss.Close() // FIN: the peer reads io.EOF after the last message
				return
			}
		case <-c.qc.Context().Done():
			c.writeErr = fmt.Errorf("quic: send: %w", transport.ErrClosed)
			return
		}
		buf = appendFrame(buf[:0], first)
	fill:
		for len(buf) < 64<<10 {
			select {
			case m := <-c.send:
				buf = appendFrame(buf, m)
			default:
				break fill
			}
		}
		ss.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
		if _, err := ss.Write(buf); err != nil {
			c.writeErr = fmt.Errorf("quic: send: %w", err)
			return
		}
	}
}

// appendFrame appends m's 4-byte length and wire form.
func appendFrame(b []byte, m transport.Message) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = transport.AppendEncode(b, m)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// readStreams accepts the peer's streams, one per message, and reads each
// in a goroutine of its own, so that a stream waiting for a lost packet
// holds up no other. After the peer's end stream it reports io.EOF once
// every message stream the peer said it sent has been read.
func (c *Conn) readStreams() {
	defer close(c.readDone)
	var (
		mu        sync.Mutex
		delivered int64
		want      int64 = -1
		failed    error
		done      = make(chan struct{})
		doneOnce  sync.Once
	)
	check := func() { // with mu held
		if want >= 0 && delivered >= want {
			doneOnce.Do(func() { close(done) })
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-done
		c.qc.CloseWithError(codeDone, "read to the end")
	}()
	limit := int64(c.opts.frameLimit()) + 1
	for {
		rs, err := c.qc.AcceptUniStream(context.Background())
		if err != nil {
			mu.Lock()
			switch {
			case failed != nil:
				c.readErr = failed
			case want >= 0 && delivered >= want:
				c.readErr = io.EOF
			default:
				c.readErr = c.connErr(err)
			}
			mu.Unlock()
			doneOnce.Do(func() { close(done) })
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs.SetReadDeadline(time.Now().Add(c.opts.IdleTimeout))
			b, err := io.ReadAll(io.LimitReader(rs, limit+1))
			if err != nil {
				return // the connection ended; the accept loop reports it
			}
			var m transport.Message
			switch {
			case len(b) > 0 && b[0] == kindEnd:
				n, perr := strconv.ParseInt(string(b[1:]), 10, 64)
				mu.Lock()
				if perr != nil {
					failed = c.fail(codeBadData, fmt.Errorf("quic: recv: bad end stream %q", b))
				} else {
					want = n
					check()
				}
				mu.Unlock()
				return
			case len(b) > int(limit):
				mu.Lock()
				failed = c.fail(codeTooLarge, fmt.Errorf("quic: recv: a stream over %d bytes: %w", limit, transport.ErrTooLarge))
				mu.Unlock()
				return
			case len(b) > 0 && b[0] == kindMessage:
				m, err = transport.Decode(b[1:])
				if err == nil && len(m.Data) > c.opts.MaxMessage {
					err = fmt.Errorf("a %d-byte message: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
				}
			default:
				err = fmt.Errorf("a stream that is not a message (%d bytes)", len(b))
			}
			if err != nil {
				mu.Lock()
				failed = c.fail(codeBadData, fmt.Errorf("quic: recv: %w", err))
				mu.Unlock()
				return
			}
			if c.deliver(m) {
				mu.Lock()
				delivered++
				check()
				mu.Unlock()
			}
		}()
	}
}

// writeStreams writes every message on a new stream of its own and ends
// the stream; after Close, one last stream says how many there were.
func (c *Conn) writeStreams() {
	defer close(c.writeDone)
	var buf []byte
	one := func(b []byte, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ss, err := c.qc.OpenUniStreamSync(ctx) // waits while MaxStreams are open
		if err != nil {
			return err
		}
		ss.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := ss.Write(b); err != nil {
			return err
		}
		return ss.Close()
	}
	var n int64
	for {
		var m transport.Message
		timeout := c.opts.WriteTimeout
		select {
		case m = <-c.send:
		case <-c.closing:
			select {
			case m = <-c.send:
				timeout = closeTimeout
			default:
				if err := one(strconv.AppendInt([]byte{kindEnd}, n, 10), closeTimeout); err != nil {
					c.writeErr = fmt.Errorf("quic: send: %w", err)
				}
				return
			}
		case <-c.qc.Context().Done():
			c.writeErr = fmt.Errorf("quic: send: %w", transport.ErrClosed)
			return
		}
		buf = transport.AppendEncode(append(buf[:0], kindMessage), m)
		if err := one(buf, timeout); err != nil {
			c.writeErr = fmt.Errorf("quic: send: %w", err)
			return
		}
		n++
		c.sent.Store(n)
	}
}
