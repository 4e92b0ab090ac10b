package wire

import (
	"context"
	"io"
	"net"
	"testing"
)

// BenchmarkTapThroughput measures bytes per second through the tap (an
// echo, so every byte crosses twice) against the same echo without it.
func BenchmarkTapThroughput(b *testing.B) {
	for _, c := range []struct {
		name string
		tap  bool
		out  io.Writer
	}{{"direct", false, nil}, {"tap-count-only", true, nil}, {"tap-trace-discarded", true, io.Discard}} {
		b.Run(c.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					s, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { defer s.Close(); io.Copy(s, s) }()
				}
			}()
			addr := ln.Addr().String()
			if c.tap {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				tp, err := Listen(ctx, "tcp", "127.0.0.1:0", addr, Config{Proto: TCP, Out: c.out})
				if err != nil {
					b.Fatal(err)
				}
				defer tp.Close()
				addr = tp.Addr().String()
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, 64<<10)
			for i := range buf {
				buf[i] = byte('a' + i%26)
			}
			buf[len(buf)-1] = '\n'
			rb := make([]byte, len(buf))
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := conn.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, rb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
