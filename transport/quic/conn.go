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
	"github.com/netlab/netlab/transport/internal/queue"
)

// Application error codes in CONNECTION_CLOSE.
const (
	codeDone     quicgo.ApplicationErrorCode = 0 // a clean close
	codeTooLarge quicgo.ApplicationErrorCode = 1 // a message over the limit arrived
	codeBadData  quicgo.ApplicationErrorCode = 2 // a frame that is not a message
	codeFull     quicgo.ApplicationErrorCode = 3 // the listener has MaxConns open already
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

	q         *queue.Queue // Send and Recv
	closeOnce sync.Once
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
		// Room in Recv's queue for a whole send queue, so that the peer's
		// Close, which waits for this side to have read its stream to the
		// end, does not wait for this side's application.
		q: queue.New("quic", opts.MaxMessage, opts.Queue, opts.Queue),
	}
	if opts.PerMessage {
		go func() { c.q.ReadDone(c.readStreams()) }()
		go func() { c.q.WriteDone(c.writeStreams()) }()
	} else {
		go func() { c.q.ReadDone(c.readStream()) }()
		go func() { c.q.WriteDone(c.writeStream()) }()
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
func (c *Conn) Send(ctx context.Context, m transport.Message) error { return c.q.Send(ctx, m) }

// Recv returns the next message; io.EOF once the peer closed cleanly.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) { return c.q.Recv(ctx) }

// Close writes what is queued and ends this side's stream (within about
// two seconds), waits for the peer to close the connection having read it
// all, then closes the connection.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.q.StartClose()
		<-c.q.WriteEnded()
		t := time.NewTimer(closeTimeout)
		select {
		case <-c.qc.Context().Done():
		case <-c.q.ReadEnded():
		case <-t.C:
		}
		t.Stop()
		c.qc.CloseWithError(codeDone, "closed")
		<-c.q.ReadEnded()
		if c.onClose != nil {
			c.onClose()
		}
	})
	return nil
}

// abort closes the connection at once, for Listener.Close.
func (c *Conn) abort() {
	c.closeOnce.Do(func() {
		c.q.StartClose()
		c.qc.CloseWithError(codeDone, "listener closed")
		<-c.q.WriteEnded()
		<-c.q.ReadEnded()
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
	if c.q.Closed() {
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
	case c.q.In <- m:
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

// readStream is the read pump: it reads the peer's one stream: frames of a 4-byte length and a
// wire form, until the stream's end (io.EOF) or the connection's.
func (c *Conn) readStream() error {
	rs, err := c.qc.AcceptUniStream(context.Background())
	if err != nil {
		return c.connErr(err)
	}
	br := bufio.NewReaderSize(rs, 32<<10)
	buf := make([]byte, 0, 4096)
	for {
		var m transport.Message
		var err error
		m, buf, err = readFrame(br, buf, c.opts)
		switch {
		case err == io.EOF: // the peer ended its stream between messages
			c.qc.CloseWithError(codeDone, "read to the end")
			return io.EOF
		case errors.Is(err, transport.ErrTooLarge) && !errors.Is(err, errDecode):
			return c.fail(codeTooLarge, err)
		case errors.Is(err, errDecode):
			return c.fail(codeBadData, err)
		case err != nil:
			return c.connErr(err)
		}
		if !c.deliver(m) {
			return c.connErr(context.Cause(c.qc.Context()))
		}
	}
}

// errDecode marks a frame that arrived whole but is not a message within
// the limits (the peer's fault, not the stream's).
var errDecode = errors.New("quic: recv")

// readFrame reads one frame from a stream: a 4-byte big-endian length, then
// that many bytes of a message's wire form. buf is reused for the bytes
// and returned. io.EOF means the stream ended between two frames; an error
// matching transport.ErrTooLarge, a length over the frame limit (nothing
// more is read); an error matching errDecode, a frame that is not a
// message within the limits; any other, the stream's.
func readFrame(br *bufio.Reader, buf []byte, o Options) (transport.Message, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return transport.Message{}, buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > uint32(o.frameLimit()) {
		return transport.Message{}, buf, fmt.Errorf("quic: recv: a %d-byte frame: %w (limit %d)", n, transport.ErrTooLarge, o.frameLimit())
	}
	buf = append(buf[:0], make([]byte, n)...)
	if _, err := io.ReadFull(br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return transport.Message{}, buf, err
	}
	m, err := transport.Decode(buf)
	if err == nil && len(m.Data) > o.MaxMessage {
		err = fmt.Errorf("a %d-byte message: %w (limit %d)", len(m.Data), transport.ErrTooLarge, o.MaxMessage)
	}
	if err != nil {
		return transport.Message{}, buf, fmt.Errorf("%w: %w", errDecode, err)
	}
	return m, buf, nil
}

// writeStream is the write pump: it opens this side's stream and writes
// every queued message on it, as many as are queued in one write, until
// Close has flushed the queue; then it ends the stream.
func (c *Conn) writeStream() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.WriteTimeout)
	ss, err := c.qc.OpenUniStreamSync(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("quic: send: opening a stream: %w", err)
	}
	var buf []byte
	for {
		var ok bool
		buf, _, ok = c.q.Batch(buf[:0], 64<<10, c.qc.Context().Done(), appendFrame)
		if !ok {
			if c.qc.Context().Err() != nil {
				return fmt.Errorf("quic: send: %w", transport.ErrClosed)
			}
			ss.SetWriteDeadline(time.Now().Add(closeTimeout))
			ss.Close() // FIN: the peer reads io.EOF after the last message
			return nil
		}
		ss.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
		if _, err := ss.Write(buf); err != nil {
			return fmt.Errorf("quic: send: %w", err)
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
func (c *Conn) readStreams() error {
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
				err = failed
			case want >= 0 && delivered >= want:
				err = io.EOF
			default:
				err = c.connErr(err)
			}
			mu.Unlock()
			doneOnce.Do(func() { close(done) })
			return err
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
func (c *Conn) writeStreams() error {
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
		m, late, ok := c.q.Next(c.qc.Context().Done())
		if !ok {
			if c.qc.Context().Err() != nil {
				return fmt.Errorf("quic: send: %w", transport.ErrClosed)
			}
			if err := one(strconv.AppendInt([]byte{kindEnd}, n, 10), closeTimeout); err != nil {
				return fmt.Errorf("quic: send: %w", err)
			}
			return nil
		}
		timeout := c.opts.WriteTimeout
		if late {
			timeout = closeTimeout
		}
		buf = transport.AppendEncode(append(buf[:0], kindMessage), m)
		if err := one(buf, timeout); err != nil {
			return fmt.Errorf("quic: send: %w", err)
		}
		n++
		c.sent.Store(n)
	}
}
