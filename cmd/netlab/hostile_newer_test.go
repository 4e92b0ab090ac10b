package main

// The hostile suite, continued: the RFC 6455 frame cases against every
// WebSocket door (ws serve, chat's /ws, and the Socket.IO doors of chat
// serve and socketio serve), and the newer servers: sse serve and chat's
// /sse, socketio serve and chat's /socket.io/, quic serve.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/quic"
	"github.com/netlab/netlab/transport/socketio"
	"github.com/netlab/netlab/transport/sse"
)

// clientFrame is a masked client frame with a short payload.
func clientFrame(b0 byte, payload []byte) []byte {
	out := []byte{b0, 0x80 | byte(len(payload)), 1, 2, 3, 4}
	for i, b := range payload {
		out = append(out, b^byte(1+i%4))
	}
	return out
}

// wsFrameCases are the frames RFC 6455 answers with a close code, and the
// code; every WebSocket door must send it at once.
var wsFrameCases = []struct {
	name string
	raw  []byte
	code int
}{
	{"continuation with FIN=0 and no message open (5.4)", clientFrame(0x00, []byte("hi")), 1002},
	{"continuation with FIN=1 and no message open (5.4)", clientFrame(0x80, []byte("hi")), 1002},
	{"close frame with a 1-byte body (5.5.1)", clientFrame(0x88, []byte{3}), 1002},
	{"64-bit length with the top bit set (5.2)", []byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 'h', 'i'}, 1002},
	{"unmasked client frame (5.1)", []byte{0x81, 2, 'h', 'i'}, 1002},
	{"RSV1 without an extension (5.2)", clientFrame(0xc1, []byte("hi")), 1002},
	{"reserved opcode 3 (5.2)", clientFrame(0x83, []byte("hi")), 1002},
	{"fragmented ping (5.5)", clientFrame(0x09, []byte("hi")), 1002},
	{"close code 999 (7.4.2)", clientFrame(0x88, []byte{0x03, 0xe7}), 1002},
	{"text message not UTF-8 (8.1)", clientFrame(0x81, []byte{'4', 0xff, 0xfe}), 1007},
}

// hostileWSFrames sends each frame case on a fresh WebSocket at addr+path
// (after the server's first words, if any) and wants its close code within
// 2 s.
func hostileWSFrames(t *testing.T, addr, path string) {
	for _, tc := range wsFrameCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			start := time.Now()
			c.Write(tc.raw)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				var h [2]byte
				if _, err := io.ReadFull(r, h[:]); err != nil {
					t.Fatalf("no close frame: %v after %v, want close %d", err, time.Since(start), tc.code)
				}
				n := int(h[1] & 0x7f)
				if n == 126 {
					var b [2]byte
					io.ReadFull(r, b[:])
					n = int(binary.BigEndian.Uint16(b[:]))
				}
				p := make([]byte, n)
				if _, err := io.ReadFull(r, p); err != nil {
					t.Fatal(err)
				}
				if h[0]&0x0f != 0x8 {
					continue // the server's first words (welcome, open packet)
				}
				if len(p) < 2 || int(binary.BigEndian.Uint16(p)) != tc.code {
					t.Fatalf("close frame %q, want code %d", p, tc.code)
				}
				return
			}
		})
	}
}

// sseRoundTrip is a well-behaved SSE client's check against an echo server.
func sseRoundTrip(c transport.Conn) func() error {
	i := uint64(0)
	return func() error {
		i++
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := c.Send(ctx, transport.Message{Seq: i, Data: []byte("check")}); err != nil {
			return err
		}
		m, err := c.Recv(ctx)
		if err != nil || m.Seq != i {
			return fmt.Errorf("got seq %d, %v; want %d", m.Seq, err, i)
		}
		return nil
	}
}

// hostileSSEDoor runs the SSE cases against the endpoint at addr (sse
// serve, or chat's /sse).
func hostileSSEDoor(t *testing.T, addr string) {
	st, _, sid := rawHTTP(t, addr, "POST /sse/session HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	sid = strings.TrimSpace(sid)
	if st != http.StatusCreated {
		t.Fatalf("open a session: %d %q", st, sid)
	}
	t.Run("bad requests: 400, 404, 405 at once", func(t *testing.T) {
		for _, tc := range []struct {
			req  string
			want int
		}{
			{fmt.Sprintf("GET /sse?sid=%s HTTP/1.1\r\nHost: x\r\nLast-Event-ID: NaN\r\n\r\n", sid), 400},
			{fmt.Sprintf("GET /sse?sid=%s HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 18446744073709551616\r\n\r\n", sid), 400},
			{fmt.Sprintf("GET /sse?sid=%s&lastEventId=-1 HTTP/1.1\r\nHost: x\r\n\r\n", sid), 400},
			{fmt.Sprintf("GET /sse?sid=%s HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 99\r\n\r\n", sid), 400},
			{fmt.Sprintf("POST /sse?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"seq\":", sid), 400},
			{"GET /sse?sid=nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
			{fmt.Sprintf("PUT /sse?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", sid), 405},
		} {
			if st, _, body := rawHTTP(t, addr, tc.req); st != tc.want {
				t.Errorf("%.70q: %d %q, want %d", tc.req, st, body, tc.want)
			}
		}
	})
	t.Run("slow POST bodies: 429 beyond two per session at once, 408 at the body deadline", func(t *testing.T) {
		slowBodies(t, addr, "/sse?sid="+sid)
	})
}

// slowBodies sends 20 POSTs to path that promise 50,000 bytes and send
// one: two are read (and cut off with 408 at the body deadline), the rest
// are answered 429 with Retry-After at once and closed.
func slowBodies(t *testing.T, addr, path string) {
	var slow []net.Conn
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nx", path)
		if i < 2 {
			slow = append(slow, c)
			time.Sleep(50 * time.Millisecond) // being read
			continue
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("slow POST %d: %v %v, want 429 with Retry-After", i+1, resp, err)
		}
		if !closedWithin(c, 2*time.Second) {
			t.Fatalf("slow POST %d: refused but its connection kept open", i+1)
		}
	}
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow POST %d: %v %v, want 408", i+1, resp, err)
		}
	}
}

