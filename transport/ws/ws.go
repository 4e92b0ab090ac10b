package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/httplisten"
)

// Defaults for Options fields left zero.
const (
	// DefaultPath is the path Dial asks for when the address has none.
	DefaultPath = "/ws"
	// DefaultMaxMessage is the largest Message.Data a Conn sends or accepts.
	DefaultMaxMessage = 64 << 10
	// DefaultPingInterval is how often each side sends a ping frame.
	DefaultPingInterval = 25 * time.Second
	// DefaultPongTimeout is how long after a missed ping interval a silent
	// peer is declared dead: a connection that receives no frame at all for
	// PingInterval+PongTimeout is closed.
	DefaultPongTimeout = 20 * time.Second
	// DefaultWriteTimeout bounds each write to the socket.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultSendQueue is how many messages Send queues before it blocks.
	DefaultSendQueue = 256
	// DefaultReadHeaderTimeout cuts off clients that send request headers
	// too slowly (slowloris), in Transport.Listen's http.Server.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultAcceptTimeout is how long an upgraded connection waits for
	// Server.Accept before it is closed with 1013 (try again later).
	DefaultAcceptTimeout = 10 * time.Second

	// recvQueue is how many messages the background reader queues for Recv
	// before it stops reading (and TCP's flow control slows the peer).
	recvQueue = 16
	// idleHandover is how long after Recv returns (with no Recv reading
	// since) the background reader takes over reading the socket, so pings
	// are answered and a close is seen while the application is busy.
	idleHandover = 100 * time.Millisecond
	// readBuffer is gorilla's own read buffer: small, since sock holds the
	// bytes read ahead (see sock.go).
	readBuffer = 256

	// closeTimeout bounds how long Close spends flushing queued messages and
	// exchanging close frames.
	closeTimeout = 2 * time.Second
	// burstGap: a Send that follows the previous one this closely is part
	// of a burst, and goes to the writer so the burst leaves in few writes.
	burstGap = 5 * time.Microsecond
	// closeReplyWait is how long Close waits for the peer's close frame.
	closeReplyWait = 500 * time.Millisecond
	// maxFrameHeader is the largest WebSocket frame header (RFC 6455 5.2).
	maxFrameHeader = 14
	// batchBytes caps how many bytes of frames the writer holds before one
	// flush.
	batchBytes = 64 << 10
)

// Options configure a WebSocket server or client. The zero value uses the
// defaults above.
type Options struct {
	// MaxMessage is the largest Message.Data, in bytes (DefaultMaxMessage).
	MaxMessage int
	// ReadLimit is the largest frame payload accepted; a bigger one closes
	// the connection with 1009. Default 4*MaxMessage+1024, room for a
	// MaxMessage payload in base64 inside the JSON wire form.
	ReadLimit int64
	// PingInterval, PongTimeout, WriteTimeout: see the Default constants.
	PingInterval time.Duration
	PongTimeout  time.Duration
	WriteTimeout time.Duration
	// SendQueue is the number of messages Send may queue (DefaultSendQueue).
	SendQueue int
	// AllowOrigins lists extra browser origins (as "https://example.com")
	// the server accepts besides its own host and localhost; "*" accepts
	// any origin.
	AllowOrigins []string
	// ReadHeaderTimeout is used by Transport.Listen's http.Server.
	ReadHeaderTimeout time.Duration
	// AcceptTimeout: see DefaultAcceptTimeout.
	AcceptTimeout time.Duration
	// Path is the path Dial requests when its address has none (DefaultPath).
	Path string
	// CaptureHandshake makes Dial record the bytes of the HTTP handshake,
	// returned by Conn.Handshake.
	CaptureHandshake bool

	// noCork turns off writing queued frames together, and noDirect makes
	// every Send go through the writer goroutine (for the benchmarks that
	// measure what each gains).
	noCork   bool
	noDirect bool
}

