package simwire

import (
	"fmt"
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
// or 5% loss each way, a fresh wire and seed per iteration, and reports the
// median transfer time with the labs' default classic recovery (median),
// with RACK (rack-median, --tcp-recovery rack), and two anchors measured or
// computed in the same run:
//
//   - the Mathis et al. estimate of steady-state TCP throughput,
//     MSS/RTT · 1.22/√p (ratio);
//   - the kernel's own TCP moving the same 1 MB through the same impair
//     pipeline, seed by seed (kernel_linux_test.go: two network namespaces
//     joined by TUN devices), with Reno, the congestion control the wire's
//     stacks use (kernel-ratio), and with CUBIC, Linux's usual default, for
//     reference. It needs root; without it the benchmark says why and
//     reports the Mathis figures alone.
//
// The issue wants the wire within 30% of an anchor (a ratio of 0.7–1.3).
// Each seed's times are logged (-v): a 1 MB transfer is only about 80
// round trips, so whether the first loss comes early or late in slow start
// moves a run by a second, the same way for the wire and the kernel.
//
//	go test -run '^$' -bench Mathis -benchtime 8x -v -timeout 30m ./transport/simwire
func BenchmarkMathis(b *testing.B) {
	const (
		size  = 1 << 20
		delay = 20 * time.Millisecond
		mss   = 1420 // what the wire's segments carry (its pcap): gVisor keeps 40 bytes for options; the kernel sends 1448
	)
	for _, p := range []float64{0.02, 0.05} {
		b.Run(formatPct(p), func(b *testing.B) {
			rtt := 2 * delay
			rate := mss / rtt.Seconds() * 1.22 / math.Sqrt(p) // bytes per second
			mathis := time.Duration(size / rate * float64(time.Second))
			data := make([]byte, size)
			var wire, rack, reno, cubic []time.Duration
			var rexmit uint64
			var kernelOff error
			for i := 0; i < b.N; i++ {
				cfg := impair.Config{Delay: impair.Delay(delay), Loss: impair.Loss(p), Seed: uint64(i + 1)}
				n, err := New(Options{Impair: cfg})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				transferB(b, n, data)
				took := time.Since(start)
				wire = append(wire, took)
				n.Close()
				st := n.Stats().Client
				rexmit += st.Retransmits
				line := fmt.Sprintf("seed %d: wire %v, %d retransmits (%d fast, %d timeouts)",
					i+1, took.Round(time.Millisecond), st.Retransmits, st.FastRetransmits, st.Timeouts)
				n, err = New(Options{Impair: cfg, Recovery: RACK})
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				transferB(b, n, data)
				rack = append(rack, time.Since(start))
				n.Close()
				st = n.Stats().Client
				line += fmt.Sprintf("; wire rack %v, %d timeouts", rack[len(rack)-1].Round(time.Millisecond), st.Timeouts)
				if kernelOff == nil {
					for _, k := range []struct {
						cc    string
						times *[]time.Duration
					}{{"reno", &reno}, {"cubic", &cubic}} {
						took, kst, err := kernelTransfer(cfg, data, k.cc)
						if err != nil {
							kernelOff = err
							break
						}
						*k.times = append(*k.times, took)
						line += fmt.Sprintf("; kernel %s %v, %d retransmits", k.cc, took.Round(time.Millisecond), kst.Retransmits)
					}
				}
				b.Log(line)
			}
			med := median(wire)
			b.ReportMetric(med.Seconds(), "median-s/MB")
			b.ReportMetric(mathis.Seconds(), "mathis-s/MB")
			b.ReportMetric(med.Seconds()/mathis.Seconds(), "ratio")
			b.ReportMetric(median(rack).Seconds(), "rack-median-s/MB")
			if kernelOff != nil {
				b.Logf("no kernel cross-check: %v", kernelOff)
			} else {
				b.ReportMetric(median(reno).Seconds(), "kernel-reno-s/MB")
				b.ReportMetric(med.Seconds()/median(reno).Seconds(), "kernel-ratio")
				b.ReportMetric(median(cubic).Seconds(), "kernel-cubic-s/MB")
			}
			b.ReportMetric(float64(rexmit)/float64(b.N), "retransmits/MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
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
	select {
	case err = <-done:
	case <-time.After(stallLimit):
		// Seen at 5% loss with classic recovery: the sender's smoothed RTT
		// grew with each retransmission timeout until the timer waited
		// minutes. Say so rather than hang until the test's timeout.
		b.Errorf("transfer stalled: no end after %v; client TCP %+v, wire %v / %v",
			stallLimit, n.Stats().Client, n.Stats().Up, n.Stats().Down)
		n.Close() // closes the server's connection too
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
		}
	}
	if err != nil && !b.Failed() {
		b.Fatal(err)
	}
}

// stallLimit is how long transferB waits for a transfer before it calls
// it stalled.
const stallLimit = 2 * time.Minute
