package simwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
)

// A Link is an impaired link between kernel clients and servers: each
// proxy started from it (Via, Listen) runs its own Network, and the link
// sums what they did. Its methods are safe for concurrent use.
type Link struct {
	opts Options
	up   impair.Counters // client → server, every network's
	down impair.Counters // server → client

	mu   sync.Mutex
	nets []*Network
}

// NewLink returns a link whose networks use opts (Impair, Recovery, Trace,
// Probe, PCAP), or opts.Impair's validation error.
func NewLink(opts Options) (*Link, error) {
	if err := opts.Impair.Validate(); err != nil {
		return nil, err
	}
	l := &Link{opts: opts}
	l.opts.up, l.opts.down = &l.up, &l.down
	return l, nil
}

// Config returns the link's impairments.
func (l *Link) Config() impair.Config { return l.opts.Impair }

// Options returns what the link's networks are started with.
func (l *Link) Options() Options {
	o := l.opts
	o.up, o.down = nil, nil
	return o
}

// Up returns what the wire did to client→server packets so far.
func (l *Link) Up() impair.Counts { return l.up.Load() }

// Down returns what the wire did to server→client packets so far.
func (l *Link) Down() impair.Counts { return l.down.Load() }

// Stats returns what every network of the link did so far.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	nets := append([]*Network(nil), l.nets...)
	l.mu.Unlock()
	var st Stats
	for _, n := range nets {
		s := n.Stats()
		st.Client = st.Client.Add(s.Client)
		st.Server = st.Server.Add(s.Server)
		st.QueueDrops += s.QueueDrops
	}
	st.Up, st.Down = l.Up(), l.Down()
	return st
}

// Networks returns the networks the link started, oldest first.
func (l *Link) Networks() []*Network {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Network(nil), l.nets...)
}

// Via returns a transport.Via that starts a proxy on 127.0.0.1 through
// this link for each call; the proxy stops when the call's ctx is done.
func (l *Link) Via() transport.Via {
	return func(ctx context.Context, network, upstream string) (string, error) {
		p, err := l.Listen(ctx, network, "127.0.0.1:0", upstream)
		if err != nil {
			return "", err
		}
		return p.Addr().String(), nil
	}
}

// dialTimeout bounds dialing across the wire and to the upstream.
const dialTimeout = 10 * time.Second

// A Proxy takes kernel clients on its address and carries each across its
// network's wire to the upstream: network "tcp" (each client connection
// becomes a TCP connection between the two stacks) or "udp" (each client
// address gets a UDP socket on the client stack). Its --cut clock starts
// when it does.
type Proxy struct {
	link     *Link
	net      *Network
	network  string
	upstream string
	wirePort uint16
	ln       net.Listener // tcp, kernel side
	pc       *net.UDPConn // udp, kernel side

	udpUpstream *net.UDPAddr
	done        chan struct{}
	once        sync.Once
	wg          sync.WaitGroup
	closeOnce   sync.Once
	closed      chan struct{}
	conns       atomic.Uint64
	dialErrs    atomic.Int64
	dialErr     atomic.Pointer[error]

	mu   sync.Mutex
	open map[io.Closer]struct{}
}

