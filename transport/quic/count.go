package quic

import (
	"net"
	"sync"

	"github.com/netlab/netlab/transport/internal/countconn"
)

// maxUnowned bounds how many addresses' bytes are kept before a connection
// from that address is accepted (handshakes that never finish, scans).
const maxUnowned = 1024

// A countingPacketConn counts the UDP payloads read from and written to
// each remote address, and hands them to that address's connection once
// it has one. It offers SetReadBuffer and SetWriteBuffer so quic-go can
// size the socket's buffers, but not the batch (OOB) interface: quic-go
// then reads and writes one datagram per call, through this counter.
type countingPacketConn struct {
	net.PacketConn
	mu      sync.Mutex
	owners  map[string]*countconn.Counter
	unowned map[string]*countconn.Counter
}

func newCountingPacketConn(pc net.PacketConn) *countingPacketConn {
	return &countingPacketConn{PacketConn: pc, owners: map[string]*countconn.Counter{}, unowned: map[string]*countconn.Counter{}}
}

func (c *countingPacketConn) counter(addr net.Addr) *countconn.Counter {
	k := addr.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.owners[k]; o != nil {
		return o
	}
	u := c.unowned[k]
	if u == nil {
		if len(c.unowned) >= maxUnowned {
			clear(c.unowned)
		}
		u = &countconn.Counter{}
		c.unowned[k] = u
	}
	return u
}

// owner returns the counter of addr's connection from now on, with what
// was counted for addr before (its handshake).
func (c *countingPacketConn) owner(addr net.Addr) *countconn.Counter {
	k := addr.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.owners[k]; o != nil {
		return o
	}
	o := &countconn.Counter{}
	if u := c.unowned[k]; u != nil {
		o.Add(u.Load())
		delete(c.unowned, k)
	}
	c.owners[k] = o
	return o
}

// forget drops addr's counter when its connection is done.
func (c *countingPacketConn) forget(addr net.Addr) {
	c.mu.Lock()
	delete(c.owners, addr.String())
	c.mu.Unlock()
}

func (c *countingPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if n > 0 && addr != nil {
		c.counter(addr).Add(int64(n), 0)
	}
	return n, addr, err
}

// WriteTo counts before it writes, as countconn does: on loopback the peer
// can read the datagram and answer before this goroutine runs again after
// the system call, and no one may see bytes that are not yet counted. What
// was not sent is taken back.
func (c *countingPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ctr := c.counter(addr)
	ctr.Add(0, int64(len(p)))
	n, err := c.PacketConn.WriteTo(p, addr)
	if n < len(p) {
		ctr.Add(0, int64(n-len(p)))
	}
	return n, err
}

// SetReadBuffer sizes the socket's receive buffer (quic-go asks for 7 MB;
// the kernel may give less, silently).
func (c *countingPacketConn) SetReadBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer sizes the socket's send buffer.
func (c *countingPacketConn) SetWriteBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}