func (o Options) withDefaults() Options {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 4*int64(o.MaxMessage) + 1024
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = DefaultPongTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.AcceptTimeout <= 0 {
		o.AcceptTimeout = DefaultAcceptTimeout
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	return o
}

// writeBufferPools lend write buffers big enough for one whole frame, so a
// client sends every message as a single frame without keeping a large
// buffer per idle connection. gorilla wants one pool per buffer size.
var writeBufferPools sync.Map // buffer size → *sync.Pool

func writeBufferPool(size int) *sync.Pool {
	p, _ := writeBufferPools.LoadOrStore(size, &sync.Pool{})
	return p.(*sync.Pool)
}

// A Server upgrades HTTP requests to WebSocket connections and hands them out
// through Accept. It is an http.Handler: mount it on any mux (every path it is
// mounted on upgrades). It is safe for concurrent use.
//
// To count bytes on the wire for the connections a Server accepts, serve it
// from an http.Server whose listener is wrapped with CountingListener; set
// that server's ReadHeaderTimeout against slowloris clients. net/http's
// Shutdown does not touch upgraded connections: Close the Server too.
type Server struct {
	opts     Options
	upgrader websocket.Upgrader
	accept   chan *Conn

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	closed bool

	done      chan struct{}
	closeOnce sync.Once
}

// NewServer returns a Server with opts (zero fields take the defaults).
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:   opts,
		accept: make(chan *Conn),
		conns:  make(map[*Conn]struct{}),
		done:   make(chan struct{}),
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   readBuffer,
		WriteBufferSize:  4096,
		// Idle connections return their write buffer to a pool, which
		// keeps memory per idle connection low (a classroom of thousands).
		WriteBufferPool: writeBufferPool(4096),
		CheckOrigin:     s.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Sec-Websocket-Version", "13")
			w.WriteHeader(status)
			fmt.Fprintf(w, "%s: %v\n", http.StatusText(status), reason)
		},
	}
	return s
}

// checkOrigin accepts requests without Origin (not from a browser), from a
// page on the same host, from a localhost page, and from AllowOrigins.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, a := range s.opts.AllowOrigins {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	switch h := strings.ToLower(u.Hostname()); {
	case h == "localhost", h == "127.0.0.1", h == "::1", strings.HasSuffix(h, ".localhost"):
		return true
	}
	return false
}

// ServeHTTP upgrades the request and queues the connection for Accept. A
// request that is not a WebSocket handshake gets 400 (or a small test page
// when a browser asks for HTML); a foreign Origin gets 403.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "ws: server closed", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodGet && !websocket.IsWebSocketUpgrade(r) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
		return
	}
	hj := &hijacker{ResponseWriter: w, limit: s.opts.ReadLimit}
	wc, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return // the upgrader answered with 400 or 403 and the reason
	}
	var c *Conn
	s.mu.Lock()
	c = newConn(wc, hj.sk, s.opts, false, func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	t := time.NewTimer(s.opts.AcceptTimeout)
	defer t.Stop()
	select {
	case s.accept <- c:
	case <-s.done:
		c.Close()
	case <-t.C:
		c.closeWith(websocket.CloseTryAgainLater, "server is not accepting connections")
	}
}

// Accept waits for the next upgraded connection. It returns an error
// matching transport.ErrClosed after Close.
func (s *Server) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-s.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, fmt.Errorf("ws: accept: %w", transport.ErrClosed)
	}
}

// Close refuses new handshakes (503) and closes every connection accepted
// so far. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		close(s.done)
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); c.closeWith(websocket.CloseGoingAway, "server closing") }()
		}
		wg.Wait()
	})
	return nil
}

// Handshake holds the bytes of a client's HTTP handshake as they crossed the
// wire: the GET with Upgrade: websocket and the server's 101 answer.
type Handshake struct {
	Request  []byte
	Response []byte
}

