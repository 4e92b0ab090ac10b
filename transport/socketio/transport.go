package socketio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/httplisten"
)

// Options configure the socketio transport.
type Options struct {
	// Transports is what the client tries, as the JS client's transports
	// option: [polling websocket] (default), [websocket] or [polling].
	Transports []string
	// Server configures the listening side.
	Server ServerOptions
}

// MaxMessage is the largest Message.Data the transport carries: room for
// the worst case of JSON escaping (6 bytes per byte) inside the default
// 1 MB payload limit.
const MaxMessage = (DefaultMaxPayload - 1024) / 6

// Transport is netlab's socketio transport: one netlab message is one
// Socket.IO event, 42["<event>",{"seq":…,"text":…}], over Engine.IO (HTTP
// long-polling, upgraded to WebSocket). It is safe for concurrent use.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns the transport.
func New(opts Options) *Transport {
	if len(opts.Transports) == 0 {
		opts.Transports = []string{Polling, WebSocket}
	}
	return &Transport{opts: opts}
}

// ParseTransports parses "polling", "websocket" or "polling,websocket".
func ParseTransports(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("unknown Socket.IO transport %q: want polling, websocket or polling,websocket", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// Transports is what the client tries, in order: [polling websocket]
// when Options.Transports was empty.
func (t *Transport) Transports() []string {
	if len(t.opts.Transports) == 0 {
		return []string{Polling, WebSocket}
	}
	return slices.Clone(t.opts.Transports)
}

// Info describes the transport. It is full duplex unless the client may
// only poll.
func (t *Transport) Info() transport.Info {
	duplex := len(t.opts.Transports) != 1 || t.opts.Transports[0] != Polling
	return transport.Info{Name: "socketio", Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: duplex, MaxMessage: MaxMessage}
}

// Dial connects a Client to the server at addr and returns it as a Conn.
// Reconnection is off: a lost session ends the Conn, as a lost TCP
// connection would.
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := Connect(ctx, addr, ClientOptions{Transports: t.opts.Transports})
	if err != nil {
		return nil, err
	}
	return &clientConn{c: c}, nil
}

// Listen serves a Socket.IO server on addr from its own http.Server; every
// socket that connects to "/" is a Conn from Accept.
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	h := NewDoor(t.opts.Server)
	hs := &http.Server{ConnContext: countconn.ConnContext, ReadHeaderTimeout: 10 * time.Second}
	return httplisten.Serve(ln, countconn.Listener{Listener: ln}, h, hs), nil
}

// arg is the event argument a message travels as (the event's name is the
// message's Event, "message" when empty, as socket.send() emits):
//
//	{"seq":1,"room":"lobby","sent":"2024-11-26T19:40:00.123456789Z","text":"hello"}
//
// with "data" (base64) instead of "text" when Data is not valid UTF-8.
type arg struct {
	Seq  uint64 `json:"seq,omitempty"`
	Room string `json:"room,omitempty"`
	Sent string `json:"sent,omitempty"` // RFC 3339 with nanoseconds
	Text string `json:"text,omitempty"`
	Data []byte `json:"data,omitempty"`
}

func toArg(m transport.Message) (string, arg) {
	name := m.Event
	if name == "" {
		name = "message"
	}
	a := arg{Seq: m.Seq, Room: m.Room}
	if !m.Sent.IsZero() {
		a.Sent = m.Sent.UTC().Format(time.RFC3339Nano)
	}
	if utf8.Valid(m.Data) {
		a.Text = string(m.Data)
	} else {
		a.Data = m.Data
	}
	return name, a
}

