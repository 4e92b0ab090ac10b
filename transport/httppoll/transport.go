package httppoll

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/internal/httplisten"
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

// PollInterval is the time between a short-polling client's GETs.
func (t *Transport) PollInterval() time.Duration { return t.opts.PollInterval }

// LongPoll reports whether Dial makes a long-polling client.
func (t *Transport) LongPoll() bool { return t.opts.Mode == Long }

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
	// accept retries running out of descriptors (net/http would too, but
	// logs every retry) and answers connections over MaxConns 503.
	capped := accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(t.opts.MaxConns), Refusal: accept.HTTPFull, Logf: t.opts.Logf})
	return httplisten.Serve(ln, CountingListener(capped), NewServer(t.opts), &http.Server{
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       2 * t.opts.MaxHold,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       ConnContext,
		ErrorLog:          quietLog,
	}), nil
}

// Dial opens a session at addr (host:port or http:// URL of the endpoint).
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := Dial(ctx, addr, t.opts)
	if err != nil {
		return nil, err // a nil Conn, not a nil *Conn inside the interface
	}
	return c, nil
}