// A Conn is one WebSocket connection carrying netlab messages, one per text
// frame. Send, Recv and Close are safe for concurrent use.
//
// Reading: whoever holds the read token (rtok) reads the socket. Recv takes
// it and reads itself, so a message reaches Recv without a hand-off between
// goroutines. When no Recv has run for idleHandover, a background reader
// takes the token, so pings are answered, a close frame is seen and a dead
// peer is noticed while the application does not call Recv; it queues what
// it reads (up to recvQueue messages) and gives the token back as soon as a
// Recv asks for it. Either reader is interrupted by a read deadline in the
// past, which sock.go makes safe.
type Conn struct {
	ws     *websocket.Conn
	sk     *sock
	cc     *countconn.Conn // nil when the listener does not count
	opts   Options
	client bool

	send chan []byte
	// wmu serializes writes of message frames (gorilla allows one writer
	// at a time; pings and close frames go through WriteControl, which is
	// safe alongside). queued counts messages in send or being written by
	// the writer goroutine; Send writes directly only when it is 0, so
	// frames leave in the order Send was called.
	wmu      sync.Mutex
	queued   int
	lastSend time.Time // when Send was last called, guarded by wmu
	// plainPeer reports whether the peer has sent a plain text frame (wscat,
	// a browser): messages that are only text go back to it plain.
	plainPeer atomic.Bool

	rtok    chan struct{}   // holds a token when nobody reads the socket
	bgTimer *time.Timer     // starts the background reader
	qlen    atomic.Int32    // len(queue), read by Send without mu
	more    atomic.Bool     // bytes of further messages were read with the last one
	armed   atomic.Bool     // bgTimer is set
	actx    <-chan struct{} // the Done of the ctx astop watches; token holder's
	astop   func() bool
	// mu guards the fields below.
	mu       sync.Mutex
	queue    []received      // read by the background reader, for Recv
	rgen     uint64          // counts token hand-outs: an interrupt names one
	rdone    <-chan struct{} // ctx.Done() of the Recv holding the token
	recvs    uint64          // Recv calls that got the token or a queued message
	seen     uint64          // recvs when bgTimer last fired
	bgActive bool            // the background reader holds the token
	intr     bool            // the read deadline is in the past to interrupt a reader
	rdl      time.Time       // the heartbeat read deadline
	quiet    int             // heartbeat slots without bytes in a row; token holder's
	readErr  error           // why reading ended, set before readDone is closed
	readDone chan struct{}

	closing   chan struct{} // closed by Close: stop accepting sends, flush, close
	closeOnce sync.Once
	closeCode int // close code the writer sends, set before closing is closed
	closeText string

	writeDone chan struct{} // closed when the writer goroutine ends
	writeErr  error         // set before writeDone is closed
	closedRef atomic.Bool   // Close was called
	onClose   func()

	handshake Handshake
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

// errInterrupted: a reader was interrupted before it consumed anything.
var errInterrupted = errors.New("ws: read interrupted")

func newConn(wc *websocket.Conn, sk *sock, opts Options, client bool, onClose func()) *Conn {
	c := &Conn{
		ws:        wc,
		sk:        sk,
		opts:      opts,
		client:    client,
		send:      make(chan []byte, opts.SendQueue),
		rtok:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		readDone:  make(chan struct{}),
		writeDone: make(chan struct{}),
		onClose:   onClose,
	}
	c.cc, _ = sk.Conn.(*countconn.Conn)
	wc.SetReadLimit(opts.ReadLimit)
	c.rdl = time.Now().Add(c.slot())
	sk.Conn.SetReadDeadline(c.rdl)
	wc.SetPongHandler(func(string) error { return nil }) // any bytes count (sock.got)
	wc.SetPingHandler(func(data string) error {
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.opts.WriteTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	c.rtok <- struct{}{}
	c.armed.Store(true)
	c.bgTimer = time.AfterFunc(idleHandover, c.bgRead)
	go c.writePump()
	return c
}

// encodeBuffers lend Send a buffer to encode a message into.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// Send queues m to go out as one text frame.
func (c *Conn) Send(ctx context.Context, m transport.Message) error {
	if c.closedRef.Load() {
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	}
	if len(m.Data) > c.opts.MaxMessage {
		return fmt.Errorf("ws: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
	}
	// Encode into a pooled buffer: a frame written here needs no buffer of
	// its own; one handed to the writer gets a copy.
	bp := encodeBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			encodeBuffers.Put(bp)
		}
	}()
	b := (*bp)[:0]
	if c.plainPeer.Load() && transport.SendsAsPlainText(m, false) {
		b = append(b, m.Data...)
	} else {
		b = transport.AppendEncode(b, m)
	}
	*bp = b
	if int64(len(b)) > c.opts.ReadLimit {
		return fmt.Errorf("ws: send: %d-byte frame: %w (read limit %d)", len(b), transport.ErrTooLarge, c.opts.ReadLimit)
	}
	c.wmu.Lock()
	now := time.Now()
	burst := now.Sub(c.lastSend) < burstGap
	c.lastSend = now
	if c.queued == 0 && c.qlen.Load() == 0 && !c.more.Load() && !burst && !c.opts.noDirect {
		// Nothing queued or being written, and no messages waiting to be
		// received (a sign of a busy connection, where more sends follow
		// and the writer can coalesce them): write the frame here. Handing
		// it to the writer goroutine would cost a wake-up, a good part of
		// a loopback round trip, for nothing to coalesce.
		c.ws.SetWriteDeadline(now.Add(c.opts.WriteTimeout))
		err := c.ws.WriteMessage(websocket.TextMessage, b)
		c.wmu.Unlock()
		if err != nil {
			c.ws.Close() // the connection is broken: the reader ends, then the writer
			return fmt.Errorf("ws: send: %w", err)
		}
		return nil
	}
	c.queued++
	c.wmu.Unlock()
	b = bytes.Clone(b)
	select {
	case c.send <- b: // the common case, without a many-way select
		return nil
	default:
	}
	unqueue := func() {
		c.wmu.Lock()
		c.queued--
		c.wmu.Unlock()
	}
	select {
	case c.send <- b:
		return nil
	case <-ctx.Done():
		unqueue()
		return ctx.Err()
	case <-c.closing:
		unqueue()
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	case <-c.writeDone:
		unqueue()
		if c.writeErr != nil {
			return fmt.Errorf("ws: send: %w", c.writeErr)
		}
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	}
}

// Recv returns the next message. It returns io.EOF after the peer closed the
// connection with 1000 (normal) or 1001 (going away). When ctx is done Recv
// returns ctx.Err() and the connection stays usable.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	if c.closedRef.Load() {
		return transport.Message{}, fmt.Errorf("ws: recv: %w", transport.ErrClosed)
	}
	for {
		select {
		case <-c.rtok: // the common case: nobody else reads
		default:
			c.mu.Lock()
			if r, ok := c.popLocked(); ok {
				c.recvs++
				c.mu.Unlock()
				c.recvDone()
				return r.m, r.err
			}
			if c.readErr != nil {
				c.mu.Unlock()
				return transport.Message{}, c.endErr()
			}
			if c.bgActive {
				c.interruptLocked(c.rgen) // hand the token over, please
			}
			c.mu.Unlock()
			select {
			case <-c.rtok:
			case <-ctx.Done():
				return transport.Message{}, ctx.Err()
			case <-c.readDone:
				continue
			}
		}
		r, err := c.recvHolding(ctx)
		if err == errInterrupted {
			if err := ctx.Err(); err != nil {
				return transport.Message{}, err
			}
			continue
		}
		if err != nil {
			return transport.Message{}, err
		}
		return r.m, r.err
	}
}

