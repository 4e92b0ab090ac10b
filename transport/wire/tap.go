package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
)

// Defaults for Config's zero values.
const (
	// DefaultDumpBytes is how much of each raw TCP read is hex-dumped.
	DefaultDumpBytes = 64
	// DefaultBacklog is how many reads may wait for a connection's decoder
	// before decoding of that connection stops.
	DefaultBacklog = 1024
	// backlogBytes bounds the bytes waiting for one connection's decoder.
	backlogBytes = 4 << 20
	// dialTimeout bounds connecting to the upstream.
	dialTimeout = 5 * time.Second
	// readBuf is the size of each forwarding read.
	readBuf = 64 << 10
	// udpIdle closes a UDP client's upstream socket after this long without
	// traffic.
	udpIdle = 60 * time.Second
	// udpMaxClients bounds the UDP client table.
	udpMaxClients = 1024
)

// Config says how a tap decodes and where it writes.
type Config struct {
	// Proto is how TCP connections are decoded (Auto by default).
	Proto Proto
	// Out receives the annotated trace, one event at a time; nil writes no
	// trace (the tap still counts). Writes to Out never delay forwarding.
	Out io.Writer
	// DumpBytes limits each raw TCP read's hex dump: 0 means
	// DefaultDumpBytes, negative means none.
	DumpBytes int
	// Backlog is how many reads may queue for a connection's decoder; 0
	// means DefaultBacklog.
	Backlog int
	// Record, if not nil, receives every TCP read the decoder saw, in the
	// recording format ParseRecording reads ("3> HEX" for connection 3,
	// client to server), for 'netlab wire replay'. Writes are serialized.
	Record io.Writer
}

// A Tap forwards one listening address to one upstream and reports what
// crosses it. Its methods are safe for concurrent use.
type Tap struct {
	cfg      Config
	network  string
	upstream string
	ln       net.Listener
	pc       *net.UDPConn

	outMu sync.Mutex // serializes writes to cfg.Out
	recMu sync.Mutex // serializes writes to cfg.Record

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	totals Totals
	nconn  int

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// Listen starts a tap on addr (host:port, "127.0.0.1:0" for any free port)
// forwarding to upstream over network "tcp" or "udp". It stops when ctx is
// done or Close is called.
func Listen(ctx context.Context, network, addr, upstream string, cfg Config) (*Tap, error) {
	if cfg.DumpBytes == 0 {
		cfg.DumpBytes = DefaultDumpBytes
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = DefaultBacklog
	}
	t := &Tap{cfg: cfg, network: network, upstream: upstream, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	switch network {
	case "tcp":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("wire: listen: %w", err)
		}
		t.ln = ln
		t.wg.Add(1)
		go t.acceptTCP()
	case "udp":
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("wire: listen: %w", err)
		}
		up, err := net.ResolveUDPAddr("udp", upstream)
		if err != nil {
			return nil, fmt.Errorf("wire: upstream: %w", err)
		}
		pc, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, fmt.Errorf("wire: listen: %w", err)
		}
		t.pc = pc
		t.wg.Add(1)
		go t.serveUDP(up)
	default:
		return nil, fmt.Errorf("wire: network %q: want tcp or udp", network)
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		select {
		case <-ctx.Done():
			t.shutdown()
		case <-t.done:
		}
	}()
	return t, nil
}

// Via returns a transport.Via that puts a new tap with cfg between a client
// and its server. onStart, if not nil, is called with each tap started.
func Via(cfg Config, onStart func(*Tap)) transport.Via {
	return func(ctx context.Context, network, upstream string) (string, error) {
		t, err := Listen(ctx, network, "127.0.0.1:0", upstream, cfg)
		if err != nil {
			return "", err
		}
		if onStart != nil {
			onStart(t)
		}
		return t.Addr().String(), nil
	}
}

// Addr is the address clients dial.
func (t *Tap) Addr() net.Addr {
	if t.ln != nil {
		return t.ln.Addr()
	}
	return t.pc.LocalAddr()
}

// Totals returns what the tap counted so far: a TCP connection's numbers
// are added when it closes, a UDP datagram's when it is decoded. After
// Close, Totals is complete.
func (t *Tap) Totals() Totals {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.totals
}

// Close stops the tap, closes every connection through it and waits until
// every goroutine it started has finished and its trace is written.
func (t *Tap) Close() error {
	t.shutdown()
	t.wg.Wait()
	return nil
}

func (t *Tap) shutdown() {
	t.closeOnce.Do(func() {
		close(t.done)
		if t.ln != nil {
			t.ln.Close()
		}
		if t.pc != nil {
			t.pc.Close()
		}
		t.mu.Lock()
		for c := range t.conns {
			c.Close()
		}
		t.mu.Unlock()
	})
}

