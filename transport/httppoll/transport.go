package httppoll

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// Transport is the "poll" (Mode Short) or "longpoll" (Mode Long) transport.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns the polling transport with opts; opts.Mode picks short or
// long polling for Dial (Listen serves both).
func New(opts Options) *Transport { return &Transport{opts: opts.withDefaults()} }

// Info describes the transport: reliable, ordered, not duplex (the client
// must ask before the server can answer).
func (t *Transport) Info() transport.Info {
	name := "poll"
	if t.opts.Mode == Long {
		name = "longpoll"
	}
	return transport.Info{Name: name, Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: false, MaxMessage: t.opts.MaxMessage}
}

// quietLog drops net/http's per-connection error lines.
var quietLog = log.New(io.Discard, "", 0)

// Listen serves a Server on addr ("" means 127.0.0.1:0) from its own
// http.Server with keep-alive, ReadHeaderTimeout and counting connections.
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("httppoll: %w", err)
	}
	l := &Listener{srv: NewServer(t.opts), ln: ln, served: make(chan struct{})}
	l.hs = &http.Server{
		Handler:           l.srv,
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       2 * t.opts.MaxHold,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       ConnContext,
		ErrorLog:          quietLog,
	}
	go func() {
		defer close(l.served)
		l.hs.Serve(CountingListener(ln))
	}()
	return l, nil
}

// Dial opens a session at addr (host:port or http:// URL of the endpoint).
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

// Accept waits for the next session.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) { return l.srv.Accept(ctx) }

// Addr is the TCP address the server listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Server returns the http.Handler behind the listener.
func (l *Listener) Server() *Server { return l.srv }

// Close closes every session and stops the http.Server.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if l.hs.Shutdown(ctx) != nil {
			l.hs.Close()
		}
		<-l.served
	})
	return nil
}