// recvHolding reads one message for Recv, which holds the read token; it
// gives the token back.
func (c *Conn) recvHolding(ctx context.Context) (received, error) {
	done := ctx.Done()
	if done != nil && done != c.actx {
		// Watch this ctx: a Recv reading with it is interrupted when it
		// ends. The watch stays for the next Recv with the same ctx.
		if c.astop != nil {
			c.astop()
		}
		c.actx = done
		c.astop = context.AfterFunc(ctx, func() { c.ctxDone(done) })
	}
	c.mu.Lock()
	c.rgen++
	c.recvs++
	c.rdone = done
	r, ok := c.popLocked()
	failed := c.readErr != nil
	c.mu.Unlock()
	if ok || failed {
		c.release()
		if ok {
			c.recvDone()
			return r, nil
		}
		return received{}, c.endErr()
	}
	if done != nil {
		select {
		case <-done: // ended before the watch could see us reading
			c.release()
			return received{}, errInterrupted
		default:
		}
	}
	r, err := c.readMsg()
	if err != nil && err != errInterrupted {
		c.fail(err)
		c.release()
		return received{}, c.endErr()
	}
	c.release()
	if err == nil {
		c.recvDone()
	}
	return r, err
}

// recvDone makes sure the background reader looks in within idleHandover,
// or at once while closing (Close waits for the peer's close frame).
func (c *Conn) recvDone() {
	if c.closedRef.Load() {
		select {
		case <-c.readDone:
		default:
			c.bgTimer.Reset(0)
		}
		return
	}
	if !c.armed.Load() && c.armed.CompareAndSwap(false, true) {
		c.bgTimer.Reset(idleHandover)
	}
}

