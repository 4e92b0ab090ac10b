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
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
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

	// closeTimeout bounds how long Close spends flushing queued messages and
	// exchanging close frames.
	closeTimeout = 2 * time.Second
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

// writeBufferPool lends write buffers big enough for one whole frame, so a
// client sends every message as a single frame without keeping a large
// buffer per idle connection.
var writeBufferPool = &sync.Pool{}

// A Server upgrades HTTP requests to WebSocket connections and hands them out
// through Accept. It is an http.Handler: mount it on any mux (every path it is
// mounted on upgrades). It is safe for concurrent use.
//
// To count bytes on the wire for the connections a Server accepts, serve it
// from an http.Server whose listener is wrapped with CountingListener.
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
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		CheckOrigin:      s.checkOrigin,
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
	wc, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered with 400 or 403 and the reason
	}
	c := newConn(wc, s.opts, false)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	c.onClose = func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
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
type Conn struct {
	ws     *websocket.Conn
	cc     *countconn.Conn // nil when the listener does not count
	opts   Options
	client bool

	send chan []byte
	recv chan transport.Message

	closing   chan struct{} // closed by Close: stop accepting sends, flush, close
	closeOnce sync.Once
	closeCode int // close code the writer sends, set before closing is closed
	closeText string

	readDone  chan struct{} // closed when the reader goroutine ends
	readErr   error         // why it ended, set before readDone is closed
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

func newConn(wc *websocket.Conn, opts Options, client bool) *Conn {
	c := &Conn{
		ws:        wc,
		opts:      opts,
		client:    client,
		send:      make(chan []byte, opts.SendQueue),
		recv:      make(chan transport.Message, 64),
		closing:   make(chan struct{}),
		readDone:  make(chan struct{}),
		writeDone: make(chan struct{}),
	}
	c.cc, _ = wc.NetConn().(*countconn.Conn)
	go c.readPump()
	go c.writePump()
	return c
}

// Send queues m to go out as one text frame.
func (c *Conn) Send(ctx context.Context, m transport.Message) error {
	if c.closedRef.Load() {
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	}
	if len(m.Data) > c.opts.MaxMessage {
		return fmt.Errorf("ws: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.opts.MaxMessage)
	}
	b := transport.Encode(m)
	if int64(len(b)) > c.opts.ReadLimit {
		return fmt.Errorf("ws: send: %d-byte frame: %w (read limit %d)", len(b), transport.ErrTooLarge, c.opts.ReadLimit)
	}
	select {
	case c.send <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	case <-c.writeDone:
		if c.writeErr != nil {
			return fmt.Errorf("ws: send: %w", c.writeErr)
		}
		return fmt.Errorf("ws: send: %w", transport.ErrClosed)
	}
}

// Recv returns the next message. It returns io.EOF after the peer closed the
// connection with 1000 (normal) or 1001 (going away).
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) {
	if c.closedRef.Load() {
		return transport.Message{}, fmt.Errorf("ws: recv: %w", transport.ErrClosed)
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
		if c.closedRef.Load() {
			return transport.Message{}, fmt.Errorf("ws: recv: %w", transport.ErrClosed)
		}
		return transport.Message{}, c.readErr
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
	<-c.readDone
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

func (c *Conn) deadline() time.Time {
	return time.Now().Add(c.opts.PingInterval + c.opts.PongTimeout)
}

// readPump is the connection's only reader: it applies the read limit, the
// heartbeat deadline and the UTF-8 check, and queues messages for Recv.
func (c *Conn) readPump() {
	defer close(c.readDone)
	c.ws.SetReadLimit(c.opts.ReadLimit)
	c.ws.SetReadDeadline(c.deadline())
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(c.deadline())
		return nil
	})
	c.ws.SetPingHandler(func(data string) error {
		c.ws.SetReadDeadline(c.deadline())
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.opts.WriteTimeout))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	for {
		typ, p, err := c.ws.ReadMessage()
		if err != nil {
			c.readErr = c.readError(err)
			return
		}
		c.ws.SetReadDeadline(c.deadline())
		var m transport.Message
		if typ == websocket.TextMessage {
			if !utf8.Valid(p) {
				c.refuse(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8")
				return
			}
			m, err = transport.Decode(p)
			if err != nil {
				c.refuse(websocket.CloseInvalidFramePayloadData, "not a netlab message: "+err.Error())
				return
			}
		} else {
			m = transport.Message{Data: p}
		}
		select {
		case c.recv <- m:
		case <-c.closing: // closing: keep reading only to see the peer's close frame
		}
	}
}

// refuse sends a close frame with code and ends the reader.
func (c *Conn) refuse(code int, text string) {
	if len(text) > 120 { // a close frame's reason must fit in 123 bytes
		text = text[:120]
	}
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(c.opts.WriteTimeout))
	c.readErr = fmt.Errorf("ws: read: closed the connection with %d: %s", code, text)
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
	t := time.NewTimer(time.Until(deadline) + time.Second)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

// writeBatch writes first and every frame queued behind it (up to
// batchBytes), corking the socket so they leave in one write.
func (c *Conn) writeBatch(first []byte, deadline time.Time) error {
	if c.cc != nil {
		c.cc.Cork()
	}
	c.ws.SetWriteDeadline(deadline)
	err := c.ws.WriteMessage(websocket.TextMessage, first)
	size := len(first)
	for n := len(c.send); err == nil && n > 0 && size < batchBytes; n-- {
		b := <-c.send
		size += len(b)
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	}
	if c.cc != nil {
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
			return cc, nil
		},
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  int(opts.ReadLimit) + maxFrameHeader,
		WriteBufferPool:  writeBufferPool,
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
	c := newConn(wc, opts, true)
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
	l := &Listener{srv: NewServer(t.opts), ln: ln, served: make(chan struct{})}
	l.hs = &http.Server{
		Handler:           l.srv,
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          quietLog,
	}
	go func() {
		defer close(l.served)
		l.hs.Serve(CountingListener(ln))
	}()
	return l, nil
}

// Dial connects to a ws server at addr (host:port or ws:// URL).
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	return Dial(ctx, addr, t.opts)
}

// A Listener is a Server on its own http.Server.
type Listener struct {
	srv    *Server
	hs     *http.Server
	ln     net.Listener
	served chan struct{}
	once   sync.Once
}

// Accept waits for the next WebSocket client.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) { return l.srv.Accept(ctx) }

// Addr is the TCP address the server listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Server returns the http.Handler behind the listener.
func (l *Listener) Server() *Server { return l.srv }

// Close closes every connection and stops the http.Server.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.srv.Close()
		l.hs.Close()
		<-l.served
	})
	return nil
}

// CountingListener wraps l so that every connection it accepts counts its
// bytes; connections a Server accepts through it report them in WireStats.
func CountingListener(l net.Listener) net.Listener { return countconn.Listener{Listener: l} }