// fromArg is the message an event carries: the form above, or a plain
// string from a JS client's emit("chat", "hi"), or any other JSON.
func fromArg(name string, raw []byte) transport.Message {
	var m transport.Message
	var a arg
	var s string
	switch {
	case len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &a) == nil:
		m = transport.Message{Seq: a.Seq, Room: a.Room, Data: a.Data}
		if a.Text != "" {
			m.Data = []byte(a.Text)
		}
		if a.Sent != "" {
			m.Sent, _ = time.Parse(time.RFC3339Nano, a.Sent)
		}
	case len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil:
		m.Data = []byte(s)
	default:
		m.Data = append([]byte(nil), raw...)
	}
	if name != "message" {
		m.Event = name
	}
	return m
}

// fromValue is fromArg for a value the server library decoded.
func fromValue(name string, v any) transport.Message {
	switch v := v.(type) {
	case string:
		m := fromArg(name, nil)
		m.Data = []byte(v)
		return m
	case map[string]any:
		var m transport.Message
		if f, ok := v["seq"].(float64); ok {
			m.Seq = uint64(f)
		}
		m.Room, _ = v["room"].(string)
		if s, ok := v["sent"].(string); ok {
			m.Sent, _ = time.Parse(time.RFC3339Nano, s)
		}
		if t, ok := v["text"].(string); ok {
			m.Data = []byte(t)
		} else if d, ok := v["data"].(string); ok {
			m.Data, _ = base64.StdEncoding.DecodeString(d)
		}
		if name != "message" {
			m.Event = name
		}
		return m
	case nil:
		return fromArg(name, nil)
	}
	raw, _ := json.Marshal(v)
	return fromArg(name, raw)
}

func checkSize(m transport.Message) error {
	if len(m.Data) > MaxMessage {
		return fmt.Errorf("socketio: %d-byte message over the %d-byte limit: %w", len(m.Data), MaxMessage, transport.ErrTooLarge)
	}
	return nil
}

// clientConn is a Client as a transport.Conn.
type clientConn struct {
	c      *Client
	closed atomic.Bool
}

var (
	_ transport.Conn  = (*clientConn)(nil)
	_ transport.Meter = (*clientConn)(nil)
)

func (cc *clientConn) Send(ctx context.Context, m transport.Message) error {
	if cc.closed.Load() {
		return fmt.Errorf("socketio: send: %w", transport.ErrClosed)
	}
	if err := checkSize(m); err != nil {
		return err
	}
	name, arg := toArg(m)
	return cc.c.Emit(ctx, name, arg)
}

func (cc *clientConn) Recv(ctx context.Context) (transport.Message, error) {
	for {
		if cc.closed.Load() {
			return transport.Message{}, fmt.Errorf("socketio: recv: %w", transport.ErrClosed)
		}
		ev, err := cc.c.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return transport.Message{}, err
			}
			if cc.closed.Load() {
				return transport.Message{}, fmt.Errorf("socketio: recv: %w", transport.ErrClosed)
			}
			return transport.Message{}, io.EOF
		}
		switch ev.Name {
		case "connect", "connect_error":
			continue
		case "disconnect":
			if ev.Reason == "io server disconnect" {
				return transport.Message{}, io.EOF
			}
			if ev.Reason == "io client disconnect" {
				return transport.Message{}, fmt.Errorf("socketio: recv: %w", transport.ErrClosed)
			}
			return transport.Message{}, fmt.Errorf("socketio: %s: %w", ev.Reason, io.ErrUnexpectedEOF)
		}
		var raw []byte
		if len(ev.Args) > 0 {
			raw = ev.Args[0]
		}
		return fromArg(ev.Name, raw), nil
	}
}

// closeEvent is the event clientConn.Close sends, with an ack id, before
// the DISCONNECT; the server's Conn acks it.
const closeEvent = "netlab:close"

// Close waits (at most a second) until the server has taken every event
// sent before it, then disconnects. Socket.IO's own disconnect does not
// wait: the server this transport runs (zishang520/socket.io) hands each
// event to its handlers in a task queued behind the packets that arrived
// with it, so events that reach it in the same batch as the DISCONNECT are
// dropped as "received after disconnection". The ack of closeEvent is
// sent from a task queued behind every earlier event's.
func (cc *clientConn) Close() error {
	if cc.closed.Swap(true) {
		return cc.c.Close()
	}
	if cc.c.Connected() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cc.c.EmitWithAck(ctx, closeEvent)
		cancel()
	}
	return cc.c.Close()
}

