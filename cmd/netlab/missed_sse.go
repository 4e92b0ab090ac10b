package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/sse"
)

// The SSE link's timing: short, so that a two-second outage shows the
// whole cycle (the client notices the silence after three heartbeats and
// tries again every retry:).
const (
	sseLinkHeartbeat = 100 * time.Millisecond
	sseLinkRetry     = 100 * time.Millisecond
)

// sseStreamLink is missed.Config.StreamLink: transport/sse's server, with a
// replay buffer of window events, and its client, joined by a listener
// whose connections go dark on Drop.
func sseStreamLink(ctx context.Context, window int) (missed.StreamLink, error) {
	opts := sse.Options{Replay: window, Heartbeat: sseLinkHeartbeat, Retry: sseLinkRetry}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("missed: sse: %w", err)
	}
	l := &sseLink{srv: sse.NewServer(opts), dark: darkListener{Listener: ln}}
	l.hs = &http.Server{Handler: l.srv, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go l.hs.Serve(&l.dark)
	fail := func(err error) (missed.StreamLink, error) {
		l.Close()
		return nil, fmt.Errorf("missed: sse: %w", err)
	}
	if l.client, err = sse.Dial(ctx, ln.Addr().String(), opts); err != nil {
		return fail(err)
	}
	c, err := l.srv.Accept(ctx)
	if err != nil {
		return fail(err)
	}
	l.server = c.(*sse.ServerConn)
	return l, nil
}

type sseLink struct {
	srv    *sse.Server
	hs     *http.Server
	dark   darkListener
	client *sse.Conn
	server *sse.ServerConn
}

func (l *sseLink) Emit(ctx context.Context, n int) error {
	return l.server.Send(ctx, transport.Message{Seq: uint64(n), Event: "tick", Data: strconv.AppendInt(nil, int64(n), 10)})
}

func (l *sseLink) Next(ctx context.Context) (int, error) {
	m, err := l.client.Recv(ctx)
	return int(m.Seq), err
}

func (l *sseLink) Drop()   { l.dark.setDark(true) }
func (l *sseLink) Resume() { l.dark.setDark(false) }

func (l *sseLink) Stats() missed.StreamStats {
	st := l.server.Stats()
	return missed.StreamStats{Streams: st.Streams, Reconnects: l.client.Reconnects(), LastID: int64(st.Resumed),
		Replayed: st.Replayed, Gap: st.Gap, Heartbeat: sseLinkHeartbeat, Retry: sseLinkRetry}
}

func (l *sseLink) Close() error {
	if l.client != nil {
		l.client.Close()
	}
	l.srv.Close()
	return l.hs.Close()
}

// A darkListener is the server's side of a link that can go dark: while it
// is dark, what the server writes on a connection it already has is lost
// (the write succeeds, as it does into a socket's buffer on a dead path)
// and a new connection is closed at once.
type darkListener struct {
	net.Listener
	isDark atomic.Bool
}

func (d *darkListener) setDark(v bool) { d.isDark.Store(v) }

func (d *darkListener) Accept() (net.Conn, error) {
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if d.isDark.Load() {
			c.Close()
			continue
		}
		return &darkConn{Conn: c, dark: &d.isDark}, nil
	}
}

type darkConn struct {
	net.Conn
	dark *atomic.Bool
}

func (c *darkConn) Write(p []byte) (int, error) {
	if c.dark.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}
