package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/chat"
)

// The chat server's WebSocket door answers with the RFC 6455 close code
// (7.4.1) that says what happened; these tests speak raw frames.

// rawChatWS opens a TCP connection to the chat server's /ws and does the
// opening handshake by hand.
func rawChatWS(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
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
	return c, r
}

// maskedText is a masked, final text frame (what a client sends).
func maskedText(p string) []byte {
	out := []byte{0x81, 0x80 | byte(len(p)), 1, 2, 3, 4}
	for i := range len(p) {
		out = append(out, p[i]^byte(1+i%4))
	}
	return out
}

// readServerFrame reads one unmasked server frame.
func readServerFrame(t *testing.T, r *bufio.Reader) (opcode byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
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
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, payload
}

// closeFrameCode reads server frames until a close frame and returns its
// code.
func closeFrameCode(t *testing.T, r *bufio.Reader) int {
	t.Helper()
	for {
		op, p := readServerFrame(t, r)
		if op == 0x8 {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

func TestChatWSDoorCloseCodes(t *testing.T) {
	srv := startChat(t)
	addr := srv.HTTPAddr.String()
	good := dialChat(t, srv, "ws", "good")

	t.Run("64-bit length with the top bit set is 1002 at once", func(t *testing.T) {
		c, r := rawChatWS(t, addr)
		c.Write([]byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 'h', 'i'})
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if code := closeFrameCode(t, r); code != 1002 {
			t.Fatalf("got close %d, want 1002", code)
		}
	})
	t.Run("20 bad messages in a row is 1008", func(t *testing.T) {
		c, r := rawChatWS(t, addr)
		for range 20 {
			c.Write(maskedText("{not json"))
		}
		if code := closeFrameCode(t, r); code != 1008 {
			t.Fatalf("got close %d, want 1008 (policy violation)", code)
		}
	})
	good.say("/who")
	good.expect("in lobby")
}

func TestChatWSDoorShutdownIs1001(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := chat.Start(ctx, chat.ServerConfig{Listen: "127.0.0.1:0", Doors: chatHTTPDoors()})
	if err != nil {
		t.Fatal(err)
	}
	_, r := rawChatWS(t, srv.HTTPAddr.String())
	if op, _ := readServerFrame(t, r); op != 0x1 { // the welcome: the session runs
		t.Fatalf("first frame has opcode %d, want a text frame (the welcome)", op)
	}
	cancel()
	if code := closeFrameCode(t, r); code != 1001 {
		t.Fatalf("on shutdown: close %d, want 1001 (going away)", code)
	}
	srv.Wait()
}
