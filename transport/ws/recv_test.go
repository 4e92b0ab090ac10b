package ws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// rawServerConn starts a Server whose accepted Conn is returned, with a raw
// client that has done the handshake.
func rawServerConn(t *testing.T, opts Options) (server transport.Conn, raw net.Conn, rd func() (byte, []byte)) {
	t.Helper()
	l, err := New(opts).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c, r := rawHandshake(t, l.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server, err = l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, c, func() (byte, []byte) {
		op, p, err := readFrame(r)
		if err != nil {
			t.Fatalf("reading a server frame: %v", err)
		}
		return op, p
	}
}

// A Recv interrupted by its ctx while half a frame has arrived loses
// nothing: the next Recv returns the whole message.
func TestRecvCancelledMidFrameKeepsTheMessage(t *testing.T) {
	server, raw, _ := rawServerConn(t, Options{})
	f := frame(0x81, true, []byte(`{"seq":7,"text":"whole"}`))
	if _, err := raw.Write(f[:9]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := server.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with half a frame and a 100ms ctx: err = %v, want DeadlineExceeded", err)
	}
	if _, err := raw.Write(f[9:]); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	m, err := server.Recv(wctx)
	if err != nil || m.Seq != 7 || string(m.Data) != "whole" {
		t.Fatalf("Recv after the rest arrived = %+v, %v; want seq 7 \"whole\"", m, err)
	}
}

// While the application does not call Recv, the read pump answers pings
// and keeps what arrives for the next Recv, in order; a fragmented message
// with a ping in the middle is one message.
func TestPingsAnsweredWithoutRecv(t *testing.T) {
	server, raw, rd := rawServerConn(t, Options{})
	var in []byte
	in = append(in, frame(0x81, true, []byte(`{"seq":1}`))...)
	in = append(in, frame(0x89, true, []byte("p1"))...)
	in = append(in, frame(0x01, true, []byte(`{"seq":2,`))...) // text, not final
	in = append(in, frame(0x89, true, []byte("p2"))...)
	in = append(in, frame(0x80, true, []byte(`"text":"b"}`))...) // continuation, final
	if _, err := raw.Write(in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p1", "p2"} {
		op, p := rd()
		if op != 0xA || string(p) != want {
			t.Fatalf("got opcode %#x %q, want a pong %q", op, p, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, want := range []uint64{1, 2} {
		m, err := server.Recv(ctx)
		if err != nil || m.Seq != want {
			t.Fatalf("Recv = %+v, %v; want seq %d", m, err, want)
		}
	}
}

// A client keeps the frames a server sends in the same segment as its 101
// answer.
func TestClientFramesRightAfterHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		var out bytes.Buffer
		out.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
		out.Write(frame(0x81, false, []byte(`{"seq":1}`)))
		out.Write(frame(0x81, false, []byte(`{"seq":2}`)))
		c.Write(out.Bytes())
		var b [1]byte
		c.Read(b[:]) // until the client closes
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{1, 2} {
		m, err := c.Recv(ctx)
		if err != nil || m.Seq != want {
			t.Fatalf("Recv = %+v, %v; want seq %d", m, err, want)
		}
	}
	c.Close()
	<-done
}

// FuzzFrameWatch feeds arbitrary bytes, split at every point, to the
// server's frame watcher: it never panics, and it flags the same frames
// however the bytes arrive.
func FuzzFrameWatch(f *testing.F) {
	f.Add(frame(0x81, true, []byte("hi")))
	f.Add(append(frame(0x89, true, []byte("p")), frame(0x88, true, []byte{3})...))
	f.Add(append(frame(0x01, true, []byte("a")), frame(0x80, true, []byte("b"))...))
	f.Add([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		var whole frameWatch
		whole.Feed(b)
		wn, wskip := whole.State()
		for i := range len(b) + 1 {
			var split frameWatch
			split.Feed(b[:i])
			split.Feed(b[i:])
			n, skip := split.State()
			if split.BadLength != whole.BadLength || split.ShortClose != whole.ShortClose || skip != wskip || n != wn {
				t.Fatalf("split at %d: %+v, whole: %+v", i, split, whole)
			}
		}
	})
}
