package simwire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/transport/impair"
)

// echoServer starts a TCP server on 127.0.0.1:0 that writes back what it
// reads, and stops at the end of the test.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func startProxy(t *testing.T, cfg impair.Config, network, upstream string) (*Link, *Proxy) {
	t.Helper()
	l, err := NewLink(Options{Impair: cfg})
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Listen(context.Background(), network, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return l, p
}

// Under every impairment a byte stream arrives complete and in order, both
// ways: the hash of what the client gets back equals the hash of what it
// sent through an echo server.
func TestStreamIntegrityUnderEveryImpairment(t *testing.T) {
	cases := map[string]impair.Config{
		"delay+jitter": {Delay: impair.Delay(2 * time.Millisecond), Jitter: impair.Jitter(2 * time.Millisecond)},
		"loss 5%":      {Loss: 0.05},
		"burst":        {Burst: impair.Burst{P: 0.02, R: 0.4, Bad: 1}},
		"dup 50%":      {Dup: 0.5},
		"reorder 50%":  {Reorder: 0.5},
		"rate 200Mbit": {Rate: 200_000_000},
		"cut":          {Cut: impair.Cut{At: 10 * time.Millisecond, For: 30 * time.Millisecond}},
		"everything": {Delay: impair.Delay(time.Millisecond), Jitter: impair.Jitter(time.Millisecond), Loss: 0.03,
			Burst: impair.Burst{P: 0.01, R: 0.5, Bad: 1}, Dup: 0.2, Reorder: 0.2, Rate: 500_000_000,
			Cut: impair.Cut{At: 5 * time.Millisecond, For: 20 * time.Millisecond}},
	}
	upstream := echoServer(t)
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			cfg.Seed = 2
			l, p := startProxy(t, cfg, "tcp", upstream)
			c, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			data := make([]byte, 128<<10)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			errc := make(chan error, 1)
			go func() { // write in random-sized pieces, then half-close
				rest := data
				for len(rest) > 0 {
					k := min(len(rest), 1+rng.IntN(8<<10))
					if _, err := c.Write(rest[:k]); err != nil {
						errc <- err
						return
					}
					rest = rest[k:]
				}
				errc <- c.(*net.TCPConn).CloseWrite()
			}()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			h := sha256.New()
			n, err := io.Copy(h, c)
			if err != nil {
				t.Fatalf("read back: %v after %d bytes", err, n)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(data)
			if n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("got %d bytes back, want %d; sha256 in == out: %v", n, len(data), bytes.Equal(h.Sum(nil), want[:]))
			}
			st := l.Stats()
			if (cfg.Loss > 0 || cfg.Burst.P > 0) && st.Client.Retransmits+st.Server.Retransmits == 0 {
				t.Errorf("%s: the stacks retransmitted nothing: %+v", name, st)
			}
			if st.QueueDrops != 0 {
				t.Errorf("%d packets dropped by a full queue", st.QueueDrops)
			}
			t.Logf("up: %v; down: %v; client TCP %+v", st.Up, st.Down, st.Client)
		})
	}
}

// A tickLog records ticks: 8-byte sequence numbers, with the time each was
// sent (by the writer) or arrived (by the reader).
type tickLog struct {
	mu    sync.Mutex
	times map[uint64]time.Time
}

func (l *tickLog) add(seq uint64, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.times == nil {
		l.times = map[uint64]time.Time{}
	}
	if _, ok := l.times[seq]; !ok {
		l.times[seq] = t
	}
}

func (l *tickLog) get() map[uint64]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[uint64]time.Time{}
	for k, v := range l.times {
		out[k] = v
	}
	return out
}

// tick sends a tick on c every gap until stop, logging it in sent, and logs
// the ticks that arrive from c in got.
func tick(c net.Conn, gap time.Duration, sent, got *tickLog, stop <-chan struct{}, wg *sync.WaitGroup) {
	wg.Add(2)
	go func() {
		defer wg.Done()
		var b [8]byte
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(gap):
			}
			binary.BigEndian.PutUint64(b[:], seq)
			sent.add(seq, time.Now())
			if _, err := c.Write(b[:]); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, 8)
		for {
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			got.add(binary.BigEndian.Uint64(b), time.Now())
		}
	}()
}

