package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	eio "github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/netlab/netlab/transport/socketio/packet"
)

// Server defaults, the Node socket.io server's.
const (
	DefaultMaxPayload   = 1_000_000 // maxHttpBufferSize, bytes
	DefaultPingInterval = 25 * time.Second
	DefaultPingTimeout  = 20 * time.Second
	// DefaultRecoveryWindow is connection state recovery's
	// maxDisconnectionDuration: how long a disconnected session and the
	// packets broadcast meanwhile are kept.
	DefaultRecoveryWindow = 2 * time.Minute
	// DefaultBodyTimeout bounds reading one polling POST body: a client
	// sending it a byte a second is answered 408, cut off, and its session
	// closed (Node's http server does the same at its requestTimeout, 300 s;
	// netlab's other servers give a body 10 s).
	DefaultBodyTimeout = 10 * time.Second
)

// ServerOptions configure a Socket.IO server. The zero value is safe:
// 1 MB payload limit, connection state recovery for two minutes, browser
// pages from the same host or from localhost only.
type ServerOptions struct {
	// MaxPayload is maxHttpBufferSize: the largest packet, or polling body,
	// the server reads; a bigger one closes the session.
	MaxPayload int64
	// PingInterval and PingTimeout: the server pings every PingInterval
	// and drops a client that has not answered within PingTimeout.
	PingInterval, PingTimeout time.Duration
	// RecoveryWindow is maxDisconnectionDuration (DefaultRecoveryWindow);
	// NoRecovery turns connection state recovery off.
	RecoveryWindow time.Duration
	NoRecovery     bool
	// BodyTimeout bounds reading one polling POST body
	// (DefaultBodyTimeout).
	BodyTimeout time.Duration
	// AllowOrigins are the browser origins (https://host:port) accepted
	// besides the server's own host and localhost; "*" accepts any.
	AllowOrigins []string
}

// A Server is a socket.io server (github.com/zishang520/socket.io, a port
// of the Node server) behind netlab's Origin check. It is an http.Handler
// for /socket.io/; IO is the library's server, for event handlers. It is
// safe for concurrent use.
type Server struct {
	IO      *socket.Server
	opts    ServerOptions
	handler http.Handler

	mu      sync.Mutex
	gates   map[string]*connectGate // by Engine.IO session id
	posting map[string]bool         // sessions with a polling POST being read

	guard wsGuard // each WebSocket's connection
}

// NewServer returns a Server configured from opts.
func NewServer(opts ServerOptions) *Server {
	o := socket.DefaultServerOptions()
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	o.SetMaxHttpBufferSize(opts.MaxPayload)
	if opts.PingInterval > 0 {
		o.SetPingInterval(opts.PingInterval)
	}
	if opts.PingTimeout > 0 {
		o.SetPingTimeout(opts.PingTimeout)
	}
	if !opts.NoRecovery {
		if opts.RecoveryWindow <= 0 {
			opts.RecoveryWindow = DefaultRecoveryWindow
		}
		csr := &socket.ConnectionStateRecovery{}
		csr.SetMaxDisconnectionDuration(opts.RecoveryWindow.Milliseconds())
		csr.SetSkipMiddlewares(true)
		o.SetConnectionStateRecovery(csr)
	}
	o.SetServeClient(false)
	// ServeHTTP has refused every page that may not connect, so the
	// library reflects the Origin of those that may (CORS headers for a
	// page on another port of localhost, say).
	o.SetCors(&types.Cors{Origin: true, Credentials: true})
	io := socket.NewServer(nil, o)
	s := &Server{IO: io, opts: opts, handler: io.ServeHandler(nil), gates: map[string]*connectGate{}, posting: map[string]bool{}}
	s.gateConnects()
	return s
}

// A connectGate holds a session's packets that follow its CONNECT until
// the server has registered the socket.
//
// The library writes the CONNECT answer (40{"sid":…}) before it records the
// socket in the client's namespaces, on another goroutine than the one
// reading the client's packets; a client that emits at once (as soon as it
// sees 40) can have its event decoded in between, for a namespace the
// client is not yet in: the library takes that as a protocol violation and
// closes the session. (Node runs the two steps in one tick, so nothing can
// come between.) The gate makes the reader wait, at most gateWait, for the
// namespace's "connect" event, which the library fires after recording the
// socket.
type connectGate struct {
	connecting bool          // a CONNECT went through; only the reader touches it
	ready      chan struct{} // closed on the namespace's connect
	once       sync.Once
}

const gateWait = 5 * time.Second