func (c *Conn) popLocked() (received, bool) {
	if len(c.queue) == 0 {
		return received{}, false
	}
	r := c.queue[0]
	c.queue[0] = received{}
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	c.qlen.Add(-1)
	return r, true
}

// endErr is what Recv returns once reading has ended.
func (c *Conn) endErr() error {
	if c.closedRef.Load() {
		return fmt.Errorf("ws: recv: %w", transport.ErrClosed)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// release gives the read token back, first undoing an interrupt that came
// too late to matter.
func (c *Conn) release() {
	c.mu.Lock()
	c.rgen++ // later interrupts are for someone else
	c.rdone = nil
	if c.intr {
		c.intr = false
		c.sk.Conn.SetReadDeadline(c.rdl)
	}
	c.mu.Unlock()
	c.rtok <- struct{}{}
}

// ctxDone interrupts the Recv reading with the ctx whose Done is done, if
// one is.
func (c *Conn) ctxDone(done <-chan struct{}) {
	c.mu.Lock()
	if c.rdone == done {
		c.interruptLocked(c.rgen)
	}
	c.mu.Unlock()
}

func (c *Conn) interruptLocked(gen uint64) {
	if c.rgen == gen && !c.intr {
		c.intr = true
		c.sk.Conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// takeInterrupt reports whether a reader's timeout was an interrupt, and
// restores the heartbeat deadline if so.
func (c *Conn) takeInterrupt() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.intr {
		return false
	}
	c.intr = false
	c.sk.Conn.SetReadDeadline(c.rdl)
	return true
}

// setDeadline moves the heartbeat read deadline (unless an interrupt has it
// in the past; it is restored from rdl afterwards).
func (c *Conn) setDeadline(t time.Time) {
	c.mu.Lock()
	c.rdl = t
	if !c.intr {
		c.sk.Conn.SetReadDeadline(t)
	}
	c.mu.Unlock()
}

// fail ends reading with err (the first error wins).
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.readErr == nil {
		c.readErr = err
		close(c.readDone)
	}
	c.mu.Unlock()
}

// bgRead is the background reader, run by bgTimer: it reads while nobody
// else does, until a Recv wants the token, the queue is full, or reading
// ends. While closing it drops messages, reading only to see the peer's
// close frame.
func (c *Conn) bgRead() {
	select {
	case <-c.rtok:
	default:
		// A Recv reads; it sets the timer again when it returns, unless
		// it returned just now, seeing the timer still set: look again.
		c.armed.Store(false)
		select {
		case <-c.rtok:
			c.rtok <- struct{}{}
			c.recvDone()
		default:
		}
		return
	}
	select {
	case <-c.closing:
	default:
		c.mu.Lock()
		busy := c.recvs != c.seen
		c.seen = c.recvs
		c.mu.Unlock()
		if busy { // Recv ran since the last look: look again later
			c.rtok <- struct{}{}
			c.bgTimer.Reset(idleHandover)
			return
		}
	}
	c.armed.Store(false)
	for first := true; ; first = false {
		if !first {
			select {
			case <-c.rtok:
			default:
				return // a Recv reads
			}
		}
		c.mu.Lock()
		if c.readErr != nil {
			c.mu.Unlock()
			c.rtok <- struct{}{}
			return
		}
		c.rgen++
		c.bgActive = true
		c.mu.Unlock()
		closing := false
		for {
			select {
			case <-c.closing:
				closing = true
			default:
			}
			c.mu.Lock()
			stop := c.intr || (len(c.queue) >= recvQueue && !closing)
			c.mu.Unlock()
			if stop {
				break
			}
			r, err := c.readMsg()
			if err == errInterrupted {
				break
			}
			if err != nil {
				c.fail(err)
				break
			}
			if !closing {
				c.mu.Lock()
				c.queue = append(c.queue, r)
				c.qlen.Add(1)
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		c.bgActive = false
		c.mu.Unlock()
		c.release()
		select {
		case <-c.closing:
			// Closing: make sure someone goes on reading until the end,
			// unless a Recv has the token.
			c.mu.Lock()
			done := c.readErr != nil
			c.mu.Unlock()
			if !done {
				continue
			}
		default:
		}
		return
	}
}

// Close sends what is queued (within about two seconds), sends a close frame
// with 1000, waits briefly for the peer's, and closes the connection.
func (c *Conn) Close() error {
	c.closeWith(websocket.CloseNormalClosure, "")
	return nil
}

func (c *Conn) closeWith(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		c.closedRef.Store(true)
		close(c.closing)
	})
	<-c.writeDone
	// The writer closed the socket: whoever reads stops, and reading ends.
	<-c.rtok
	c.fail(fmt.Errorf("ws: read: %w", transport.ErrClosed))
	c.bgTimer.Stop()
	if c.astop != nil {
		c.astop()
		c.astop, c.actx = nil, nil
	}
	c.rtok <- struct{}{}
}

// WireStats reports the bytes that crossed this connection's socket, the
// HTTP handshake included; Requests is 1, the handshake. On a server whose
// listener does not count (see CountingListener) the byte counts are zero.
func (c *Conn) WireStats() transport.WireStats {
	st := transport.WireStats{Requests: 1}
	if c.cc != nil {
		st.BytesReceived, st.BytesSent = c.cc.Totals()
	}
	return st
}

// Handshake returns the HTTP handshake bytes recorded by a client dialled
// with Options.CaptureHandshake.
func (c *Conn) Handshake() Handshake { return c.handshake }

// LocalAddr and RemoteAddr return the socket's addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// The heartbeat: the window PingInterval+PongTimeout is watched in four
// slots, each a read deadline. When a deadline passes, the slot counts as
// quiet unless bytes arrived in it (sock.got), and four quiet slots in a row
// mean the peer is dead: a connection is closed after between one and one
// and a quarter windows of silence. Moving a deadline on every message
// instead would cost a clock read and a timer update each time.
func (c *Conn) slot() time.Duration { return (c.opts.PingInterval + c.opts.PongTimeout) / 4 }

// heartbeat handles a read deadline that passed (not an interrupt): it
// reports whether the peer is still alive, and if so sets the next slot.
// The caller holds the read token.
func (c *Conn) heartbeat() bool {
	if c.sk.got {
		c.sk.got, c.quiet = false, 0
	} else if c.quiet++; c.quiet >= 4 {
		return false
	}
	c.setDeadline(time.Now().Add(c.slot()))
	return true
}

// readMsg reads the next message; the caller holds the read token. It waits
// in sock for a whole message before gorilla reads it, so an interrupt
// (errInterrupted) leaves nothing half-read. Any other error ends reading.
// It applies the UTF-8 check and the size limits.
func (c *Conn) readMsg() (received, error) {
	var typ int
	var p []byte
	var err error
	for {
		if op, payload, ok := c.sk.message(); ok {
			// The common case, one whole frame: read here, without
			// gorilla's reader and its copy. p is sock's buffer: Decode
			// copies what it keeps.
			typ, p = int(op), payload
			if typ == websocket.BinaryMessage {
				p = bytes.Clone(p)
			}
			break
		}
		if op, payload, ok := c.sk.control(); ok {
			if op == websocket.PingMessage {
				err = c.ws.PingHandler()(string(payload))
			} else {
				err = c.ws.PongHandler()(string(payload))
			}
			if err != nil {
				return received{}, c.readError(err)
			}
			continue
		}
		if !c.sk.ready() {
			err := c.sk.fill()
			if err == nil {
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if c.takeInterrupt() {
					return received{}, errInterrupted
				}
				if c.heartbeat() {
					continue
				}
			}
			c.sk.err = err // gorilla reports it, as it would have read it
		}
		if typ, p, err = c.ws.ReadMessage(); err != nil {
			return received{}, c.readError(err)
		}
		break
	}
	c.more.Store(c.sk.r < c.sk.w)
	var r received
	if typ == websocket.TextMessage {
		if !utf8.Valid(p) {
			return received{}, c.refuse(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8")
		}
		r.m, err = transport.Decode(p)
		if err != nil {
			r.err = fmt.Errorf("ws: recv: %w", err) // the connection stays usable
		}
		if err != nil || transport.IsPlainText(p) {
			// Someone typing (wscat, a browser): from now on, messages
			// that are only text go back as plain text. Sticky, so the
			// answer does not depend on what the peer sent last.
			c.plainPeer.Store(true)
		}
	} else {
		r.m = transport.Message{Data: p}
	}
	if r.err == nil && len(r.m.Data) > c.opts.MaxMessage {
		c.refuse(websocket.CloseMessageTooBig, fmt.Sprintf("message of %d bytes is over the %d-byte limit", len(r.m.Data), c.opts.MaxMessage))
		return received{}, fmt.Errorf("ws: recv %d bytes: %w (limit %d)", len(r.m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
	}
	return r, nil
}

// received is one message or a malformed one, for Recv.
type received struct {
	m   transport.Message
	err error
}

// refuse sends a close frame with code and returns the error that ends
// reading.
func (c *Conn) refuse(code int, text string) error {
	if len(text) > 120 { // a close frame's reason must fit in 123 bytes
		text = text[:120]
	}
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(c.opts.WriteTimeout))
	return fmt.Errorf("ws: read: closed the connection with %d: %s", code, text)
}

func (c *Conn) readError(err error) error {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway || ce.Code == websocket.CloseNoStatusReceived):
		return io.EOF
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("ws: read: frame over %d bytes: %w", c.opts.ReadLimit, transport.ErrTooLarge)
	case c.closedRef.Load():
		return fmt.Errorf("ws: read: %w", transport.ErrClosed)
	}
	return fmt.Errorf("ws: read: %w", err)
}

// writePump is the connection's only writer of messages and pings. It writes
// every frame already queued before flushing them to the socket together.
func (c *Conn) writePump() {
	ping := time.NewTicker(c.opts.PingInterval)
	defer func() {
		ping.Stop()
		c.ws.Close() // closes the socket; the reader then ends
		close(c.writeDone)
		if c.onClose != nil {
			c.onClose()
		}
	}()
	for {
		select {
		case b := <-c.send:
			if err := c.writeBatch(b, time.Now().Add(c.opts.WriteTimeout)); err != nil {
				c.writeErr = err
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout)); err != nil {
				c.writeErr = err
				return
			}
		case <-c.readDone:
			return
		case <-c.closing:
			c.finish()
			return
		}
	}
}

// finish flushes what is queued, sends the close frame and waits briefly
// for the peer's.
func (c *Conn) finish() {
	deadline := time.Now().Add(closeTimeout)
	for {
		select {
		case b := <-c.send:
			if err := c.writeBatch(b, deadline); err != nil {
				return
			}
			continue
		default:
		}
		break
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, deadline); err != nil {
		return
	}
	// RFC 6455 7.1.1 lets the endpoint close TCP after its close frame; wait
	// a little for the peer's close frame, which a peer whose application
	// is not reading may not send for a long time. What we sent is safe in
	// the peer's socket buffer either way. Unless a Recv is reading, the
	// background reader looks for the peer's close frame.
	c.bgTimer.Reset(0)
	t := time.NewTimer(closeReplyWait)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

// writeBatch writes first and every frame queued behind it (up to
// batchBytes), corking the socket so they leave in one write.
func (c *Conn) writeBatch(first []byte, deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	corked := c.cc != nil && !c.opts.noCork && len(c.send) > 0 // a lone frame goes straight out
	if corked {
		c.cc.Cork()
	}
	c.ws.SetWriteDeadline(deadline)
	err := c.ws.WriteMessage(websocket.TextMessage, first)
	size, written := len(first), 1
	for n := len(c.send); err == nil && n > 0 && size < batchBytes; n-- {
		b := <-c.send
		size += len(b)
		written++
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	}
	c.queued -= written
	if corked {
		if uerr := c.cc.Uncork(); err == nil {
			err = uerr
		}
	}
	if err != nil {
		return fmt.Errorf("ws: write: %w", err)
	}
	return nil
}

// Dial opens a WebSocket connection. addr is "host:port" (Options.Path is
// requested) or a ws:// URL.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	u := addr
	if !strings.Contains(addr, "://") {
		u = "ws://" + addr + opts.Path
	}
	var cc *countconn.Conn
	var sk *sock
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			cc = countconn.New(nc, nil)
			if opts.CaptureHandshake {
				cc.StartCapture()
			}
			sk = newSock(cc, false, opts.ReadLimit, sockHandshake)
			return sk, nil
		},
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   readBuffer,
		WriteBufferSize:  int(opts.ReadLimit) + maxFrameHeader,
		WriteBufferPool:  writeBufferPool(int(opts.ReadLimit) + maxFrameHeader),
	}
	wc, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			resp.Body.Close()
			return nil, fmt.Errorf("ws: dial %s: %w (HTTP %s: %s)", u, err, resp.Status, bytes.TrimSpace(body))
		}
		return nil, fmt.Errorf("ws: dial %s: %w", u, err)
	}
	var hs Handshake
	if opts.CaptureHandshake && cc != nil {
		w, r := cc.StopCapture()
		hs.Request = cutHeader(w)
		hs.Response = cutHeader(r)
	}
	c := newConn(wc, sk, opts, true, nil)
	c.handshake = hs
	return c, nil
}