// --cut silences both directions for its window.
func TestCutSilencesBothWays(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			cut := impair.Cut{At: 300 * time.Millisecond, For: 400 * time.Millisecond}
			var srv net.Conn
			var upstream string
			var accepted = make(chan net.Conn, 1)
			if network == "tcp" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				upstream = ln.Addr().String()
				go func() {
					c, err := ln.Accept()
					if err == nil {
						accepted <- c
					}
					close(accepted)
				}()
			} else {
				pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				upstream = pc.LocalAddr().String()
				srv = &udpPeer{pc: pc}
			}
			l, p := startProxy(t, impair.Config{Cut: cut}, network, upstream)
			cli, err := net.Dial(network, p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if network == "tcp" {
				srv = <-accepted
			} else {
				cli.Write(make([]byte, 8)) // let the server learn the client's address
				srv.(*udpPeer).waitPeer(t)
			}
			var sentByClient, atServer, sentByServer, atClient tickLog
			stop := make(chan struct{})
			var wg sync.WaitGroup
			tick(cli, 10*time.Millisecond, &sentByClient, &atClient, stop, &wg)
			tick(srv, 10*time.Millisecond, &sentByServer, &atServer, stop, &wg)
			// TCP's timer doubles while the link is dark (RFC 6298 5.5):
			// give its next retransmission after the cut time to land.
			time.Sleep(cut.At + cut.For + time.Second)
			close(stop)
			cli.Close()
			srv.Close()
			wg.Wait()
			dark := func(t time.Time) bool { return cut.Dark(p.Start(), t) }
			// 1. Inside the window (less a generous margin at its start, for
			// a busy machine writing late what was due before it) nothing
			// arrived either way; before and after it, ticks flowed.
			// 2. Nothing sent into the dark arrived before the light came
			// back (UDP: never; TCP: after it).
			from, to := p.Start().Add(cut.At+150*time.Millisecond), p.Start().Add(cut.At+cut.For)
			for _, d := range []struct {
				name      string
				sent, got map[uint64]time.Time
			}{{"client→server", sentByClient.get(), atServer.get()}, {"server→client", sentByServer.get(), atClient.get()}} {
				before, during, after, sentDark, lostDark := 0, 0, 0, 0, 0
				for _, at := range d.got {
					switch {
					case at.Before(from):
						before++
					case at.Before(to):
						during++
					default:
						after++
					}
				}
				for seq, at := range d.sent {
					// Sent in the dark, with room for the proxy to read it
					// before the light comes back.
					if !dark(at) || !dark(at.Add(100*time.Millisecond)) {
						continue
					}
					sentDark++
					arrived, ok := d.got[seq]
					if !ok {
						lostDark++
					} else if arrived.Before(to) {
						t.Errorf("%s: tick %d sent into the dark arrived at %v, before the cut ended at %v",
							d.name, seq, arrived.Sub(p.Start()), to.Sub(p.Start()))
					}
				}
				t.Logf("%s: %d ticks arrived before the cut, %d during, %d after; %d sent into the dark, %d of them never arrived",
					d.name, before, during, after, sentDark, lostDark)
				if during != 0 || before == 0 || after == 0 || sentDark == 0 {
					t.Errorf("%s: %d ticks arrived during the cut (want 0), %d before, %d after, %d sent during (want some)", d.name, during, before, after, sentDark)
				}
				if network == "udp" && lostDark != sentDark {
					t.Errorf("%s: %d of %d datagrams sent into the dark arrived", d.name, sentDark-lostDark, sentDark)
				}
				if network == "tcp" && lostDark != 0 {
					t.Errorf("%s: %d bytes-worth of ticks sent into the dark never arrived on a stream", d.name, lostDark)
				}
			}
			if c := l.Up().Add(l.Down()); c.Cut == 0 {
				t.Errorf("no packet counted as cut: %v", c)
			}
		})
	}
}

// udpPeer is the server end of a UDP exchange as a net.Conn: it answers
// whoever wrote to it last.
type udpPeer struct {
	pc   *net.UDPConn
	mu   sync.Mutex
	peer *net.UDPAddr
}

func (u *udpPeer) waitPeer(t *testing.T) {
	b := make([]byte, 64)
	u.pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, from, err := u.pc.ReadFromUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	u.pc.SetReadDeadline(time.Time{})
	u.mu.Lock()
	u.peer = from
	u.mu.Unlock()
}