func (s *Server) gateConnects() {
	s.IO.Engine().On("connection", func(a ...any) {
		conn, ok := a[0].(eio.Socket)
		if !ok {
			return
		}
		g := &connectGate{ready: make(chan struct{})}
		id := string(conn.Id())
		s.mu.Lock()
		s.gates[id] = g
		s.mu.Unlock()
		// Run first, before the library's own "data" listener.
		theirs := conn.Listeners("data")
		conn.RemoveAllListeners("data")
		conn.On("data", func(a ...any) {
			if len(a) == 0 {
				return
			}
			first := byte(0)
			if b, ok := a[0].(interface{ Bytes() []byte }); ok && len(b.Bytes()) > 0 {
				first = b.Bytes()[0] // (not String: that copies every packet)
			}
			switch {
			case first == '0': // CONNECT
				g.connecting = true
			case g.connecting:
				select {
				case <-g.ready:
					g.connecting = false
				case <-time.After(gateWait):
				}
			}
		})
		conn.On("data", theirs...)
		conn.Once("close", func(...any) {
			s.mu.Lock()
			delete(s.gates, id)
			s.mu.Unlock()
			g.once.Do(func() { close(g.ready) })
		})
	})
	s.IO.On("connect", func(a ...any) {
		sock, ok := a[0].(*socket.Socket)
		if !ok {
			return
		}
		s.mu.Lock()
		g := s.gates[string(sock.Conn().Id())]
		s.mu.Unlock()
		if g != nil {
			g.once.Do(func() { close(g.ready) })
		}
	})
}

// ServeHTTP refuses a request from a browser page that may not connect with
// 403 and Engine.IO's error body, as the Node server answers a handshake
// its allowRequest refuses, and hands the rest to Engine.IO.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, r.Host, s.opts.AllowOrigins) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"code":4,"message":"Forbidden"}`))
		return
	}
	if r.ContentLength != 0 {
		// A body must arrive within BodyTimeout, and the handler
		// leaves with the read deadline passed if the body was not read
		// whole: otherwise net/http reads the rest of an unread body (up to
		// 256 KiB, at whatever pace the client sends it) before it answers,
		// holding a descriptor for a client already refused (a POST to an
		// unknown session, say).
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout))
		body := &watchedBody{ReadCloser: r.Body}
		r.Body = body
		defer func() {
			if body.eof {
				rc.SetReadDeadline(time.Time{})
			} else {
				rc.SetReadDeadline(time.Now())
			}
		}()
	}
	q := r.URL.Query()
	sid := q.Get("sid")
	if sid == "" && r.Method == http.MethodGet && (q.Get("transport") == Polling || q.Get("transport") == WebSocket) && q.Get("EIO") != "4" {
		// What the Node server answers; the library says code 4.
		engineError(w, http.StatusBadRequest, 5, "Unsupported protocol version")
		return
	}
	if sid != "" && r.Method == http.MethodPost && q.Get("transport") == Polling {
		if conn, ok := s.IO.Engine().Clients().Load(sid); ok && !s.checkPost(w, r, sid, conn) {
			return
		}
	}
	if websocket.IsWebSocketUpgrade(r) {
		// The library upgrades with gorilla, which lets two protocol
		// errors through; the guard answers them with 1002 (RFC 6455 5.2,
		// 5.5.1) as Node's ws does. And the library ends a WebSocket
		// without a close frame; the guard sends one first.
		w = s.guard.Frames(w)
	}
	s.handler.ServeHTTP(w, r)
}

// watchedBody is a request body that reports whether it was read to its
// end.
type watchedBody struct {
	io.ReadCloser
	eof bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func engineError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q}`, code, message)
}

// checkPost reads a polling POST's body and answers what the Node server
// answers where the library differs: a second POST while one is being read
// gets 400 and ends the session ("data request overlap from client"); a
// body not received within BodyTimeout gets 408 and ends the
// session (Node's requestTimeout); a body over the payload limit gets 413
// and ends the session; a packet that does not decode (Engine.IO or
// Socket.IO) gets "ok" and ends the session (Node: "parse error", or the
// Socket.IO decoder's error, which closes the connection). It reports
// whether the request should go on to the library, with its body
// restored.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request, sid string, conn eio.Socket) bool {
	s.mu.Lock()
	overlap := s.posting[sid]
	s.posting[sid] = true
	s.mu.Unlock()
	if overlap {
		w.WriteHeader(http.StatusBadRequest)
		conn.Close(true)
		return false
	}
	defer func() {
		s.mu.Lock()
		delete(s.posting, sid)
		s.mu.Unlock()
	}()
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxPayload+1)) // within ServeHTTP's deadline
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.WriteHeader(http.StatusRequestTimeout)
		} else {
			w.WriteHeader(http.StatusBadRequest)
		}
		conn.Close(true)
		return false
	}
	if int64(len(body)) > s.opts.MaxPayload {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		conn.Close(true)
		return false
	}
	engineBad, socketBad := false, false
	ps, err := packet.ParsePayload(body)
	if err != nil {
		engineBad = true
	}
	for _, p := range ps {
		if p.Type == packet.Message && !p.Binary {
			if _, err := packet.ParseSocket(p.Data); err != nil {
				socketBad = true
			}
		}
	}
	if engineBad || socketBad {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("ok"))
		// Engine.IO's parse error ends the session at once; Socket.IO's
		// decoder error closes it in order (the next poll gets 6, 1).
		conn.Close(engineBad)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

// Close disconnects every client and stops the server. A client on
// WebSocket is told close 1001 (going away) "server shutting down" first;
// Close returns once it is (or once a client that reads nothing is cut
// off, a second later).
func (s *Server) Close() {
	s.guard.GoingAway()
	s.IO.Close(nil)
	s.guard.Wait()
}

// originAllowed reports whether a page from origin may connect: a page
// served by host, one from localhost, or one listed ("*" for any).
func originAllowed(origin, host string, list []string) bool {
	if slices.Contains(list, "*") {
		return true
	}
	for _, o := range list {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
