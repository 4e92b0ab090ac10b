package socketio

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
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
}

// NewServer returns a Server configured from opts.
func NewServer(opts ServerOptions) *Server {
	o := socket.DefaultServerOptions()
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = DefaultMaxPayload
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
	return &Server{IO: io, opts: opts, handler: io.ServeHandler(nil)}
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
	s.handler.ServeHTTP(w, r)
}

// Close disconnects every client and stops the server.
func (s *Server) Close() { s.IO.Close(nil) }

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
