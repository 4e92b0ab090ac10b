package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) { transporttest.Run(t, New(Options{})) }

// echo serves one listener with NoAmplify, echoing what it receives and
// answering malformed datagrams with an error text (which NoAmplify may
// refuse).
func echo(t *testing.T) (addr string, refused chan error, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := New(Options{NoAmplify: true}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused = make(chan error, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				for {
					m, err := c.Recv(ctx)
					if errors.Is(err, transport.ErrMalformed) {
						m = transport.Message{Data: []byte("error: " + err.Error())}
					} else if err != nil {
						return
					}
					if err := c.Send(ctx, m); err != nil {
						refused <- err
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), refused, func() { cancel(); ln.Close(); <-done }
}

// TestNoAmplification sends what nc -u and hostile clients send: no reply
// is ever larger than its request.
func TestNoAmplification(t *testing.T) {
	addr, refused, stop := echo(t)
	defer stop()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inputs := []string{
		"hello\n",                          // nc -u
		"\xff\xfe binary \x00",             // not UTF-8
		`{"seq":1,"text":"\u0041"}`,        // escapes re-encode shorter
		`{"seq":2,"text":"caf` + "\xff\"}", // invalid UTF-8 inside JSON grows to U+FFFD
		"{oops",                            // malformed: the error text would be larger
		`{"seq":3,"event":"echo","text":"hi"}`,
	}
	buf := make([]byte, 70000)
	for _, in := range inputs {
		c.Write([]byte(in))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			continue // refused: fine, nothing was amplified
		}
		if n > len(in) {
			t.Errorf("request %q (%d bytes) got a %d-byte reply %q", in, len(in), n, buf[:n])
		}
	}
	// The plain datagram is echoed exactly, as nc -u shows it.
	c.Write([]byte("hello\n"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("plain echo = %q, %v", buf[:n], err)
	}
	select {
	case err := <-refused:
		if !errors.Is(err, ErrAmplification) {
			t.Fatalf("refusal = %v, want ErrAmplification", err)
		}
	default:
		t.Fatal("the malformed request's larger error reply was not refused")
	}
}

func TestTooLargeDatagram(t *testing.T) {
	ctx := context.Background()
	ln, err := New(Options{}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := New(Options{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 60,000 bytes of binary data is under MaxMessage but base64 makes it
	// 80,000: refused, not truncated.
	err = c.Send(ctx, transport.Message{Data: make([]byte, 60000)})
	if !errors.Is(err, transport.ErrTooLarge) || !strings.Contains(err.Error(), "65507") {
		t.Fatalf("Send of a datagram over 65,507 bytes: %v", err)
	}
}

// A full table makes room: the least recently seen client is forgotten
// (its Conn closed) and the newcomer is accepted.
func TestPeerLimitEvictsLeastRecentlySeen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := New(Options{MaxPeers: 2}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var server []transport.Conn
	for i := range 3 {
		c, err := net.Dial("udp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("hi"))
		sc, err := l.Accept(ctx)
		if err != nil {
			t.Fatalf("client %d not accepted: %v", i+1, err)
		}
		server = append(server, sc)
	}
	var rerr error
	for range 2 { // its one datagram, perhaps, then closed
		if _, rerr = server[0].Recv(ctx); rerr != nil {
			break
		}
	}
	if !errors.Is(rerr, transport.ErrClosed) {
		t.Fatalf("the least recently seen client: Recv = %v, want ErrClosed (evicted)", rerr)
	}
	ln := l.(*Listener)
	if ln.Evicted() != 1 || ln.Peers() != 2 {
		t.Fatalf("evicted %d, peers %d; want 1 and 2", ln.Evicted(), ln.Peers())
	}
}

// echoAll echoes every client of l until l is closed.
func echoAll(l transport.Listener) {
	ctx := context.Background()
	for {
		c, err := l.Accept(ctx)
		if err != nil {
			return
		}
		go func() {
			for {
				m, err := c.Recv(ctx)
				if err != nil {
					return
				}
				c.Send(ctx, m)
			}
		}()
	}
}

// 2,000 datagrams from 2,000 source ports fill the 1,024-peer table; a new
// client is still answered at once (it used to be ignored until the burst's
// peers went idle, a minute later).
func TestBurstOfPortsDoesNotLockOut(t *testing.T) {
	l, err := New(Options{}).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go echoAll(l)
	ln := l.(*Listener)
	ports := map[int]bool{}
	for i := range 2000 {
		if i%32 == 0 {
			// Let the server read and accept each batch, so that none is
			// dropped for a full socket buffer or backlog: every distinct
			// port is a new client, tracked or evicted since.
			waitUntil(t, func() bool { return ln.Peers()+int(ln.Evicted()) >= len(ports) && len(ln.accept) == 0 },
				fmt.Sprintf("the server to take %d clients", len(ports)))
		}
		c, err := net.Dial("udp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		ports[c.LocalAddr().(*net.UDPAddr).Port] = true
		c.Write([]byte("burst"))
		c.Close()
	}
	if len(ports) <= DefaultMaxPeers {
		t.Fatalf("only %d source ports used; the test needs more than %d", len(ports), DefaultMaxPeers)
	}
	waitUntil(t, func() bool { return ln.Evicted() > 0 }, fmt.Sprintf("the table to fill (peers %d)", ln.Peers()))
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	var got string
	for try := 0; try < 5 && got == ""; try++ { // UDP: a datagram may be lost, so ask again
		c.Write([]byte("newcomer"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil {
			got = string(buf[:n])
		}
	}
	if got != "newcomer" {
		t.Fatalf("new client after the burst: %q, want its echo (peers %d, evicted %d)", got, ln.Peers(), ln.Evicted())
	}
}

// Idle clients are forgotten on a timer, with no datagram arriving to
// trigger it.
func TestIdlePeersExpireOnATimer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := New(Options{IdleTimeout: 100 * time.Millisecond}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hi"))
	sc, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc.Recv(ctx)
	start := time.Now()
	if _, err := sc.Recv(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("idle client: Recv = %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("forgotten after %v, want about the 100ms idle timeout", d)
	}
	if ln := l.(*Listener); ln.Peers() != 0 || ln.Expired() != 1 {
		t.Fatalf("peers %d, expired %d; want 0 and 1", ln.Peers(), ln.Expired())
	}
}

func waitUntil(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzDecode feeds datagrams to the server's parser: never a panic, never
// a message over the limit.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"hello", `{"seq":1,"text":"hi"}`, `{"data":"/w=="}`, `{"seq":`, "", "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := decode(b, 64)
		if err == nil && len(m.Data) > 64 {
			t.Fatalf("accepted %d bytes over the 64-byte limit", len(m.Data))
		}
	})
}
