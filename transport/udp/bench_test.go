package udp

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

func reportRTT(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkEchoRTT compares a 64-byte round trip through netlab's UDP
// transport with a minimal raw Go UDP echo. On loopback nothing is lost, so
// every round trip completes. Run with:
//
//	go test -run '^$' -bench EchoRTT -benchtime 20000x ./transport/udp
func BenchmarkEchoRTT(b *testing.B) {
	payload := make([]byte, 64)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	b.Run("raw-go-udp", func(b *testing.B) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 2048)
		samples := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			c.Write(payload)
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		b.StopTimer()
		reportRTT(b, samples)
	})
	b.Run("netlab-udp", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tr := New(Options{NoAmplify: true})
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
			for {
				m, err := c.Recv(ctx)
				if err != nil {
					return
				}
				c.Send(ctx, m)
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
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			_, err := c.Recv(rctx)
			rcancel()
			if err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
		}
		b.StopTimer()
		reportRTT(b, samples)
	})
}
