package impair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
)

// A Link is an impaired link: a Config and the counters of what it did, in
// each direction, summed over every proxy started from it. Its methods are
// safe for concurrent use.
type Link struct {
	cfg  Config
	up   Counters // client → server
	down Counters // server → client
}

// New returns a link with the impairments of cfg, or cfg's validation
// error.
func New(cfg Config) (*Link, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Link{cfg: cfg}, nil
}

// Config returns the link's impairments.
func (l *Link) Config() Config { return l.cfg }

// Up returns what the link did to packets from clients to the server so far.
func (l *Link) Up() Counts { return l.up.Load() }

// Down returns what the link did to packets from the server to clients so far.
func (l *Link) Down() Counts { return l.down.Load() }

// Via returns a transport.Via that starts a proxy on 127.0.0.1 through this
// link for each call; the proxy stops when the call's ctx is done.
func (l *Link) Via() transport.Via {
	return func(ctx context.Context, network, upstream string) (string, error) {
		p, err := l.Listen(ctx, network, "127.0.0.1:0", upstream)
		if err != nil {
			return "", err
		}
		return p.Addr().String(), nil
	}
}

// dialTimeout bounds dialing the upstream for a new client.
const dialTimeout = 5 * time.Second

// streamReadSize is the most one read from a stream takes: one "segment".
const streamReadSize = 32 << 10

// A Proxy listens for clients and forwards each to the upstream through
// the link: network "tcp" (one pair of directions per accepted connection)
// or "udp" (one per client address). Its --cut clock starts when it does.
type Proxy struct {
	link     *Link
	network  string
	upstream string
	start    time.Time
	ln       net.Listener // tcp
	pc       *net.UDPConn // udp
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
	conns    atomic.Uint64
	dialErrs atomic.Int64
	dialErr  atomic.Pointer[error]

	mu      sync.Mutex
	open    map[io.Closer]struct{}
	lastErr error
}

// Listen starts a proxy on listen (host:port; port 0 picks one) that
// forwards to upstream through the link. It stops when ctx is done or
// Close is called.
func (l *Link) Listen(ctx context.Context, network, listen, upstream string) (*Proxy, error) {
	p := &Proxy{link: l, network: network, upstream: upstream, start: time.Now(),
		done: make(chan struct{}), open: map[io.Closer]struct{}{}}
	switch network {
	case "tcp":
		if _, err := net.ResolveTCPAddr("tcp", upstream); err != nil {
			return nil, fmt.Errorf("impair: upstream %q: %w", upstream, err)
		}
		ln, err := new(net.ListenConfig).Listen(ctx, "tcp", listen)
		if err != nil {
			return nil, fmt.Errorf("impair: %w", err)
		}
		p.ln = ln
		p.wg.Add(1)
		go p.acceptTCP()
	case "udp":
		up, err := net.ResolveUDPAddr("udp", upstream)
		if err != nil {
			return nil, fmt.Errorf("impair: upstream %q: %w", upstream, err)
		}
		la, err := net.ResolveUDPAddr("udp", listen)
		if err != nil {
			return nil, fmt.Errorf("impair: listen %q: %w", listen, err)
		}
		pc, err := net.ListenUDP("udp", la)
		if err != nil {
			return nil, fmt.Errorf("impair: %w", err)
		}
		p.pc = pc
		p.wg.Add(1)
		go p.serveUDP(up)
	default:
		return nil, fmt.Errorf("impair: network %q: want tcp or udp", network)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-ctx.Done():
			p.shutdown()
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

// Start is when the proxy started: --cut counts from here.
func (p *Proxy) Start() time.Time { return p.start }

// Conns is how many clients (TCP connections, UDP client addresses) the
// proxy has served.
func (p *Proxy) Conns() uint64 { return p.conns.Load() }

// DialErrors reports how many times dialing the upstream for a new TCP
// client failed, and the last error.
func (p *Proxy) DialErrors() (int64, error) {
	n := p.dialErrs.Load()
	if e := p.dialErr.Load(); e != nil {
		return n, *e
	}
	return n, nil
}

// Close stops the proxy: it stops accepting, forwards what it holds (for at
// most a second), closes every connection and waits for its goroutines. It
// may be called more than once.
func (p *Proxy) Close() error {
	p.shutdown()
	p.wg.Wait()
	return nil
}

func (p *Proxy) shutdown() {
	p.once.Do(func() {
		close(p.done)
		if p.ln != nil {
			p.ln.Close()
		}
		if p.pc != nil {
			p.pc.Close()
		}
	})
}

// track remembers c so shutdown can reach it; it reports false (and
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

func (p *Proxy) acceptTCP() {
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
		n := p.conns.Add(1) - 1
		p.wg.Add(1)
		go p.serveTCP(c.(*net.TCPConn), n)
	}
}

// serveTCP carries one client connection: a reader and a writer goroutine
// for each direction.
func (p *Proxy) serveTCP(client *net.TCPConn, n uint64) {
	defer p.wg.Done()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	go func() {
		select {
		case <-p.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	uc, err := new(net.Dialer).DialContext(ctx, "tcp", p.upstream)
	cancel()
	if err != nil {
		err = fmt.Errorf("impair: upstream %w", err)
		p.dialErr.Store(&err)
		p.dialErrs.Add(1)
		return // the client sees its connection closed
	}
	server := uc.(*net.TCPConn)
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	var wg sync.WaitGroup
	abort := make(chan struct{})
	var abortOnce sync.Once
	kill := func() { abortOnce.Do(func() { close(abort); client.Close(); server.Close() }) }
	pipe := func(src, dst *net.TCPConn, dir int, counts *Counters) {
		in := make(chan chunk, 64)
		stop := make(chan struct{})
		go func() { // stop on proxy shutdown or when the other side broke
			select {
			case <-p.done:
			case <-abort:
			}
			close(stop)
		}()
		var readErr error
		wg.Add(1)
		go func() { // reader
			defer wg.Done()
			defer close(in)
			for {
				buf := make([]byte, streamReadSize)
				k, err := src.Read(buf)
				if k > 0 {
					select {
					case in <- chunk{data: buf[:k], at: time.Now()}:
					case <-stop:
						return
					}
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						readErr = err
					}
					return
				}
			}
		}()
		d := &direction{
			pipe:     NewPipeline(p.link.cfg, Stream, p.start, n, dir, counts),
			mode:     Stream,
			counts:   counts,
			in:       in,
			write:    func(b []byte) error { _, err := dst.Write(b); return err },
			flushing: func() { dst.SetWriteDeadline(time.Now().Add(flushWait)) },
		}
		err := d.run(stop)
		select {
		case <-stop:
			// Shutting down: run has forwarded what it held. The other
			// direction may still be doing so; serveTCP closes both
			// connections once both are done.
			return
		default:
		}
		if err != nil {
			kill() // the destination vanished: tear the connection down
			return
		}
		// run returned nil without stop: in is closed, the reader is done
		// and readErr is set.
		if readErr != nil {
			kill() // the source vanished (reset): tear the connection down
			return
		}
		dst.CloseWrite() // pass the end of stream on
	}
	wg.Add(2)
	done := make(chan struct{}, 2)
	go func() { defer wg.Done(); pipe(client, server, 0, &p.link.up); done <- struct{}{} }()
	go func() { defer wg.Done(); pipe(server, client, 1, &p.link.down); done <- struct{}{} }()
	<-done
	<-done
	kill()
	wg.Wait()
}
