package wire

import (
	"net"
	"sync/atomic"
)

// Counter counts bytes in each direction. It is safe for concurrent use; the
// zero value is ready.
type Counter struct {
	sent, received atomic.Int64
}

// AddSent and AddReceived record n bytes.
func (c *Counter) AddSent(n int)     { c.sent.Add(int64(n)) }
func (c *Counter) AddReceived(n int) { c.received.Add(int64(n)) }

// Sent and Received report the totals so far.
func (c *Counter) Sent() int64     { return c.sent.Load() }
func (c *Counter) Received() int64 { return c.received.Load() }

// CountingConn is a net.Conn that counts every byte read from and written to
// the real connection into Counter. Several connections may share one
// Counter (an HTTP client's keep-alive pool, say).
type CountingConn struct {
	net.Conn
	Counter *Counter
}

// Count wraps c so its bytes are counted in ctr.
func Count(c net.Conn, ctr *Counter) *CountingConn { return &CountingConn{Conn: c, Counter: ctr} }

func (c *CountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.Counter.AddReceived(n)
	return n, err
}

func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.Counter.AddSent(n)
	return n, err
}

// CountingListener wraps every accepted connection in a CountingConn sharing
// one Counter.
type CountingListener struct {
	net.Listener
	Counter *Counter
}

func (l *CountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Count(c, l.Counter), nil
}