func (cc *clientConn) WireStats() transport.WireStats {
	r, w, req, empty := cc.c.Stats()
	return transport.WireStats{BytesSent: w, BytesReceived: r, Requests: req, EmptyPolls: empty}
}

// Client returns the Socket.IO client under a Conn from Dial, or nil.
func ClientOf(c transport.Conn) *Client {
	if cc, ok := c.(*clientConn); ok {
		return cc.c
	}
	return nil
}

// A Door is the listening side: a Server (an http.Handler for
// /socket.io/) whose connected sockets are handed out by Accept as
// transport.Conns, each event one Message. It counts the bytes of each
// Engine.IO session on the connections its requests (polls, posts, the
// upgrade) arrive on, when the http.Server's listener counts. The chat
// server mounts one as its Socket.IO door. It is safe for concurrent use.
type Door struct {
	srv    *Server
	accept chan *serverConn
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	counters map[string]*sessionCount // by Engine.IO sid
}

type sessionCount struct {
	bytes    countconn.Counter
	requests atomic.Int64
}

var _ httplisten.Server = (*Door)(nil)

// NewDoor returns a Door serving a Server configured by opts.
func NewDoor(opts ServerOptions) *Door {
	h := &Door{
		srv:      NewServer(opts),
		accept:   make(chan *serverConn, 64),
		done:     make(chan struct{}),
		conns:    map[*serverConn]struct{}{},
		counters: map[string]*sessionCount{},
	}
	// A session is counted from its handshake: the engine's connection
	// comes before the socket's.
	h.srv.IO.Engine().On("connection", func(a ...any) {
		if es, ok := a[0].(interface{ Id() string }); ok {
			h.counter(es.Id())
		}
	})
	h.srv.IO.On("connection", func(a ...any) {
		s := a[0].(*socket.Socket)
		c := newServerConn(h, s)
		h.mu.Lock()
		select {
		case <-h.done:
			h.mu.Unlock()
			s.Disconnect(true)
			return
		default:
		}
		h.conns[c] = struct{}{}
		h.mu.Unlock()
		select {
		case h.accept <- c:
		default:
			s.Disconnect(true) // nobody accepts: refuse rather than pile up
		}
	})
	return h
}

// counter returns the counter of Engine.IO session sid.
func (h *Door) counter(sid string) *sessionCount {
	h.mu.Lock()
	defer h.mu.Unlock()
	sc := h.counters[sid]
	if sc == nil {
		sc = &sessionCount{}
		h.counters[sid] = sc
	}
	return sc
}

// ServeHTTP serves Engine.IO requests.
func (h *Door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sid := r.URL.Query().Get("sid"); sid != "" && len(sid) < 64 {
		h.mu.Lock()
		_, known := h.counters[sid]
		h.mu.Unlock()
		if known {
			sc := h.counter(sid)
			sc.requests.Add(1)
			if cc := countconn.FromContext(r.Context()); cc != nil {
				cc.SetOwner(&sc.bytes)
			}
		}
	}
	h.srv.ServeHTTP(w, r)
}

// Accept waits for the next socket.
func (h *Door) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-h.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-h.done:
		return nil, fmt.Errorf("socketio: accept: %w", transport.ErrClosed)
	}
}

// Close disconnects every socket and stops the server.
// GoingAway says that the server is stopping: a WebSocket closed from now
// on, by Close or by a goodbye already under way, gets close 1001 "server
// shutting down" (see Server.Close). Call it first when a server that
// says goodbye to its sockets before it closes the door starts stopping.
func (h *Door) GoingAway() { h.srv.guard.GoingAway() }