func (t *Tap) write(s string) {
	if t.cfg.Out == nil {
		return
	}
	t.outMu.Lock()
	defer t.outMu.Unlock()
	io.WriteString(t.cfg.Out, s)
}

// record writes one read to cfg.Record.
func (t *Tap) record(id int, ch chunk) {
	if t.cfg.Record == nil {
		return
	}
	arrow := ">"
	if ch.dir == ServerToClient {
		arrow = "<"
	}
	line := fmt.Sprintf("%d%s %x\n", id, arrow, ch.b)
	t.recMu.Lock()
	defer t.recMu.Unlock()
	io.WriteString(t.cfg.Record, line)
}

// track adds c to the open connections; false means the tap is closing.
func (t *Tap) track(cs ...net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.done:
		return false
	default:
	}
	for _, c := range cs {
		t.conns[c] = struct{}{}
	}
	return true
}

func (t *Tap) untrack(cs ...net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cs {
		delete(t.conns, c)
	}
}

func (t *Tap) acceptTCP() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// e.g. too many open files: back off instead of spinning
			select {
			case <-t.done:
				return
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		t.mu.Lock()
		t.nconn++
		id := t.nconn
		t.mu.Unlock()
		t.wg.Add(1)
		go t.serveTCP(id, c)
	}
}

// chunk is a copy of one read, queued for the decoder.
type chunk struct {
	dir Dir
	b   []byte
}

func (t *Tap) serveTCP(id int, c net.Conn) {
	defer t.wg.Done()
	name := fmt.Sprintf("conn %d", id)
	if !t.track(c) {
		c.Close()
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-t.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	up, err := d.DialContext(ctx, "tcp", t.upstream)
	cancel()
	if err != nil {
		t.untrack(c)
		c.Close()
		t.write(fmt.Sprintf("%s      could not reach the upstream: %v; closed the client's connection\n", name, err))
		return
	}
	if !t.track(up) {
		t.untrack(c)
		c.Close()
		up.Close()
		return
	}
	opened := fmt.Sprintf("%s      opened: client %s → tap %s → server %s\n%s      decoding: %s\n",
		name, c.RemoteAddr(), c.LocalAddr(), up.RemoteAddr(), name, t.cfg.Proto)

	q := make(chan chunk, t.cfg.Backlog)
	var stopped atomic.Bool    // decoding stopped: the decoder fell behind
	var undecoded atomic.Int64 // bytes forwarded after that
	var forwarded [2]atomic.Int64
	var queued atomic.Int64 // bytes waiting in q
	dec := NewDecoder(name, t.cfg.Proto, t.cfg.DumpBytes, t.write)
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		t.write(opened) // here, not on the data path: a slow trace must not delay forwarding
		for ch := range q {
			dec.Feed(ch.dir, ch.b)
			t.record(id, ch)
			queued.Add(-int64(len(ch.b)))
		}
		dec.Close()
	}()

	// pump forwards src to dst. Each read is copied into the decoder's
	// queue without waiting, then written on: decoding never holds up the
	// data path. Queueing before writing keeps cause before effect across
	// directions (a 101 response is queued before the client can react).
	pump := func(dir Dir, src, dst net.Conn) error {
		buf := make([]byte, readBuf)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !stopped.Load() {
					if queued.Add(int64(n)) > backlogBytes {
						stopped.Store(true)
					} else {
						select {
						case q <- chunk{dir, append([]byte(nil), buf[:n]...)}:
						default:
							stopped.Store(true)
						}
					}
				}
				if stopped.Load() {
					undecoded.Add(int64(n))
				}
				w, werr := dst.Write(buf[:n])
				forwarded[dir].Add(int64(w))
				if werr != nil {
					return werr
				}
			}
			if err != nil {
				if err == io.EOF {
					// pass the half-close on: the other direction may still flow
					if tc, ok := dst.(*net.TCPConn); ok {
						tc.CloseWrite()
					}
					return nil
				}
				return err
			}
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- pump(ClientToServer, c, up) }()
	go func() { errs <- pump(ServerToClient, up, c) }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			// a reset or a closed tap: end both directions
			c.Close()
			up.Close()
		}
	}
	c.Close()
	up.Close()
	t.untrack(c, up)
	close(q)
	<-decoded

	tot := dec.Totals()
	tot.BytesToServer, tot.BytesToClient = forwarded[ClientToServer].Load(), forwarded[ServerToClient].Load()
	if stopped.Load() {
		tot.DecodeStopped = 1
		tot.UndecodedBytes += undecoded.Load()
		t.write(fmt.Sprintf("%s      decoding stopped: the decoder fell more than %d reads or %d MiB behind; %d B were forwarded unchanged but not decoded\n",
			name, t.cfg.Backlog, backlogBytes>>20, undecoded.Load()))
	}
	t.write(fmt.Sprintf("%s      closed: %d B client→server, %d B server→client\n", name, tot.BytesToServer, tot.BytesToClient))
	t.mu.Lock()
	t.totals.Add(tot)
	t.mu.Unlock()
}

