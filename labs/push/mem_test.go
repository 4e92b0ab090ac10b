package push

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

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
	a, b := transporttest.Pipe()
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