// cutHeader returns b up to and including the blank line that ends an HTTP
// header block.
func cutHeader(b []byte) []byte {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+4]
	}
	return b
}

// Transport is the "ws" transport.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns the WebSocket transport with opts.
func New(opts Options) *Transport { return &Transport{opts: opts.withDefaults()} }

// Info describes the transport: reliable, ordered, connected, full duplex.
func (t *Transport) Info() transport.Info {
	return transport.Info{Name: "ws", Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: true, MaxMessage: t.opts.MaxMessage}
}

// Listen serves a Server on addr ("" means 127.0.0.1:0) from its own
// http.Server, on every path, with a counting listener and ReadHeaderTimeout.
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	capped := accept.Wrap(ln, accept.Config{Refusal: accept.HTTPFull}) // out-of-fd retry, 503 over the fd-derived cap
	return httplisten.Serve(ln, CountingListener(capped), NewServer(t.opts), &http.Server{
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          quietLog,
	}), nil
}

// Dial connects to a ws server at addr (host:port or ws:// URL).
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	return Dial(ctx, addr, t.opts)
}

// CountingListener wraps l so that every connection it accepts counts its
// bytes; connections a Server accepts through it report them in WireStats.
func CountingListener(l net.Listener) net.Listener { return countconn.Listener{Listener: l} }