func (u *udpPeer) Read(b []byte) (int, error) {
	n, _, err := u.pc.ReadFromUDP(b)
	return n, err
}

func (u *udpPeer) Write(b []byte) (int, error) {
	u.mu.Lock()
	peer := u.peer
	u.mu.Unlock()
	return u.pc.WriteToUDP(b, peer)
}
func (u *udpPeer) Close() error                     { return u.pc.Close() }
func (u *udpPeer) LocalAddr() net.Addr              { return u.pc.LocalAddr() }
func (u *udpPeer) RemoteAddr() net.Addr             { return u.peer }
func (u *udpPeer) SetDeadline(time.Time) error      { return nil }
func (u *udpPeer) SetReadDeadline(time.Time) error  { return nil }
func (u *udpPeer) SetWriteDeadline(time.Time) error { return nil }

// The proxy survives clients that vanish mid-stream (reset connections,
// half-sent data) and leaks no goroutine (goleak in TestMain).
func TestProxySurvivesVanishingClients(t *testing.T) {
	upstream := echoServer(t)
	_, p := startProxy(t, impair.Config{Delay: impair.Delay(5 * time.Millisecond), Loss: 0.2, Seed: 1}, "tcp", upstream)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				return
			}
			c.Write(bytes.Repeat([]byte("x"), 100<<10))
			if i%2 == 0 {
				c.(*net.TCPConn).SetLinger(0) // vanish with a reset
			}
			c.Close()
		}()
	}
	wg.Wait()
	// A new client still gets through.
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("still here"))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 10)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "still here" {
		t.Fatalf("after vanishing clients: %q, %v", b, err)
	}
	if p.Conns() != 21 {
		t.Errorf("Conns() = %d, want 21", p.Conns())
	}
}

// Over real UDP sockets, a fixed seed drops the same datagrams every run,
// and the loss rate is what was asked for.
func TestUDPLossThroughProxy(t *testing.T) {
	const n = 2000
	run := func() []bool {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		pc.SetReadBuffer(4 << 20)
		l, p := startProxy(t, impair.Config{Loss: 0.1, Seed: 11}, "udp", pc.LocalAddr().String())
		defer p.Close()
		c, err := net.Dial("udp", p.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := make([]bool, n)
		received := 0
		done := make(chan struct{})
		go func() {
			// Read until every datagram is accounted for (arrived here or
			// dropped by the link), however slow a busy machine makes it.
			defer close(done)
			b := make([]byte, 64)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
				if int64(received)+l.Up().Dropped >= n {
					return
				}
				pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				k, _, err := pc.ReadFromUDP(b)
				if err != nil {
					continue
				}
				if k == 8 && !got[binary.BigEndian.Uint64(b)] {
					got[binary.BigEndian.Uint64(b)] = true
					received++
				}
			}
		}()
		var b [8]byte
		for i := uint64(0); i < n; i++ {
			binary.BigEndian.PutUint64(b[:], i)
			c.Write(b[:])
			if i%10 == 0 {
				time.Sleep(time.Millisecond) // stay well inside socket buffers
			}
		}
		<-done
		if int64(received)+l.Up().Dropped != n {
			t.Fatalf("%d datagrams arrived and the link dropped %d: %d of %d lost outside the link", received, l.Up().Dropped, n-received-int(l.Up().Dropped), n)
		}
		return got
	}
	a, b := run(), run()
	lost := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 11: datagram %d arrived in one run and not the other", i)
		}
		if !a[i] {
			lost++
		}
	}
	sigma := math.Sqrt(n * 0.1 * 0.9)
	if math.Abs(float64(lost)-n*0.1) > 4*sigma {
		t.Errorf("lost %d of %d, want %.0f ± %.0f", lost, n, n*0.1, 4*sigma)
	}
}

func TestViaStopsWithContext(t *testing.T) {
	upstream := echoServer(t)
	l, err := NewLink(Options{Impair: impair.Config{Delay: impair.Delay(time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := l.Via()(ctx, "tcp", upstream)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	b := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("through Via: %q, %v", b, err)
	}
	cancel()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(b); err == nil {
		t.Fatal("connection still open after the Via's context ended")
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("proxy still accepting after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := l.Via()(ctx, "sctp", upstream); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Via with network sctp: %v, want an error naming the network", err)
	}
}
