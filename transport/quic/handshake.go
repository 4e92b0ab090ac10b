package quic

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/netlab/netlab/transport"
)

// HandshakeTimes is what MeasureHandshakes measured: the best of its tries.
type HandshakeTimes struct {
	// QUIC is from Dial's start until the QUIC client could send (its
	// handshake done: QUIC and TLS 1.3 together).
	QUIC time.Duration
	// TCPConnect is until net.Dial returned (the SYN/SYN-ACK exchange with
	// whatever answered it), TCPTLS until the TLS 1.3 handshake on that
	// connection was done and the client could send.
	TCPConnect, TCPTLS time.Duration
}

// MeasureHandshakes starts a QUIC server and a TCP server with TLS 1.3
// (the same lab certificate, ALPN "netlab") on 127.0.0.1, dials each tries
// times through a fresh via (an impaired link: pass one with only a delay),
// and returns the fastest of each.
func MeasureHandshakes(ctx context.Context, via transport.Via, tries int) (HandshakeTimes, error) {
	var out HandshakeTimes
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	ln, err := New(Options{}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return out, err
	}
	defer ln.Close()
	go func() { // accept and let each connection go
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() { c.Recv(ctx); c.Close() }()
		}
	}()

	srvTLS, err := ServerTLS()
	if err != nil {
		return out, err
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return out, fmt.Errorf("quic: handshake: %w", err)
	}
	defer tl.Close()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, srvTLS)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if tc.HandshakeContext(ctx) == nil {
					io.Copy(io.Discard, tc)
				}
			}()
		}
	}()
	cliTLS, err := ClientTLS(false)
	if err != nil {
		return out, err
	}
	cliTLS.ServerName = "127.0.0.1"

	best := func(cur, d time.Duration) time.Duration {
		if cur == 0 || d < cur {
			return d
		}
		return cur
	}
	for range max(tries, 1) {
		addr, err := via(ctx, "udp", ln.Addr().String())
		if err != nil {
			return out, fmt.Errorf("quic: handshake: link: %w", err)
		}
		t0 := time.Now()
		c, err := Dial(ctx, addr, Options{})
		if err != nil {
			return out, err
		}
		out.QUIC = best(out.QUIC, time.Since(t0))
		c.Close()

		addr, err = via(ctx, "tcp", tl.Addr().String())
		if err != nil {
			return out, fmt.Errorf("quic: handshake: link: %w", err)
		}
		t0 = time.Now()
		var d net.Dialer
		raw, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return out, fmt.Errorf("quic: handshake: tcp: %w", err)
		}
		connect := time.Since(t0)
		tc := tls.Client(raw, cliTLS)
		err = tc.HandshakeContext(ctx)
		total := time.Since(t0)
		tc.Close()
		if err != nil {
			return out, fmt.Errorf("quic: handshake: tls: %w", err)
		}
		if out.TCPTLS == 0 || total < out.TCPTLS {
			out.TCPTLS, out.TCPConnect = total, connect
		}
	}
	return out, nil
}
