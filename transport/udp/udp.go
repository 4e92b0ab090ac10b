// Package udp carries netlab messages over UDP: one datagram per message.
//
// UDP keeps message boundaries (one send is one datagram is one receive) but
// promises nothing else: a datagram may be lost, duplicated or reordered, and
// nothing is retransmitted. netlab adds nothing to hide that; the sequence
// number in every message lets the receiver see it. The datagram carries the
// JSON wire form of package transport; a datagram that is not a JSON object
// (from `nc -u`) is a plain text message, and such a peer is answered with
// bare datagrams.
//
// A datagram's encoded form may be at most 65,507 bytes, the largest UDP
// payload over IPv4 (65,535 minus the 8-byte UDP and 20-byte IP headers).
// Larger messages are refused with transport.ErrTooLarge, never truncated.
// Datagrams over the path MTU (1,500 bytes on Ethernet) are fragmented by IP,
// and losing any fragment loses the whole datagram.
//
// There is no connection: a server learns of a client from its first
// datagram, and neither side sees the other close. Writes go straight to the
// socket from Send (a datagram is written whole by one system call, so there
// is nothing for a writer goroutine to coalesce); one reader goroutine per
// socket reads datagrams.
package udp

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
)

const (
	// MaxDatagram is the largest UDP payload over IPv4.
	MaxDatagram = 65507
	// DefaultMaxMessage bounds a message's Data, leaving room for the JSON
	// envelope inside one datagram.
	DefaultMaxMessage = 65000
	// DefaultMaxPeers bounds how many clients a server tracks at once; a
	// new client beyond it takes the place of the least recently seen one.
	DefaultMaxPeers = 1024
	// DefaultIdleTimeout is how long a server remembers a silent client.
	DefaultIdleTimeout = time.Minute
	// recvQueue is how many datagrams wait for Recv; beyond that they are
	// dropped, as a full socket buffer drops them.
	recvQueue = 256
	// socketBuffer is the kernel receive buffer asked for (bursts of
	// datagrams would otherwise overflow the default and be lost).
	socketBuffer = 4 << 20
)

// ErrAmplification is returned by a server Conn with Options.NoAmplify when a
// reply would be larger than the datagram the client last sent.
var ErrAmplification = errors.New("reply larger than the request (refused: UDP amplification)")