// Listen starts a proxy on listen (host:port; port 0 picks one) that
// forwards to upstream across a new network of the link. It stops when ctx
// is done or Close is called.
func (l *Link) Listen(ctx context.Context, network, listen, upstream string) (*Proxy, error) {
	opts := l.opts
	opts.start = time.Now() // the --cut clock starts now, not once the stacks are built
	_, portStr, err := net.SplitHostPort(upstream)
	if err != nil {
		return nil, fmt.Errorf("simwire: upstream %q: %w", upstream, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		port = 80
	}
	p := &Proxy{link: l, network: network, upstream: upstream, wirePort: uint16(port),
		done: make(chan struct{}), open: map[io.Closer]struct{}{}}
	switch network {
	case "tcp":
		if _, err := net.ResolveTCPAddr("tcp", upstream); err != nil {
			return nil, fmt.Errorf("simwire: upstream %q: %w", upstream, err)
		}
		if p.ln, err = new(net.ListenConfig).Listen(ctx, "tcp", listen); err != nil {
			return nil, fmt.Errorf("simwire: %w", err)
		}
	case "udp":
		if p.udpUpstream, err = net.ResolveUDPAddr("udp", upstream); err != nil {
			return nil, fmt.Errorf("simwire: upstream %q: %w", upstream, err)
		}
		la, err := net.ResolveUDPAddr("udp", listen)
		if err != nil {
			return nil, fmt.Errorf("simwire: listen %q: %w", listen, err)
		}
		if p.pc, err = net.ListenUDP("udp", la); err != nil {
			return nil, fmt.Errorf("simwire: %w", err)
		}
	default:
		return nil, fmt.Errorf("simwire: network %q: want tcp or udp", network)
	}
	if p.net, err = New(opts); err != nil {
		p.closeKernel()
		return nil, err
	}
	l.mu.Lock()
	l.nets = append(l.nets, p.net)
	l.mu.Unlock()
	if network == "tcp" {
		wl, err := p.net.Server().ListenTCP(p.wirePort)
		if err != nil {
			p.closeKernel()
			p.net.Close()
			return nil, fmt.Errorf("simwire: listen on the wire: %w", err)
		}
		p.track(wl)
		p.wg.Add(2)
		go p.acceptKernelTCP()
		go p.acceptWireTCP(wl)
	} else {
		if err := p.startUDP(); err != nil {
			p.closeKernel()
			p.net.Close()
			return nil, err
		}
	}
	p.closed = make(chan struct{})
	go func() { // not in wg: Close waits for wg
		select {
		case <-ctx.Done():
			p.Close()
		case <-p.done:
		}
	}()
	return p, nil
}

// Addr is the address clients dial.
func (p *Proxy) Addr() net.Addr {
	if p.ln != nil {
		return p.ln.Addr()
	}
	return p.pc.LocalAddr()
}

// Network is the proxy's network (its stacks and wire).
func (p *Proxy) Network() *Network { return p.net }

// Start is when the proxy started: --cut counts from here.
func (p *Proxy) Start() time.Time { return p.net.Start() }

// Conns is how many clients (TCP connections, UDP client addresses) the
// proxy has served.
func (p *Proxy) Conns() uint64 { return p.conns.Load() }

// DialErrors reports how many times dialing the upstream for a new client
// failed, and the last error.
func (p *Proxy) DialErrors() (int64, error) {
	n := p.dialErrs.Load()
	if e := p.dialErr.Load(); e != nil {
		return n, *e
	}
	return n, nil
}

// Close stops the proxy: it stops accepting, closes every connection,
// stops its network and waits for every goroutine. It may be called more
// than once.
func (p *Proxy) Close() error {
	p.shutdown()
	p.wg.Wait()
	p.net.Close()
	p.closeOnce.Do(func() { close(p.closed) })
	return nil
}

// Done is closed once the proxy has stopped, its network included.
func (p *Proxy) Done() <-chan struct{} { return p.closed }

func (p *Proxy) closeKernel() {
	if p.ln != nil {
		p.ln.Close()
	}
	if p.pc != nil {
		p.pc.Close()
	}
}

func (p *Proxy) shutdown() {
	p.once.Do(func() {
		close(p.done)
		p.closeKernel()
		p.mu.Lock()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
	})
}

// track remembers c so shutdown can close it; it reports false (and
// closes c) when the proxy is already stopping.
func (p *Proxy) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c io.Closer) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) dialFailed(err error) {
	p.dialErr.Store(&err)
	p.dialErrs.Add(1)
}

// context returns a context that ends after d, when the proxy stops, or
// when cancel is called (which the caller must do).
func (p *Proxy) context(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// acceptKernelTCP takes kernel clients and dials across the wire for each.
func (p *Proxy) acceptKernelTCP() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if !p.track(c) {
				return
			}
			defer p.untrack(c)
			ctx, cancel := p.context(dialTimeout)
			wc, err := p.net.Client().DialTCP(ctx, netip.AddrPortFrom(ServerAddr, p.wirePort))
			cancel()
			if err != nil {
				p.dialFailed(fmt.Errorf("simwire: across the wire: %w", err))
				return
			}
			if !p.track(wc) {
				return
			}
			defer p.untrack(wc)
			splice(c, wc)
		}()
	}
}

// acceptWireTCP takes the connections that crossed the wire and dials the
// upstream for each.
func (p *Proxy) acceptWireTCP(wl net.Listener) {
	defer p.wg.Done()
	defer p.untrack(wl)
	for {
		wc, err := wl.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if !p.track(wc) {
				return
			}
			defer p.untrack(wc)
			ctx, cancel := p.context(dialTimeout)
			uc, err := new(net.Dialer).DialContext(ctx, "tcp", p.upstream)
			cancel()
			if err != nil {
				p.dialFailed(fmt.Errorf("simwire: upstream %w", err))
				return // the client sees its connection closed
			}
			if !p.track(uc) {
				return
			}
			defer p.untrack(uc)
			splice(wc, uc)
		}()
	}
}

type closeWriter interface{ CloseWrite() error }

// splice copies both ways between a and b, passing each end of stream on
// (half close), and returns when both directions are done or one broke.
func splice(a, b net.Conn) {
	done := make(chan error, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err == nil {
			if cw, ok := dst.(closeWriter); ok {
				err = cw.CloseWrite()
			}
		}
		done <- err
	}
	go cp(a, b)
	go cp(b, a)
	if err := <-done; err != nil {
		a.Close()
		b.Close()
	}
	<-done
}
