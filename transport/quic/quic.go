package quic

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/netlab/netlab/transport"
)

// Defaults for Options fields left zero.
const (
	// DefaultMaxMessage is the largest Message.Data.
	DefaultMaxMessage = 1 << 20
	// DefaultQueue is how many messages wait to be written before Send
	// blocks.
	DefaultQueue = 1024
	// DefaultWriteTimeout bounds each write to a stream.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a connection that heard nothing for this
	// long (keep-alives are sent at half of it).
	DefaultIdleTimeout = 30 * time.Second
	// HandshakeTimeout is quic-go's HandshakeIdleTimeout: a handshake
	// that hears nothing from the client for this long, or has not
	// finished in twice it, is abandoned.
	HandshakeTimeout = 5 * time.Second
	// DefaultMaxStreams is how many streams the peer may have open at once
	// in per-message mode.
	DefaultMaxStreams = 1000
	// DefaultMaxConns is how many connections a listener keeps open at
	// once; it closes the next ones as soon as their handshake is done,
	// with application error 3 and "server full". A QUIC connection
	// holds no file descriptor (all share one UDP socket), so the cap
	// is on memory, not on descriptors.
	DefaultMaxConns = 1000

	closeTimeout = 2 * time.Second
	// alpn names netlab's protocol in the TLS handshake.
	alpn = "netlab"
)

// Options configure the QUIC transport. Zero fields take the defaults.
type Options struct {
	// PerMessage puts every message on a stream of its own (no
	// head-of-line blocking between messages, no order between them).
	PerMessage   bool
	MaxMessage   int
	Queue        int
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	MaxStreams   int64
	MaxConns     int // open connections a listener keeps at once
	// InsecureSkipVerify makes Dial accept any server certificate: for a
	// server in another process, whose in-memory certificate this process
	// cannot know.
	InsecureSkipVerify bool
}

func (o Options) withDefaults() Options {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	return o
}

// frameLimit is the longest wire form accepted: room for MaxMessage bytes
// in base64 inside the JSON wire form.
func (o Options) frameLimit() int { return 4*o.MaxMessage + 1024 }

func (o Options) quicConfig() *quicgo.Config {
	return &quicgo.Config{
		HandshakeIdleTimeout:  HandshakeTimeout,
		MaxIdleTimeout:        o.IdleTimeout,
		KeepAlivePeriod:       o.IdleTimeout / 2,
		MaxIncomingStreams:    -1, // netlab uses only unidirectional streams
		MaxIncomingUniStreams: o.MaxStreams,
	}
}

// Transport is the "quic" (one stream each way) or "quic-streams" (a
// stream per message) transport.
type Transport struct{ opts Options }

var _ transport.Transport = (*Transport)(nil)

// New returns the QUIC transport with opts.
func New(opts Options) *Transport { return &Transport{opts: opts.withDefaults()} }

// Info describes the transport: reliable, duplex, over UDP; ordered with
// one stream each way, not with a stream per message.
func (t *Transport) Info() transport.Info {
	name := "quic"
	if t.opts.PerMessage {
		name = "quic-streams"
	}
	return transport.Info{Name: name, Network: "udp", Reliable: true, Ordered: !t.opts.PerMessage, Connected: true, Duplex: true, MaxMessage: t.opts.MaxMessage}
}

// The lab's certificate, made once per process.
var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPool *x509.CertPool
	certErr  error
)

// labCertificate returns a self-signed ECDSA certificate for 127.0.0.1,
// ::1 and localhost, valid for a day, and a pool that trusts only it.
func labCertificate() (tls.Certificate, *x509.CertPool, error) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: "netlab lab certificate (not a trust model)"},
			NotBefore:             time.Now().Add(-time.Minute),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			DNSNames:              []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		certPool = x509.NewCertPool()
		certPool.AddCert(leaf)
	})
	return certTLS, certPool, certErr
}

