package ws

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/pump"
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
	// DefaultReadHeaderTimeout cuts off clients that send request headers
	// too slowly (slowloris), in Transport.Listen's http.Server.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultAcceptTimeout is how long an upgraded connection waits for
	// Server.Accept before it is closed with 1013 (try again later).
	DefaultAcceptTimeout = 10 * time.Second
	// ReadAhead is how many messages the read pump reads ahead of Recv
	// before it stops reading (and TCP's flow control slows the peer).
	ReadAhead = 4

	// readBuffer is gorilla's read buffer: frame headers and control frames
	// go through it; a large payload is read past it.
	readBuffer = 256
	// answerWait is how long Close waits for the peer's close frame.
	answerWait = 500 * time.Millisecond
	// maxFrameHeader is the largest WebSocket frame header (RFC 6455 5.2).
	maxFrameHeader = 14
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
	// MaxConns bounds the connections Transport.Listen keeps open; the
	// excess is answered 503 and closed. 0 means a default below the file
	// descriptor limit (see transport/accept).
	MaxConns int
	// Logf, when set, hears Transport.Listen's accept errors (once, not per
	// retry).
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	orDefault(&o.MaxMessage, DefaultMaxMessage)
	orDefault(&o.ReadLimit, 4*int64(o.MaxMessage)+1024)
	orDefault(&o.PingInterval, DefaultPingInterval)
	orDefault(&o.PongTimeout, DefaultPongTimeout)
	orDefault(&o.WriteTimeout, DefaultWriteTimeout)
	orDefault(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	orDefault(&o.AcceptTimeout, DefaultAcceptTimeout)
	if o.Path == "" {
		o.Path = DefaultPath
	}
	return o
}

// orDefault sets a zero or negative *v to d.
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// A Conn is one WebSocket connection carrying netlab messages, one per text
// frame: a pump.Conn (read pump, write lock) over gorilla. Send, Recv, Close
// and CloseWith are safe for concurrent use.
type Conn struct {
	*pump.Conn
	ws        *websocket.Conn
	cc        *countconn.Conn // nil when the listener does not count
	handshake Handshake
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

func newConn(wc *websocket.Conn, watch *frameWatch, cc *countconn.Conn, opts Options, onClose func()) *Conn {
	return &Conn{
		Conn: pump.New(newWire(wc, watch, opts), pump.Options{
			Name:         "ws",
			MaxMessage:   opts.MaxMessage,
			WriteTimeout: opts.WriteTimeout,
			RecvQueue:    ReadAhead,
			PingInterval: opts.PingInterval,
			CloseCode:    websocket.CloseNormalClosure,
			AnswerWait:   answerWait,
			OnClose:      onClose,
		}),
		ws: wc,
		cc: cc,
	}
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

// Handshake holds the bytes of a client's HTTP handshake as they crossed the
// wire: the GET with Upgrade: websocket and the server's 101 answer.
type Handshake struct {
	Request  []byte
	Response []byte
}

// Handshake returns the HTTP handshake bytes recorded by a client dialled
// with Options.CaptureHandshake.
func (c *Conn) Handshake() Handshake { return c.handshake }

// LocalAddr and RemoteAddr return the socket's addresses.
func (c *Conn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// writeBufferPools lend write buffers big enough for one whole frame, so a
// client sends every message as a single frame without keeping a large
// buffer per idle connection. gorilla wants one pool per buffer size.
var writeBufferPools sync.Map // buffer size → *sync.Pool

func writeBufferPool(size int) *sync.Pool {
	p, _ := writeBufferPools.LoadOrStore(size, &sync.Pool{})
	return p.(*sync.Pool)
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
	c := newConn(wc, nil, cc, opts, nil)
	if opts.CaptureHandshake && cc != nil {
		w, r := cc.StopCapture()
		c.handshake = Handshake{Request: cutHeader(w), Response: cutHeader(r)}
	}
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

// Dial connects to a ws server at addr (host:port or ws:// URL).
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := Dial(ctx, addr, t.opts)
	if err != nil {
		return nil, err // a nil Conn, not a nil *Conn inside the interface
	}
	return c, nil
}
