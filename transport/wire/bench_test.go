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

// BenchmarkTapStream measures one-way bulk throughput through the tap into
// a server that discards, with decoding on (trace discarded).
func BenchmarkTapStream(b *testing.B) {
	for _, tap := range []bool{false, true} {
		name := "direct"
		if tap {
			name = "tap"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			done := make(chan int64, 1)
			go func() {
				s, err := ln.Accept()
				if err != nil {
					done <- 0
					return
				}
				n, _ := io.Copy(io.Discard, s)
				s.Close()
				done <- n
			}()
			addr := ln.Addr().String()
			if tap {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				tp, err := Listen(ctx, "tcp", "127.0.0.1:0", addr, Config{Proto: TCP, Out: io.Discard})
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
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := conn.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			conn.Close()
			if n := <-done; n != int64(b.N*len(buf)) {
				b.Fatalf("server got %d bytes, want %d", n, b.N*len(buf))
			}
		})
	}
}
