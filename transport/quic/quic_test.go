package quic

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAcrossLossyLink: through the impaired link's UDP path (datagrams
// dropped at 5%, both ways), every message still arrives, once, in order
// on one stream and all of them with a stream each.
func TestAcrossLossyLink(t *testing.T) {
	for _, perMessage := range []bool{false, true} {
		t.Run(fmt.Sprint("perMessage=", perMessage), func(t *testing.T) {
			ctx := testCtx(t)
			tr := New(Options{PerMessage: perMessage})
			ln, err := tr.Listen(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			link, err := simwire.NewLink(simwire.Options{Impair: impair.Config{Loss: 0.05, Delay: impair.Delay(2 * time.Millisecond), Seed: 7}})
			if err != nil {
				t.Fatal(err)
			}
			addr, err := link.Via()(ctx, tr.Info().Network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			client, err := tr.Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			const n = 200
			go func() {
				for i := 1; i <= n; i++ {
					client.Send(ctx, transport.Message{Seq: uint64(i), Data: []byte("x")})
					time.Sleep(time.Millisecond)
				}
			}()
			srv, err := ln.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[uint64]bool{}
			var last uint64
			for len(seen) < n {
				m, err := srv.Recv(ctx)
				if err != nil {
					t.Fatalf("after %d messages: %v", len(seen), err)
				}
				if seen[m.Seq] {
					t.Fatalf("message %d twice", m.Seq)
				}
				if !perMessage && m.Seq != last+1 {
					t.Fatalf("message %d after %d on one stream", m.Seq, last)
				}
				seen[m.Seq], last = true, m.Seq
			}
			if up := link.Up(); up.Dropped == 0 {
				t.Fatalf("the link dropped nothing (%+v): the test proves nothing", up)
			}
		})
	}
}

// TestBadFrame: a client whose stream announces a frame over the limit
// has its connection closed with code 1; the server goes on serving.
func TestBadFrame(t *testing.T) {
	ctx := testCtx(t)
	tr := New(Options{MaxMessage: 1000})
	ln, err := tr.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tlsConf, _ := ClientTLS(false)
	raw, err := quicgo.DialAddr(ctx, ln.Addr().String(), tlsConf, &quicgo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := raw.OpenUniStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<30)
	ss.Write(hdr[:])
	srv, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Recv(ctx); !errors.Is(err, transport.ErrTooLarge) {
		t.Fatalf("server Recv of a 1 GiB frame: %v, want ErrTooLarge", err)
	}
	select {
	case <-raw.Context().Done():
		var ae *quicgo.ApplicationError
		if err := context.Cause(raw.Context()); !errors.As(err, &ae) || ae.ErrorCode != codeTooLarge {
			t.Fatalf("the client's connection ended with %v, want application error %d", err, codeTooLarge)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server kept the connection open")
	}
	// Another client is served.
	good, err := tr.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	good.Send(ctx, transport.Message{Seq: 1})
	srv2, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := srv2.Recv(ctx); err != nil || m.Seq != 1 {
		t.Fatalf("second client: %+v, %v", m, err)
	}
}

// TestUntrustedCertificate: the lab certificate is checked; a client that
// does not trust it (a pool without it) is refused during the handshake.
func TestUntrustedCertificate(t *testing.T) {
	ctx := testCtx(t)
	ln, err := New(Options{}).Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tlsConf, _ := ClientTLS(false)
	tlsConf.RootCAs = nil // the system's roots: they do not know the lab
	_, err = quicgo.DialAddr(ctx, ln.Addr().String(), tlsConf, &quicgo.Config{})
	if err == nil {
		t.Fatal("a client without the lab certificate completed the handshake")
	}
}

// TestBytesCountedPerConnection: two clients of one server socket are
// counted apart.
func TestBytesCountedPerConnection(t *testing.T) {
	ctx := testCtx(t)
	tr := New(Options{})
	ln, err := tr.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var srvs []transport.Conn
	for i, size := range []int{100, 50_000} {
		c, err := tr.Dial(ctx, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Send(ctx, transport.Message{Seq: uint64(i), Data: make([]byte, size)})
		s, err := ln.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		srvs = append(srvs, s)
	}
	small := srvs[0].(transport.Meter).WireStats().BytesReceived
	big := srvs[1].(transport.Meter).WireStats().BytesReceived
	if small < 100 || small > 20_000 || big < 50_000 {
		t.Fatalf("server counted %d bytes from the small client and %d from the big one", small, big)
	}
}

// A listener with MaxConns open closes the next connection as soon as its
// handshake is done, with application error 3 "server full", and serves
// again once one of its connections has closed.
func TestOverMaxConnsIsRefused(t *testing.T) {
	ctx := testCtx(t)
	tr := New(Options{MaxConns: 2})
	ln, err := tr.Listen(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served []transport.Conn
	for range 2 {
		c, err := tr.Dial(ctx, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, s)
	}
	accepted := make(chan transport.Conn, 1)
	go func() {
		s, err := ln.Accept(ctx) // refuses the third, then takes the fourth
		if err != nil {
			t.Error(err)
		}
		accepted <- s
	}()
	tlsConf, _ := ClientTLS(false)
	raw, err := quicgo.DialAddr(ctx, ln.Addr().String(), tlsConf, &quicgo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-raw.Context().Done():
		var ae *quicgo.ApplicationError
		if err := context.Cause(raw.Context()); !errors.As(err, &ae) || ae.ErrorCode != codeFull || ae.ErrorMessage != "server full: too many connections, try again later" {
			t.Fatalf("the third connection ended with %v, want application error %d, server full", err, codeFull)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the third connection was kept open over MaxConns 2")
	}
	served[0].Close()
	fourth, err := tr.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fourth.Close()
	if err := fourth.Send(ctx, transport.Message{Seq: 1, Data: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("no fourth connection accepted")
	}
	defer s.Close()
	if m, err := s.Recv(ctx); err != nil || string(m.Data) != "hi" {
		t.Fatalf("the fourth connection: %q, %v", m.Data, err)
	}
}