// ServerTLS is the TLS configuration Listen uses: the lab certificate,
// ALPN "netlab", TLS 1.3 (QUIC has no other).
func ServerTLS() (*tls.Config, error) {
	cert, _, err := labCertificate()
	if err != nil {
		return nil, fmt.Errorf("quic: making the lab certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}, nil
}

// ClientTLS is the TLS configuration Dial uses: trust the lab certificate
// (or anything, with insecure), ALPN "netlab".
func ClientTLS(insecure bool) (*tls.Config, error) {
	_, pool, err := labCertificate()
	if err != nil {
		return nil, fmt.Errorf("quic: making the lab certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13, InsecureSkipVerify: insecure}, nil
}

// Listen listens for QUIC connections on the UDP address addr ("" means
// 127.0.0.1:0).
func (t *Transport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	tlsConf, err := ServerTLS()
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("quic: %w", err)
	}
	cpc := newCountingPacketConn(pc)
	qt := &quicgo.Transport{Conn: cpc}
	ql, err := qt.Listen(tlsConf, t.opts.quicConfig())
	if err != nil {
		qt.Close()
		pc.Close()
		return nil, fmt.Errorf("quic: listen: %w", err)
	}
	return &Listener{opts: t.opts, qt: qt, ql: ql, pc: cpc, conns: map[*Conn]bool{}, done: make(chan struct{})}, nil
}

// Dial opens a QUIC connection to the UDP address addr from a socket of
// its own.
func (t *Transport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := Dial(ctx, addr, t.opts)
	if err != nil {
		return nil, err // a nil Conn, not a nil *Conn inside the interface
	}
	return c, nil
}

// Dial opens a QUIC connection to addr with opts.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %q: %w", addr, err)
	}
	tlsConf, err := ClientTLS(opts.InsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	local := &net.UDPAddr{}
	if raddr.IP.IsLoopback() {
		local.IP = raddr.IP
	}
	pc, err := net.ListenUDP("udp", local)
	if err != nil {
		return nil, fmt.Errorf("quic: dial %s: %w", addr, err)
	}
	cpc := newCountingPacketConn(pc)
	qt := &quicgo.Transport{Conn: cpc}
	qc, err := qt.Dial(ctx, raddr, tlsConf, opts.quicConfig())
	if err != nil {
		qt.Close()
		pc.Close()
		return nil, fmt.Errorf("quic: dial %s: %w", addr, err)
	}
	c := newConn(qc, opts, cpc.owner(raddr), false)
	c.onClose = func() { qt.Close(); pc.Close() }
	return c, nil
}

// Listener accepts QUIC connections. It is safe for concurrent use.
type Listener struct {
	opts Options
	qt   *quicgo.Transport
	ql   *quicgo.Listener
	pc   *countingPacketConn

	mu     sync.Mutex
	conns  map[*Conn]bool
	closed bool
	done   chan struct{}
	once   sync.Once
}

var _ transport.Listener = (*Listener)(nil)

// Accept waits for the next connection whose handshake is complete. A
// connection over MaxConns is closed at once with application error 3 and
// the reason "server full", and Accept waits for the next one.
func (l *Listener) Accept(ctx context.Context) (transport.Conn, error) {
	for {
		qc, err := l.ql.Accept(ctx)
		if err != nil {
			select {
			case <-l.done:
				return nil, fmt.Errorf("quic: accept: %w", transport.ErrClosed)
			default:
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("quic: accept: %w", err)
		}
		l.mu.Lock()
		full := len(l.conns) >= l.opts.MaxConns
		l.mu.Unlock()
		if full {
			qc.CloseWithError(codeFull, "server full: too many connections, try again later")
			continue
		}
		return l.track(qc)
	}
}

// track makes the Conn for an accepted connection and keeps it until it
// closes, so that Close can close it.
func (l *Listener) track(qc *quicgo.Conn) (transport.Conn, error) {
	c := newConn(qc, l.opts, l.pc.owner(qc.RemoteAddr()), true)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.abort()
		return nil, fmt.Errorf("quic: accept: %w", transport.ErrClosed)
	}
	l.conns[c] = true
	l.mu.Unlock()
	c.onClose = func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		l.pc.forget(qc.RemoteAddr())
	}
	return c, nil
}

// Addr is the UDP address the listener reads from.
func (l *Listener) Addr() net.Addr { return l.pc.LocalAddr() }

// Close stops accepting and closes every connection accepted.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		var conns []*Conn
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		close(l.done)
		l.ql.Close()
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
		l.qt.Close()
		l.pc.Close()
	})
	return nil
}
