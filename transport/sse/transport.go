package sse

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/httplisten"
)

// Transport is the "sse" transport.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns the SSE transport with opts.
func New(opts Options) *Transport { return &Transport{opts: opts.withDefaults()} }

// Info describes the transport: reliable and ordered (a reconnect replays
// what the stream lost, from a bounded buffer; what fell out of it is
// counted as a gap), not duplex: the server pushes whenever it likes, but
// the client still sends each message with a request of its own.
func (t *Transport) Info() transport.Info {
	return transport.Info{Name: "sse", Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: false, MaxMessage: t.opts.MaxMessage}
}

// quietLog drops net/http's per-connection error lines.
var quietLog = log.New(io.Discard, "", 0)

// Listen serves a Server on addr ("" means 127.0.0.1:0) from its own
// http.Server with ReadHeaderTimeout and counting connections, at most
// MaxConns of them open at once.
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	// accept retries running out of descriptors (net/http would too, but
	// logs every retry) and answers connections over MaxConns 503.
	capped := accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(t.opts.MaxConns), Refusal: accept.HTTPFull, Logf: t.opts.Logf})
	return httplisten.Serve(ln, CountingListener(capped), NewServer(t.opts), &http.Server{
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       2 * t.opts.Heartbeat,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       ConnContext,
		ErrorLog:          quietLog,
	}), nil
}

// Dial opens a session at addr (host:port or the http:// URL of the
// endpoint).
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := Dial(ctx, addr, t.opts)
	if err != nil {
		return nil, err // a nil Conn, not a nil *Conn inside the interface
	}
	return c, nil
}
