package simwire

import (
	"io"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/transport/impair"
)

// bulkSize is what one bulk iteration sends.
const bulkSize = 64 << 20

// BenchmarkBulk sends 64 MB one way over a perfect wire, and, as the
// anchor run in the same benchmark run, over kernel TCP on 127.0.0.1:
//
//	go test -run '^$' -bench Bulk -benchtime 5x ./transport/simwire
func BenchmarkBulk(b *testing.B) {
	data := make([]byte, 1<<20)
	b.Run("wire", func(b *testing.B) {
		b.SetBytes(bulkSize)
		for i := 0; i < b.N; i++ {
			n, err := New(Options{})
			if err != nil {
				b.Fatal(err)
			}
			bulkOver(b, n, data)
			n.Close()
			if st := n.Stats(); st.QueueDrops != 0 || st.Client.Retransmits != 0 {
				b.Errorf("perfect wire: %d queue drops, %d retransmits", st.QueueDrops, st.Client.Retransmits)
			}
		}
	})
	b.Run("kernel-anchor", func(b *testing.B) {
		b.SetBytes(bulkSize)
		for i := 0; i < b.N; i++ {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				_, err = io.Copy(io.Discard, c)
				c.Close()
				done <- err
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			for sent := 0; sent < bulkSize; sent += len(data) {
				if _, err := c.Write(data); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			ln.Close()
		}
	})
}

func bulkOver(b *testing.B, n *Network, data []byte) {
	ln, err := n.Server().ListenTCP(80)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	c, err := n.Client().DialTCP(b.Context(), serverPort(80))
	if err != nil {
		b.Fatal(err)
	}
	for sent := 0; sent < bulkSize; sent += len(data) {
		if _, err := c.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMathis sends 1 MB over a wire with 20 ms delay each way and 2%
// or 5% loss each way, a fresh seed per iteration, and reports the mean
// transfer time beside the Mathis et al. estimate of steady-state TCP
// throughput, MSS/RTT · 1.22/√p (and their ratio, which the issue wants
// within 0.7–1.3):
//
//	go test -run '^$' -bench Mathis -benchtime 6x ./transport/simwire
func BenchmarkMathis(b *testing.B) {
	const (
		size  = 1 << 20
		delay = 20 * time.Millisecond
		mss   = 1448 // 1460 less the 12 bytes of the timestamp option
	)
	for _, p := range []float64{0.02, 0.05} {
		b.Run(formatPct(p), func(b *testing.B) {
			rtt := 2 * delay
			rate := mss / rtt.Seconds() * 1.22 / math.Sqrt(p) // bytes per second
			mathis := time.Duration(size / rate * float64(time.Second))
			var total time.Duration
			var rexmit uint64
			var times []time.Duration
			for i := 0; i < b.N; i++ {
				n, err := New(Options{Impair: impair.Config{Delay: impair.Delay(delay), Loss: impair.Loss(p), Seed: uint64(i + 1)}})
				if err != nil {
					b.Fatal(err)
				}
				data := make([]byte, size)
				start := time.Now()
				transferB(b, n, data)
				took := time.Since(start)
				total += took
				times = append(times, took)
				n.Close()
				st := n.Stats().Client
				rexmit += st.Retransmits
				b.Logf("seed %d: %v, %d retransmits (%d fast, %d timeouts)", i+1, took.Round(time.Millisecond), st.Retransmits, st.FastRetransmits, st.Timeouts)
			}
			mean := total / time.Duration(b.N)
			slices.Sort(times)
			median := times[len(times)/2]
			b.ReportMetric(mean.Seconds(), "s/MB")
			b.ReportMetric(median.Seconds(), "median-s/MB")
			b.ReportMetric(median.Seconds()/mathis.Seconds(), "median-ratio")
			b.ReportMetric(mathis.Seconds(), "mathis-s/MB")
			b.ReportMetric(mean.Seconds()/mathis.Seconds(), "ratio")
			b.ReportMetric(float64(rexmit)/float64(b.N), "retransmits/MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func formatPct(p float64) string { return "loss=" + impair.Loss(p).String() }

func serverPort(port uint16) netip.AddrPort { return netip.AddrPortFrom(ServerAddr, port) }

func transferB(b *testing.B, n *Network, data []byte) {
	ln, err := n.Server().ListenTCP(80)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, c)
		c.Close()
		done <- err
	}()
	c, err := n.Client().DialTCP(b.Context(), serverPort(80))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		b.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
