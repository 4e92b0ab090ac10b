package push

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/netlab/netlab/transport"
)

// pipe returns an in-memory connected pair whose messages go through the
// wire codec. It stands in for transporttest.Pipe until that lands on main.
func pipe() (a, b transport.Conn) {
	ab, ba := make(chan []byte, 1024), make(chan []byte, 1024)
	closed := make(chan struct{})
	var once sync.Once
	shut := func() { once.Do(func() { close(closed) }) }
	return &pipeConn{in: ba, out: ab, closed: closed, shut: shut},
		&pipeConn{in: ab, out: ba, closed: closed, shut: shut}
}

type pipeConn struct {
	in, out chan []byte
	closed  chan struct{}
	shut    func()
	mu      sync.Mutex
	stats   transport.WireStats
}

func (c *pipeConn) Send(ctx context.Context, m transport.Message) error {
	b := transport.Encode(m)
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	select {
	case c.out <- b:
		c.mu.Lock()
		c.stats.BytesSent += int64(len(b))
		c.mu.Unlock()
		return nil
	case <-c.closed:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *pipeConn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case b := <-c.in:
		c.mu.Lock()
		c.stats.BytesReceived += int64(len(b))
		c.mu.Unlock()
		return transport.Decode(b)
	case <-c.closed:
		return transport.Message{}, io.EOF
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	}
}

func (c *pipeConn) Close() error { c.shut(); return nil }

func (c *pipeConn) WireStats() transport.WireStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// memTransport is a Transport whose Dial and Accept hand out pipe pairs.
type memTransport struct {
	info transport.Info
}

func (m memTransport) Info() transport.Info { return m.info }

func (m memTransport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	l := &memListener{conns: make(chan transport.Conn, 1), done: make(chan struct{})}
	memListeners.Store(l.Addr().String(), l)
	return l, nil
}

func (m memTransport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	v, ok := memListeners.Load(addr)
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: "mem", Err: net.ErrClosed}
	}
	a, b := pipe()
	v.(*memListener).conns <- a
	return b, nil
}

var memListeners sync.Map

type memListener struct {
	conns chan transport.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *memListener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *memListener) Addr() net.Addr { return memAddr{l} }

func (l *memListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

type memAddr struct{ l *memListener }

func (memAddr) Network() string  { return "mem" }
func (a memAddr) String() string { return fmt.Sprintf("mem:%p", a.l) }