// Options configure the transport. The zero value is ready to use.
type Options struct {
	// MaxMessage bounds a message's Data; 0 means DefaultMaxMessage.
	MaxMessage int
	// NoAmplify makes servers refuse to send a client a datagram larger
	// than the last one it sent, so a spoofed request cannot turn the server
	// into an amplifier. netlab's echo servers set it.
	NoAmplify bool
	// MaxPeers bounds the clients a server tracks; 0 means DefaultMaxPeers.
	// When the table is full, a new client evicts the least recently seen
	// one (whose ServerConn is closed), so a burst of datagrams from many
	// source ports cannot lock new clients out.
	MaxPeers int
	// IdleTimeout forgets a client silent that long; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Transport is UDP, one message per datagram.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns a UDP transport.
func New(o Options) *Transport {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.MaxPeers <= 0 {
		o.MaxPeers = DefaultMaxPeers
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return &Transport{opts: o}
}

// Info describes UDP: unreliable, unordered, connectionless, full-duplex.
func (t *Transport) Info() transport.Info {
	return transport.Info{Name: "udp", Network: "udp", Duplex: true, MaxMessage: t.opts.MaxMessage}
}

// encode returns the datagram for m, or ErrTooLarge.
func encode(m transport.Message, maxData int, plainPeer bool) ([]byte, error) {
	if len(m.Data) > maxData {
		return nil, fmt.Errorf("udp: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, maxData)
	}
	var b []byte
	if plainPeer && transport.SendsAsPlainText(m, false) {
		b = m.Data
	} else {
		b = transport.Encode(m)
	}
	if len(b) > MaxDatagram {
		return nil, fmt.Errorf("udp: send: encoded message is %d bytes, over the %d-byte datagram limit: %w", len(b), MaxDatagram, transport.ErrTooLarge)
	}
	return b, nil
}

// decode parses a datagram.
func decode(b []byte, maxData int) (m transport.Message, plain bool, err error) {
	m, err = transport.Decode(b)
	if err != nil {
		return m, true, fmt.Errorf("udp: recv: %w", err)
	}
	if len(m.Data) > maxData {
		return transport.Message{}, false, fmt.Errorf("udp: recv %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, maxData)
	}
	plain = transport.IsPlainText(b)
	return m, plain, nil
}

// received is one datagram read: a message, or why it was not one.
type received struct {
	m   transport.Message
	err error
}

// stats counts a socket's bytes (UDP payload bytes; the 8-byte UDP and
// 20-byte IPv4 headers are not included).
type stats struct{ sent, received, dropped atomic.Int64 }

// Dial "connects" a UDP socket to addr: the kernel then sends only there and
// accepts datagrams only from there. Nothing crosses the network until Send.
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp: %w", err)
	}
	uc := nc.(*net.UDPConn)
	uc.SetReadBuffer(socketBuffer)
	c := &ClientConn{uc: uc, maxData: t.opts.MaxMessage, in: make(chan received, recvQueue),
		closing: make(chan struct{}), rdone: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// ClientConn is a client's UDP socket. It is safe for concurrent use.
type ClientConn struct {
	uc      *net.UDPConn
	maxData int
	st      stats
	in      chan received
	closing chan struct{}
	rdone   chan struct{}
	once    sync.Once
}

var (
	_ transport.Conn  = (*ClientConn)(nil)
	_ transport.Meter = (*ClientConn)(nil)
)

func (c *ClientConn) readLoop() {
	defer close(c.rdone)
	buf := make([]byte, MaxDatagram+1)
	for {
		n, err := c.uc.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port unreachable surfaces here as ECONNREFUSED on a
			// connected socket: the server is not there (yet). UDP has
			// no connection to break, so keep reading.
			select {
			case <-c.closing:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		c.st.received.Add(int64(n))
		m, _, derr := decode(buf[:n], c.maxData)
		select {
		case c.in <- received{m, derr}:
		default:
			c.st.dropped.Add(1) // nobody is reading: dropped, as a full socket buffer would
		}
	}
}

// Send writes m as one datagram.
func (c *ClientConn) Send(ctx context.Context, m transport.Message) error {
	select {
	case <-c.closing:
		return fmt.Errorf("udp: send: %w", transport.ErrClosed)
	default:
	}
	b, err := encode(m, c.maxData, false)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := c.uc.Write(b)
	return sent(&c.st, n, err)
}

// Recv returns the next datagram's message.
func (c *ClientConn) Recv(ctx context.Context) (transport.Message, error) {
	return recv(ctx, c.in, c.closing)
}

// recv takes the next datagram from in, or fails when ctx is done or the
// Conn is closing.
func recv(ctx context.Context, in <-chan received, closing <-chan struct{}) (transport.Message, error) {
	select {
	case <-closing:
		return transport.Message{}, fmt.Errorf("udp: recv: %w", transport.ErrClosed)
	default:
	}
	select {
	case r := <-in:
		return r.m, r.err
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-closing:
		return transport.Message{}, fmt.Errorf("udp: recv: %w", transport.ErrClosed)
	}
}

// sent records a write's outcome: n bytes counted, the error wrapped.
func sent(st *stats, n int, err error) error {
	st.sent.Add(int64(n))
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("udp: send: %w", transport.ErrClosed)
		}
		return fmt.Errorf("udp: send: %w", err)
	}
	return nil
}

// WireStats reports UDP payload bytes sent and received.
func (c *ClientConn) WireStats() transport.WireStats {
	return transport.WireStats{BytesSent: c.st.sent.Load(), BytesReceived: c.st.received.Load()}
}

// Dropped reports datagrams that arrived while the receive queue was full.
func (c *ClientConn) Dropped() int64 { return c.st.dropped.Load() }

// Close closes the socket. The server is not told: UDP has no connection.
func (c *ClientConn) Close() error {
	c.once.Do(func() {
		close(c.closing)
		c.uc.Close()
		<-c.rdone
	})
	return nil
}

// Listen binds a UDP socket on addr.
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp: %w", err)
	}
	uc := pc.(*net.UDPConn)
	uc.SetReadBuffer(socketBuffer)
	l := &Listener{uc: uc, opts: t.opts, peers: map[netip.AddrPort]*ServerConn{}, lru: list.New(),
		accept: make(chan *ServerConn, 64), closing: make(chan struct{}), done: make(chan struct{}), swept: make(chan struct{})}
	go l.readLoop()
	go l.sweepLoop()
	return l, nil
}

// Listener demultiplexes one UDP socket into a ServerConn per client
// address. It is safe for concurrent use.
type Listener struct {
	uc   *net.UDPConn
	opts Options

	mu    sync.Mutex
	peers map[netip.AddrPort]*ServerConn
	lru   *list.List // of *ServerConn, the most recently seen at the front

	evicted, expired atomic.Int64

	accept  chan *ServerConn
	closing chan struct{}
	done    chan struct{} // readLoop returned
	swept   chan struct{} // sweepLoop returned
	once    sync.Once
}

// Evicted reports how many clients lost their place to a newcomer because
// the peer table was full.
func (l *Listener) Evicted() int64 { return l.evicted.Load() }

// Expired reports how many clients were forgotten for being silent longer
// than the idle timeout.
func (l *Listener) Expired() int64 { return l.expired.Load() }

// Peers reports how many clients the listener tracks now.
func (l *Listener) Peers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}