func hostileSSE(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "sse", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good, err := sse.Dial(ctx, addr, sse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	defer meanwhile(t, "sse well-behaved client", sseRoundTrip(good))()
	hostileSSEDoor(t, addr)
	httpDoorLimits(t, addr, "/sse", `listening on (\S+)`, "sse", "serve")
}

// engineOpen opens an Engine.IO polling session at addr and returns its id.
func engineOpen(t *testing.T, addr string) string {
	t.Helper()
	st, _, body := rawHTTP(t, addr, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
	_, rest, ok := strings.Cut(body, `"sid":"`)
	sid, _, _ := strings.Cut(rest, `"`)
	if st != http.StatusOK || !ok || sid == "" {
		t.Fatalf("Engine.IO handshake: %d %q", st, body)
	}
	return sid
}

// hostileSocketIODoor runs the Socket.IO cases against the door at addr
// (socketio serve, or chat's /socket.io/): the RFC 6455 frames on its
// WebSocket, and what Node's engine.io answers on polling.
func hostileSocketIODoor(t *testing.T, addr string) {
	t.Run("frames", func(t *testing.T) { hostileWSFrames(t, addr, "/socket.io/?EIO=4&transport=websocket") })
	t.Run("slow POST, then an overlapping one: 400 at once and the session closed, 408 at the body deadline", func(t *testing.T) {
		sid := engineOpen(t, addr)
		path := "/socket.io/?EIO=4&transport=polling&sid=" + sid
		slow, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		fmt.Fprintf(slow, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50000\r\n\r\n4", path)
		time.Sleep(50 * time.Millisecond) // being read
		start := time.Now()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50000\r\n\r\n4", path)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest || time.Since(start) > 2*time.Second {
			t.Fatalf("overlapping POST: %v %v after %v, want 400 at once", resp, err, time.Since(start))
		}
		if st, _, body := rawHTTP(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); st != http.StatusBadRequest {
			t.Errorf("the session after the overlap: %d %q, want 400 (closed)", st, body)
		}
		slow.SetReadDeadline(time.Now().Add(15 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(slow), nil); err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow POST: %v %v, want 408", resp, err)
		}
	})
	t.Run("slow POST to an unknown session: 400 at once", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n4")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest || time.Since(start) > 2*time.Second {
			t.Fatalf("got %v %v after %v, want 400 at once", resp, err, time.Since(start))
		}
	})
}

func hostileSocketIO(t *testing.T) {
	s := startNetlab(t, `server on http://(\S+)/socket\.io/`, "socketio", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good, err := socketio.Connect(ctx, addr, socketio.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	defer meanwhile(t, "socketio well-behaved client", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		got, err := good.EmitWithAck(ctx, "echo", "check")
		if err != nil || len(got) != 1 || string(got[0]) != `"check"` {
			return fmt.Errorf("echo ack %s, %v", got, err)
		}
		return nil
	})()
	hostileSocketIODoor(t, addr)
	httpDoorLimits(t, addr, "/socket.io/?EIO=4&transport=polling", `server on http://(\S+)/socket\.io/`, "socketio", "serve")
}

func hostileQUIC(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "quic", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good, err := quic.New(quic.Options{InsecureSkipVerify: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	defer meanwhile(t, "quic well-behaved client", sseRoundTrip(good))()
	// answer sends one datagram and returns the first answer within 1 s,
	// or nil.
	answer := func(d []byte) []byte {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(d)
		c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 2000)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	long := func(version uint32, size int) []byte {
		d := []byte{0xc0, 0, 0, 0, 0, 8}
		binary.BigEndian.PutUint32(d[1:], version)
		d = append(d, make([]byte, 8)...) // destination connection id
		d = append(d, 8)
		d = append(d, make([]byte, 8)...) // source connection id
		junk := make([]byte, size-len(d))
		rand.Read(junk)
		return append(d, junk...)
	}
	t.Run("garbage, an empty datagram, a junk Initial, a short Initial: dropped without an answer (RFC 9000 5.2.2, 14.1)", func(t *testing.T) {
		junk := make([]byte, 10)
		rand.Read(junk)
		for name, d := range map[string][]byte{"10 bytes of garbage": junk, "empty": {}, "1200-byte Initial of junk": long(1, 1200), "100-byte Initial": long(1, 100)} {
			if got := answer(d); got != nil {
				t.Errorf("%s: answered %d bytes, want none", name, len(got))
			}
		}
	})
	t.Run("unknown version, 1200 bytes: Version Negotiation (RFC 9000 6)", func(t *testing.T) {
		got := answer(long(0x1a2a3a4a, 1200))
		if len(got) < 5 || got[0]&0x80 == 0 || binary.BigEndian.Uint32(got[1:5]) != 0 {
			t.Fatalf("answered %x, want a Version Negotiation packet (long header, version 0)", got)
		}
	})
}