// udpClient is one client address seen by a UDP tap, with its own socket
// to the upstream so replies find their way back.
type udpClient struct {
	addr *net.UDPAddr
	up   *net.UDPConn
}

// datagram is a copy of one datagram queued for the decoder.
type datagram struct {
	dir  Dir
	from string
	b    []byte
}

func (t *Tap) serveUDP(upstream *net.UDPAddr) {
	defer t.wg.Done()
	q := make(chan datagram, min(t.cfg.Backlog, 256)) // up to 64 KiB each: at most 16 MiB waiting
	decoded := make(chan struct{})
	var dropped atomic.Int64
	go func() {
		defer close(decoded)
		var n [2]int64
		var quicSeen bool // a QUIC long-header packet crossed: short headers can be told too
		for dg := range q {
			n[dg.dir]++
			var descs []string
			var c Cost
			var isMsg bool
			if ql, long, ok := describeQUIC(dg.b, quicSeen); ok {
				quicSeen = quicSeen || long
				descs, c = ql, Cost{Encrypted: int64(len(dg.b))}
			} else {
				var desc string
				desc, c, _, isMsg = describeMessage(dg.b)
				descs = []string{desc}
			}
			tot := Totals{Datagrams: 1, Cost: c}
			if dg.dir == ClientToServer {
				tot.BytesToServer = int64(len(dg.b))
			} else {
				tot.BytesToClient = int64(len(dg.b))
			}
			if isMsg {
				tot.Messages = 1
			}
			t.mu.Lock()
			t.totals.Add(tot)
			t.mu.Unlock()
			lines := append(descs, "cost "+c.String()+" (+ 28 B of UDP and IPv4 headers from the kernel: netlab layers)")
			if t.cfg.DumpBytes > 0 {
				lines = append(hexDump(dg.b, t.cfg.DumpBytes), lines...)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "udp %s  datagram #%d of %d B (%s)\n", dg.dir, n[dg.dir], len(dg.b), dg.from)
			for _, l := range lines {
				b.WriteString("         " + l + "\n")
			}
			t.write(b.String())
		}
		if d := dropped.Load(); d > 0 {
			t.write(fmt.Sprintf("udp      %d datagrams were forwarded but not decoded: the decoder fell behind\n", d))
		}
	}()
	enqueue := func(dg datagram) {
		select {
		case q <- dg:
		default:
			dropped.Add(1)
		}
	}

	var mu sync.Mutex
	clients := map[string]*udpClient{}
	var wg sync.WaitGroup
	buf := make([]byte, 64<<10)
	for {
		n, from, err := t.pc.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			continue
		}
		key := from.String()
		mu.Lock()
		cl := clients[key]
		if cl == nil && len(clients) < udpMaxClients {
			up, err := net.DialUDP("udp", nil, upstream)
			if err == nil {
				cl = &udpClient{addr: from, up: up}
				clients[key] = cl
				wg.Add(1)
				go func() {
					defer wg.Done()
					rb := make([]byte, 64<<10)
					for {
						cl.up.SetReadDeadline(time.Now().Add(udpIdle))
						n, err := cl.up.Read(rb)
						if err != nil {
							var ne net.Error
							if errors.As(err, &ne) && ne.Timeout() {
								mu.Lock()
								delete(clients, key)
								mu.Unlock()
							}
							cl.up.Close()
							return
						}
						enqueue(datagram{ServerToClient, "from the server to " + key, append([]byte(nil), rb[:n]...)})
						t.pc.WriteToUDP(rb[:n], cl.addr)
					}
				}()
			}
		}
		mu.Unlock()
		if cl == nil {
			continue // no socket for this client: dropped, as UDP may
		}
		enqueue(datagram{ClientToServer, "from " + key, append([]byte(nil), buf[:n]...)})
		cl.up.Write(buf[:n])
	}
	mu.Lock()
	for _, cl := range clients {
		cl.up.Close()
	}
	mu.Unlock()
	wg.Wait()
	close(q)
	<-decoded
}
