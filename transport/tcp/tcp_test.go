package tcp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) { transporttest.Run(t, New(Options{})) }

func TestConformanceNagle(t *testing.T) {
	transporttest.Run(t, New(Options{Nagle: true, MaxMessage: 1000}))
}

// echoServer accepts connections and echoes every message until ctx ends.
func echoServer(t *testing.T) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := New(Options{MaxMessage: 1024}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
						c.Send(ctx, transport.Message{Data: []byte("error: " + err.Error())})
						continue
					}
					if err != nil {
						c.Close()
						return
					}
					c.Send(ctx, m)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { cancel(); ln.Close(); <-done }
}

// TestPlainLinesLikeNc talks to the server the way nc does: bare lines.
func TestPlainLinesLikeNc(t *testing.T) {
	addr, stop := echoServer(t)
	defer stop()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	for _, line := range []string{"hello", "two words", "crlf\r"} {
		io.WriteString(nc, line+"\n")
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(line, "\r") + "\n"; got != want {
			t.Errorf("sent %q, got %q, want %q", line, got, want)
		}
	}
	// A JSON line is answered in JSON.
	io.WriteString(nc, `{"seq":7,"text":"hi"}`+"\n")
	got, _ := r.ReadString('\n')
	if got != `{"seq":7,"text":"hi"}`+"\n" {
		t.Errorf("JSON echo = %q", got)
	}
	// Garbage that looks like JSON gets an error line; the connection lives.
	io.WriteString(nc, "{oops\n")
	got, _ = r.ReadString('\n')
	if !strings.HasPrefix(got, "error: tcp: recv: malformed message") {
		t.Errorf("malformed line answered with %q", got)
	}
	io.WriteString(nc, "still here\n")
	if got, _ = r.ReadString('\n'); got != "still here\n" {
		t.Errorf("after a malformed line: %q", got)
	}
}

// TestHostileClients: an over-long line and a half-sent message close only
// that client; the server keeps serving others.
func TestHostileClients(t *testing.T) {
	addr, stop := echoServer(t)
	fdsBefore := openFDs(t) // after the first socket: the runtime's poller fds exist by now

	long, _ := net.Dial("tcp", addr)
	defer long.Close()
	go io.WriteString(long, strings.Repeat("x", 200000)) // no newline, over the line limit
	long.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(long); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("over-long line: the server should close the connection, read gave %v", err)
	}

	half, _ := net.Dial("tcp", addr)
	io.WriteString(half, `{"seq":1,"text":"never fini`)
	half.Close()

	good, err := New(Options{}).Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := good.Send(ctx, transport.Message{Seq: 1, Event: "echo", Data: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	if m, err := good.Recv(ctx); err != nil || string(m.Data) != "ok" {
		t.Fatalf("a well-behaved client got %+v, %v", m, err)
	}
	good.Close()
	long.Close()
	stop()
	if after := openFDs(t); after > fdsBefore {
		t.Errorf("%d file descriptors open before, %d after the server stopped: a leak", fdsBefore, after)
	}
}

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(entries)
}

func TestDialRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := New(Options{}).Dial(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Dial to a closed port: %v", err)
	}
}

func TestAcceptHonoursContext(t *testing.T) {
	ln, err := New(Options{}).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ln.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept = %v, want DeadlineExceeded", err)
	}
}

// A Recv whose ctx ends while half a line has arrived loses nothing: the
// read pump keeps reading, and the next Recv gets the whole message.
func TestRecvCancelledMidLineKeepsTheMessage(t *testing.T) {
	ln, err := New(Options{}).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	line := `{"seq":7,"text":"whole"}` + "\n"
	io.WriteString(raw, line[:9])
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	if _, err := server.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with half a line and a 100ms ctx: err = %v, want DeadlineExceeded", err)
	}
	io.WriteString(raw, line[9:])
	m, err := server.Recv(ctx)
	if err != nil || m.Seq != 7 || string(m.Data) != "whole" {
		t.Fatalf("Recv after the rest arrived = %+v, %v; want seq 7 \"whole\"", m, err)
	}
}

// Close is bounded even while a Send is stuck writing to a peer that reads
// nothing: it waits a moment for the write lock, then closes the socket,
// and the stuck Send returns an error.
func TestCloseWithASendStuckOnAPeerThatDoesNotRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc // and never read from it
		}
	}()
	c, err := New(Options{}).Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	defer peer.Close()
	sendErr := make(chan error, 1)
	go func() {
		big := transport.Message{Data: []byte(strings.Repeat("x", DefaultMaxMessage))}
		for {
			if err := c.Send(context.Background(), big); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // the socket buffers fill; a Send blocks in its write
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with a stuck Send, want a few seconds at most", d)
	}
	select {
	case <-sendErr:
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck Send did not return after Close")
	}
}
