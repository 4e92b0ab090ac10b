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
// Pipe. Copies, if set, decides for every message sent client→server how
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
		Connected: true, Duplex: true, MaxMessage: 1 << 20}
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
	client, server := Pipe()
	if t.Copies != nil {
		client = &copier{Conn: client, copies: t.Copies}
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

// copier sends each message as many times as copies says.
type copier struct {
	transport.Conn
	copies func(transport.Message) int
}

func (c *copier) Send(ctx context.Context, m transport.Message) error {
	for range c.copies(m) {
		if err := c.Conn.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