func (h *Door) Close() error {
	h.once.Do(func() {
		h.mu.Lock()
		close(h.done)
		conns := make([]*serverConn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		h.srv.Close()
	})
	return nil
}

// serverConn is one connected socket as a transport.Conn.
type serverConn struct {
	h        *Door
	s        *socket.Socket
	sc       *sessionCount
	in       chan transport.Message
	gone     chan struct{} // closed on the socket's "disconnect"
	shut     chan struct{} // closed by Close
	once     sync.Once
	goneOnce sync.Once

	mu     sync.Mutex
	reason string
}

var (
	_ transport.Conn  = (*serverConn)(nil)
	_ transport.Meter = (*serverConn)(nil)
)

func newServerConn(h *Door, s *socket.Socket) *serverConn {
	c := &serverConn{h: h, s: s, sc: h.counter(string(s.Conn().Id())), in: make(chan transport.Message, 256), gone: make(chan struct{}), shut: make(chan struct{})}
	s.OnAny(func(a ...any) {
		name, _ := a[0].(string)
		if name == closeEvent {
			if ack, ok := a[len(a)-1].(socket.Ack); ok {
				ack(nil, nil)
			}
			return
		}
		var v any
		if len(a) > 1 {
			if _, isAck := a[1].(socket.Ack); !isAck {
				v = a[1]
			}
		}
		m := fromValue(name, v)
		// emit("chat", "room", "text"): a room and a text.
		if len(a) > 2 {
			room, ok1 := a[1].(string)
			text, ok2 := a[2].(string)
			if ok1 && ok2 {
				m.Room, m.Data = room, []byte(text)
			}
		}
		select {
		case c.in <- m:
		case <-c.gone:
		case <-c.shut:
		}
	})
	s.On("disconnect", func(a ...any) {
		c.mu.Lock()
		if len(a) > 0 {
			c.reason, _ = a[0].(string)
		}
		c.mu.Unlock()
		c.goneOnce.Do(func() { close(c.gone) })
		h.mu.Lock()
		delete(h.conns, c)
		delete(h.counters, string(s.Conn().Id()))
		h.mu.Unlock()
	})
	return c
}

func (c *serverConn) Send(ctx context.Context, m transport.Message) error {
	select {
	case <-c.shut:
		return fmt.Errorf("socketio: send: %w", transport.ErrClosed)
	case <-c.gone:
		return fmt.Errorf("socketio: send: client gone: %w", io.ErrClosedPipe)
	default:
	}
	if err := checkSize(m); err != nil {
		return err
	}
	name, arg := toArg(m)
	return c.s.Emit(name, arg)
}

func (c *serverConn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-c.shut:
		return transport.Message{}, fmt.Errorf("socketio: recv: %w", transport.ErrClosed)
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-c.shut:
		return transport.Message{}, fmt.Errorf("socketio: recv: %w", transport.ErrClosed)
	case <-c.gone:
		select {
		case m := <-c.in:
			return m, nil
		default:
		}
		c.mu.Lock()
		reason := c.reason
		c.mu.Unlock()
		switch reason {
		case "client namespace disconnect", "transport close", "server shutting down":
			return transport.Message{}, io.EOF
		}
		return transport.Message{}, fmt.Errorf("socketio: %s: %w", reason, io.ErrUnexpectedEOF)
	}
}

// Close sends DISCONNECT to the client, which then closes the Engine.IO
// session (as the JS client does); the server closes it itself a second
// later if the client has not. (Disconnect(true) would close the session
// at once, and over WebSocket the library can close the socket before the
// queued DISCONNECT frame is written.)
func (c *serverConn) Close() error {
	c.once.Do(func() {
		close(c.shut)
		c.s.Disconnect(false)
		conn := c.s.Conn()
		time.AfterFunc(time.Second, func() { conn.Close(false) })
	})
	return nil
}

func (c *serverConn) WireStats() transport.WireStats {
	r, w := c.sc.bytes.Load()
	return transport.WireStats{BytesSent: w, BytesReceived: r, Requests: c.sc.requests.Load()}
}
