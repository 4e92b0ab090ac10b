package transporttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/transport"
)

// Mem is an in-memory transport for testing labs without sockets: Listen
// registers a listener under a fresh address, Dial connects to it with a
// Pipe whose ends count the bytes of each message's wire form
// (transport.Meter). It passes the conformance suite (Run). Copies, if set, decides for every message sent client→server how
// many copies arrive (0 drops it, 2 duplicates it), so a lab's loss and
// duplicate accounting can be checked exactly.
type Mem struct {
	Name   string
	Copies func(m transport.Message) int

	mu        sync.Mutex
	listeners map[string]*memListener
}

var _ transport.Transport = (*Mem)(nil)

var memAddrs atomic.Int64

// Info describes Mem: reliable and ordered unless Copies says otherwise.
func (t *Mem) Info() transport.Info {
	name := t.Name
	if name == "" {
		name = "mem"
	}
	return transport.Info{Name: name, Network: "tcp", Reliable: t.Copies == nil, Ordered: true,
		Connected: true, Duplex: true, MaxMessage: PipeMaxMessage}
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// Listen registers a listener; addr is ignored.
func (t *Mem) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.listeners == nil {
		t.listeners = map[string]*memListener{}
	}
	a := fmt.Sprintf("mem:%d", memAddrs.Add(1))
	l := &memListener{t: t, addr: memAddr(a), accept: make(chan transport.Conn, 16), closed: make(chan struct{})}
	t.listeners[a] = l
	return l, nil
}

// Dial connects to a listener registered by Listen.
func (t *Mem) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	t.mu.Lock()
	l := t.listeners[addr]
	t.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("mem: dial %s: connection refused", addr)
	}
	pc, ps := pipe()
	server := &memConn{ps}
	var client transport.Conn = &memConn{pc}
	if t.Copies != nil {
		client = &copier{memConn: &memConn{pc}, copies: t.Copies}
	}
	select {
	case l.accept <- server:
		l.mu.Lock()
		l.conns = append(l.conns, server)
		l.mu.Unlock()
		return client, nil
	case <-l.closed:
		return nil, fmt.Errorf("mem: dial %s: connection refused", addr)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memListener struct {
	t      *Mem
	addr   memAddr
	accept chan transport.Conn
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	conns  []transport.Conn
}

func (l *memListener) Addr() net.Addr { return l.addr }

func (l *memListener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.closed:
		return nil, fmt.Errorf("mem: accept: %w", transport.ErrClosed)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.t.mu.Lock()
		delete(l.t.listeners, string(l.addr))
		l.t.mu.Unlock()
		l.mu.Lock()
		for _, c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
	})
	return nil
}

// memConn is one end of a Mem connection: a Pipe end that counts the bytes
// of each message's wire form (transport.Encode), what a stream transport
// would carry.
type memConn struct{ *pipeConn }

var _ transport.Meter = memConn{}

// WireStats counts the wire-form bytes of the messages sent and received.
func (c memConn) WireStats() transport.WireStats {
	return transport.WireStats{BytesSent: c.sent.Load(), BytesReceived: c.received.Load()}
}

// copier sends each message as many times as copies says.
type copier struct {
	*memConn
	copies func(transport.Message) int
}

func (c *copier) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > PipeMaxMessage {
		return c.memConn.Send(ctx, m) // refused, whatever copies says
	}
	for range c.copies(m) {
		if err := c.memConn.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
