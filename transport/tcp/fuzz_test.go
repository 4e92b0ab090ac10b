package tcp_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
)

// FuzzRecv sends arbitrary bytes to a TCP server, in two writes split
// where the fuzzer says, and reads messages until the stream ends: never a
// panic or a hang, never a message over the limit. It uses only the
// package's public API, over a real loopback connection.
func FuzzRecv(f *testing.F) {
	for _, s := range []string{"hello\n", "{\"seq\":1,\"text\":\"hi\"}\r\n", "{\"seq\":", "\x00\xff\n\n", "a\nb\nc"} {
		f.Add([]byte(s), uint8(1))
	}
	tr := tcp.New(tcp.Options{MaxMessage: 64})
	ln, err := tr.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sc, err := ln.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		i := min(int(cut), len(b))
		c.Write(b[:i])
		c.Write(b[i:])
		c.(*net.TCPConn).CloseWrite()
		for {
			m, err := sc.Recv(ctx)
			if errors.Is(err, transport.ErrMalformed) {
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					t.Fatalf("Recv hung on %q", b)
				}
				return
			}
			if len(m.Data) > 64 {
				t.Fatalf("accepted %d bytes over the 64-byte limit", len(m.Data))
			}
		}
	})
}
