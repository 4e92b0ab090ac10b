package udp

import (
	"context"
	"errors"
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

func TestPeerLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln, err := New(Options{MaxPeers: 2}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("udp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("hi"))
		conns = append(conns, c)
	}
	for range 2 {
		if _, err := ln.Accept(ctx); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := ln.Accept(short); err == nil {
		t.Fatal("a third client was accepted with MaxPeers 2")
	}
}
