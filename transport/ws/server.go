package ws

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/httplisten"
)

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

	mu        sync.Mutex
	conns     map[*Conn]struct{} // accepted and not yet closed
	done      chan struct{}      // closed (under mu) by Close
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
	if s.isClosed() {
		http.Error(w, "ws: server closed", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodGet && !websocket.IsWebSocketUpgrade(r) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
		return
	}
	hj := &hijacker{ResponseWriter: w}
	wc, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return // the upgrader answered with 400 or 403 and the reason
	}
	cc, _ := hj.watch.Conn.(*countconn.Conn)
	var c *Conn
	c = newConn(wc, hj.watch, cc, s.opts, func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
	s.mu.Lock()
	closed := s.isClosed()
	if !closed {
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		c.CloseWith(websocket.CloseGoingAway, "server closing")
		return
	}
	t := time.NewTimer(s.opts.AcceptTimeout)
	defer t.Stop()
	select {
	case s.accept <- c:
	case <-s.done:
		c.CloseWith(websocket.CloseGoingAway, "server closing")
	case <-t.C:
		c.CloseWith(websocket.CloseTryAgainLater, "server is not accepting connections")
	}
}

func (s *Server) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
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
// so far with 1001 (going away). It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.done)
		conns := slices.Collect(maps.Keys(s.conns))
		s.mu.Unlock()
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { c.CloseWith(websocket.CloseGoingAway, "server closing") })
		}
		wg.Wait()
	})
	return nil
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
	// out-of-fd retry, 503 over MaxConns
	capped := accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(t.opts.MaxConns), Refusal: accept.HTTPFull, Logf: t.opts.Logf})
	return httplisten.Serve(ln, CountingListener(capped), NewServer(t.opts), &http.Server{
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       60 * time.Second,
		// Drop net/http's per-connection error lines (TLS probes,
		// slowloris cut-offs): they would interleave with a lab's output.
		ErrorLog: log.New(io.Discard, "", 0),
	}), nil
}

// CountingListener wraps l so that every connection it accepts counts its
// bytes; connections a Server accepts through it report them in WireStats.
func CountingListener(l net.Listener) net.Listener { return countconn.Listener{Listener: l} }