var _ transport.Listener = (*Listener)(nil)

// Addr is the address clients send to.
func (l *Listener) Addr() net.Addr { return l.uc.LocalAddr() }

func (l *Listener) readLoop() {
	defer close(l.done)
	buf := make([]byte, MaxDatagram+1)
	for {
		n, from, err := l.uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		now := time.Now()
		l.mu.Lock()
		c, ok := l.peers[from]
		if ok {
			l.lru.MoveToFront(c.elem)
		} else {
			if len(l.accept) == cap(l.accept) {
				l.mu.Unlock()
				continue // nobody is accepting: drop, as a full backlog would
			}
			if len(l.peers) >= l.opts.MaxPeers {
				// Full: the least recently seen client makes room. A
				// burst from many ports then costs the oldest their
				// state, never a newcomer its answer.
				l.evicted.Add(1)
				l.forgetLocked(l.lru.Back().Value.(*ServerConn))
			}
			c = &ServerConn{l: l, peer: from, in: make(chan received, recvQueue), closing: make(chan struct{})}
			l.peers[from] = c
			c.elem = l.lru.PushFront(c)
			l.accept <- c // room was checked above, and only this goroutine sends
		}
		l.mu.Unlock()
		c.lastSeen.Store(now.UnixNano())
		c.lastSize.Store(int64(n))
		c.st.received.Add(int64(n))
		m, plain, derr := decode(buf[:n], l.opts.MaxMessage)
		if plain {
			c.plainPeer.Store(true) // sticky: someone typing (nc -u)
		}
		c.linePeer.Store(n > 0 && buf[n-1] == '\n')
		select {
		case c.in <- received{m, derr}:
		default:
			c.st.dropped.Add(1)
		}
	}
}

// forgetLocked drops c from the table and closes it. l.mu must be held.
func (l *Listener) forgetLocked(c *ServerConn) {
	if l.peers[c.peer] == c {
		delete(l.peers, c.peer)
		l.lru.Remove(c.elem)
	}
	c.closeLocked()
}

