package ws

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// echoServer listens with opts and echoes every message on every
// connection until the test ends.
func echoServer(t *testing.T, opts Options) string {
	t.Helper()
	l, err := New(opts).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					m, err := c.Recv(ctx)
					if err != nil || c.Send(ctx, m) != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	return l.Addr().String()
}

// rawHandshake opens a TCP connection and performs the opening handshake by
// hand; it returns the conn and a reader positioned after the 101 answer.
func rawHandshake(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %s, want 101", resp.Status)
	}
	// RFC 6455 1.3: base64(SHA-1(key + GUID)) for the sample key.
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept = %q, want the RFC 6455 sample answer", got)
	}
	return c, r
}

// frame builds one frame: first byte b0 (FIN, RSV, opcode), masked or not.
func frame(b0 byte, masked bool, payload []byte) []byte {
	out := []byte{b0}
	mbit := byte(0)
	if masked {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, mbit|byte(n))
	case n < 1<<16:
		out = append(out, mbit|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, mbit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !masked {
		return append(out, payload...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// readFrame reads one unmasked server frame.
func readFrame(r *bufio.Reader) (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("server frame is masked")
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return h[0] & 0x0f, payload, err
}

// closeCode reads frames until a close frame and returns its status code.
func closeCode(t *testing.T, r *bufio.Reader) int {
	t.Helper()
	for {
		op, p, err := readFrame(r)
		if err != nil {
			t.Fatalf("reading for a close frame: %v", err)
		}
		if op == 0x8 {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

func TestRawEcho(t *testing.T) {
	addr := echoServer(t, Options{})
	c, r := rawHandshake(t, addr)
	c.Write(frame(0x81, true, []byte("hello")))
	op, p, err := readFrame(r)
	if err != nil || op != 0x1 || string(p) != "hello" {
		t.Fatalf("echo of a plain text frame: opcode %d %q %v, want text frame \"hello\"", op, p, err)
	}
	c.Write(frame(0x88, true, []byte{0x03, 0xe8}))
	if code := closeCode(t, r); code != 1000 {
		t.Fatalf("close answered with %d, want 1000", code)
	}
}

func TestBadFramesGetRFC6455Codes(t *testing.T) {
	addr := echoServer(t, Options{MaxMessage: 100}) // read limit 4*100+1024
	// A well-behaved client stays connected through all of it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	good, err := Dial(ctx, addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	cases := []struct {
		name  string
		frame []byte
		want  int
	}{
		{"unmasked client frame", frame(0x81, false, []byte("hi")), 1002},
		{"reserved bit RSV1 without an extension", frame(0xc1, true, []byte("hi")), 1002},
		{"reserved opcode 3", frame(0x83, true, []byte("hi")), 1002},
		{"fragmented ping", frame(0x09, true, []byte("hi")), 1002},
		{"invalid UTF-8 in a text frame", frame(0x81, true, []byte{'h', 0xff, 0xfe}), 1007},
		{"frame over the read limit", frame(0x81, true, make([]byte, 2000)), 1009},
		// RFC 6455 5.4: a continuation frame continues a message; with none
		// open it is a protocol error, answered at once.
		{"continuation with FIN=0 and no message open", frame(0x00, true, []byte("hi")), 1002},
		{"continuation with FIN=1 and no message open", frame(0x80, true, []byte("hi")), 1002},
		// 5.5.1: a close frame's body, if any, starts with a 2-byte code.
		{"close frame with a 1-byte body", frame(0x88, true, []byte{0x03}), 1002},
		// 5.2: the most significant bit of a 64-bit length must be 0.
		{"64-bit length with the top bit set", []byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 'h', 'i'}, 1002},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, r := rawHandshake(t, addr)
			c.Write(tc.frame)
			// At once: well before the read deadline (45 s) could end it.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got := closeCode(t, r); got != tc.want {
				t.Errorf("got close %d, want %d", got, tc.want)
			}
			if err := good.Send(ctx, transport.Message{Seq: uint64(i + 1), Data: []byte("still here")}); err != nil {
				t.Fatal(err)
			}
			m, err := good.Recv(ctx)
			if err != nil || m.Seq != uint64(i+1) {
				t.Fatalf("the other client after a bad one: %+v, %v", m, err)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	addr := echoServer(t, Options{AllowOrigins: []string{"https://class.example.org"}})
	cases := []struct {
		origin string
		want   int
	}{
		{"", 101},
		{"http://" + addr, 101},
		{"http://localhost:3000", 101},
		{"http://127.0.0.1:5500", 101},
		{"https://class.example.org", 101},
		{"https://evil.example.com", 403},
		{"null", 403},
	}
	for _, tc := range cases {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		if tc.origin != "" {
			req += "Origin: " + tc.origin + "\r\n"
		}
		io.WriteString(c, req+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("Origin %q: got %s, want %d", tc.origin, resp.Status, tc.want)
		}
	}
}

func TestNotAnUpgradeIs400(t *testing.T) {
	addr := echoServer(t, Options{})
	resp, err := http.Get("http://" + addr + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "websocket") {
		t.Fatalf("plain GET: %s %q, want 400 with a reason", resp.Status, body)
	}
}

func TestSlowlorisIsCutOff(t *testing.T) {
	addr := echoServer(t, Options{ReadHeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	if err != nil {
		t.Fatalf("server did not close a connection with unfinished headers: %v", err)
	}
	t.Logf("closed after %v", time.Since(start))
}

func TestHandshakeCapture(t *testing.T) {
	addr := echoServer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, Options{CaptureHandshake: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hs := c.Handshake()
	if !strings.HasPrefix(string(hs.Request), "GET /ws HTTP/1.1\r\n") || !strings.Contains(string(hs.Request), "Upgrade: websocket\r\n") {
		t.Errorf("request:\n%s", hs.Request)
	}
	if !strings.HasPrefix(string(hs.Response), "HTTP/1.1 101 Switching Protocols\r\n") || !strings.HasSuffix(string(hs.Response), "\r\n\r\n") {
		t.Errorf("response:\n%s", hs.Response)
	}
	st := c.WireStats()
	if st.BytesSent != int64(len(hs.Request)) || st.BytesReceived != int64(len(hs.Response)) {
		t.Errorf("before any message the wire counts %+v, want exactly the handshake (%d sent, %d received)", st, len(hs.Request), len(hs.Response))
	}
}
