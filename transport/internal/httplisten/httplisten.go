// Package httplisten turns an HTTP-based transport's server (an http.Handler
// that also hands out connections) into a transport.Listener on its own
// http.Server. The polling and WebSocket transports share it.
package httplisten

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// A Server is an http.Handler that yields a transport.Conn per client.
type Server interface {
	http.Handler
	Accept(ctx context.Context) (transport.Conn, error)
	Close() error
}

// Listener serves a Server from an http.Server on its own socket. It is
// safe for concurrent use.
type Listener struct {
	srv    Server
	hs     *http.Server
	ln     net.Listener
	served chan struct{}
	once   sync.Once
}

var _ transport.Listener = (*Listener)(nil)

// Serve starts hs (whose Handler is set to srv) on serving, which is ln or a
// wrapper of it (a byte-counting listener, say). Addr reports ln's address.
func Serve(ln, serving net.Listener, srv Server, hs *http.Server) *Listener {
	hs.Handler = srv
	l := &Listener{srv: srv, hs: hs, ln: ln, served: make(chan struct{})}
	go func() {
		defer close(l.served)
		hs.Serve(serving)
	}()
	return l
}

// Accept waits for the next client.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) { return l.srv.Accept(ctx) }

// Addr is the TCP address the server listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close closes every connection the Server handed out, then stops the
// http.Server: gracefully for a second (net/http's Shutdown does not touch
// hijacked connections such as WebSockets, which the Server closed), then
// abruptly.
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