// sweepInterval is how often idle clients are looked for: a quarter of the
// idle timeout, between 10ms and a second.
func (l *Listener) sweepInterval() time.Duration {
	return min(max(l.opts.IdleTimeout/4, 10*time.Millisecond), time.Second)
}

// sweepLoop forgets idle clients on a timer, whether datagrams arrive or
// not.
func (l *Listener) sweepLoop() {
	defer close(l.swept)
	t := time.NewTicker(l.sweepInterval())
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			l.sweep(now)
		case <-l.closing:
			return
		}
	}
}

// sweep forgets clients silent for longer than the idle timeout, oldest
// first.
func (l *Listener) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		c := e.Value.(*ServerConn)
		if now.Sub(time.Unix(0, c.lastSeen.Load())) <= l.opts.IdleTimeout {
			return
		}
		l.expired.Add(1)
		l.forgetLocked(c)
	}
}

// Accept returns a Conn for the next new client address, when its first
// datagram arrives.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.closing:
		return nil, fmt.Errorf("udp: accept: %w", transport.ErrClosed)
	}
}

// Close closes the socket and every client Conn.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closing)
		l.uc.Close()
		<-l.done
		<-l.swept
		l.mu.Lock()
		for _, c := range l.peers {
			l.forgetLocked(c)
		}
		l.mu.Unlock()
	})
	return nil
}

// ServerConn is the server's view of one client address. It is safe for
// concurrent use.
type ServerConn struct {
	l         *Listener
	peer      netip.AddrPort
	elem      *list.Element // in l.lru; guarded by l.mu
	in        chan received
	st        stats
	lastSeen  atomic.Int64 // unix nanoseconds of the last datagram
	lastSize  atomic.Int64 // size of the last datagram, for NoAmplify
	plainPeer atomic.Bool
	// linePeer: the peer ends its datagrams with a newline (nc -u sends
	// lines); a JSON reply to it ends with one too, so its prompt does not
	// run on after the reply.
	linePeer atomic.Bool
	closing  chan struct{}
	once     sync.Once
}

var (
	_ transport.Conn  = (*ServerConn)(nil)
	_ transport.Meter = (*ServerConn)(nil)
)

// Peer is the client's address.
func (c *ServerConn) Peer() netip.AddrPort { return c.peer }

// Send writes m to the client as one datagram.
func (c *ServerConn) Send(ctx context.Context, m transport.Message) error {
	select {
	case <-c.closing:
		return fmt.Errorf("udp: send: %w", transport.ErrClosed)
	default:
	}
	b, err := encode(m, c.l.opts.MaxMessage, c.plainPeer.Load())
	if err != nil {
		return err
	}
	if c.linePeer.Load() && len(b) > 0 && b[len(b)-1] != '\n' && len(b) < MaxDatagram {
		b = append(b[:len(b):len(b)], '\n')
	}
	if c.l.opts.NoAmplify && int64(len(b)) > c.lastSize.Load() {
		return fmt.Errorf("udp: send %d bytes to %v after a %d-byte request: %w", len(b), c.peer, c.lastSize.Load(), ErrAmplification)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := c.l.uc.WriteToUDPAddrPort(b, c.peer)
	return sent(&c.st, n, err)
}

// Recv returns the client's next datagram.
func (c *ServerConn) Recv(ctx context.Context) (transport.Message, error) {
	return recv(ctx, c.in, c.closing)
}

// WireStats reports UDP payload bytes exchanged with this client.
func (c *ServerConn) WireStats() transport.WireStats {
	return transport.WireStats{BytesSent: c.st.sent.Load(), BytesReceived: c.st.received.Load()}
}

// Close forgets the client. A later datagram from the same address is a new
// client for Accept.
func (c *ServerConn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return nil
}

func (c *ServerConn) closeLocked() { c.once.Do(func() { close(c.closing) }) }
