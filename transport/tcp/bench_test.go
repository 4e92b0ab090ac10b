package tcp

import (
	"context"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// reportRTT records per-round-trip samples as p50 and p99 metrics.
func reportRTT(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkEchoRTT compares one 64-byte round trip through netlab's TCP
// transport (line framing, a read pump per connection, an echo server on
// the transport) with a minimal raw Go TCP echo (no framing, TCP_NODELAY,
// one Write and one ReadFull per side). Run with:
//
//	go test -run '^$' -bench EchoRTT -benchtime 20000x ./transport/tcp
//
// The two run one after the other; transport/ws's BenchmarkEchoRTT runs
// them taking turns in one run, with the ratio.
func BenchmarkEchoRTT(b *testing.B) {
	payload := make([]byte, 64)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}

	b.Run("raw-go-tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, len(payload))
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetNoDelay(true)
		buf := make([]byte, len(payload))
		samples := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			c.Write(payload)
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		b.StopTimer()
		reportRTT(b, samples)
	})

	b.Run("netlab-tcp", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tr := New(Options{})
		ln, err := tr.Listen(ctx, "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				m, err := c.Recv(ctx)
				if err != nil {
					return
				}
				if c.Send(ctx, m) != nil {
					return
				}
			}
		}()
		c, err := tr.Dial(ctx, ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		samples := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			if err := c.Send(ctx, transport.Message{Seq: uint64(i + 1), Event: "echo", Sent: start, Data: payload}); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Recv(ctx); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		b.StopTimer()
		reportRTT(b, samples)
	})
}
