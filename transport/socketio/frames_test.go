package socketio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsFrame is a client frame: masked (key 1 2 3 4), with the payload given.
func wsFrame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	key := []byte{1, 2, 3, 4}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// closeAnswer opens an Engine.IO WebSocket at addr, sends raw (after the
// open packet), and says how the server ended it: "close CODE" for a
// close frame, "EOF" for a connection closed without one.
func closeAnswer(t *testing.T, addr string, raw []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", addr)
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return "EOF"
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(r, l[:])
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(r, l[:])
			n = int(binary.BigEndian.Uint64(l[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return "EOF"
		}
		if h[0]&0x0f == 8 {
			if len(p) < 2 {
				return "close (no code)"
			}
			return fmt.Sprintf("close %d", binary.BigEndian.Uint16(p))
		}
	}
}

// The frames RFC 6455 calls protocol errors get close 1002 on netlab's
// Socket.IO server as on Node's (ws), including the two the library's
// gorilla lets through: a close frame with a 1-byte body (answered with an
// empty close frame) and a 64-bit length with its top bit set (a bare EOF);
// and a text message that is not UTF-8 gets 1007 (8.1), which gorilla does
// not check (the library closed the connection without a close frame).
// Node's ws answers that last one 1009 ("payload length > 2^53 - 1");
// RFC 6455 5.2 makes it a protocol error, and netlab says 1002, as its
// other WebSocket doors do.
func TestBadFramesLikeNode(t *testing.T) {
	servers := map[string]string{"node": startNode(t), "netlab": startNetlab(t, ServerOptions{})}
	for _, tc := range []struct {
		name       string
		raw        []byte
		node, want string
	}{
		{"continuation with no message open", wsFrame(0x00, []byte("hi")), "close 1002", "close 1002"},
		{"close frame with a 1-byte body", wsFrame(0x88, []byte{3}), "close 1002", "close 1002"},
		{"reserved opcode 3", wsFrame(0x83, []byte("hi")), "close 1002", "close 1002"},
		{"unmasked frame", []byte{0x81, 2, 'h', 'i'}, "close 1002", "close 1002"},
		{"invalid UTF-8 in a text message", wsFrame(0x81, []byte{'4', 0xff, 0xfe}), "close 1007", "close 1007"},
		{"a character cut by the end of a fragmented text message", append(wsFrame(0x01, []byte{'4', 0xe2}), wsFrame(0x80, []byte{0x82})...), "close 1007", "close 1007"},
		{"64-bit length with the top bit set", []byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 'h', 'i'}, "close 1009", "close 1002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := closeAnswer(t, servers["node"], tc.raw); got != tc.node {
				t.Errorf("Node answered %q; this test expects %q", got, tc.node)
			}
			if got := closeAnswer(t, servers["netlab"], tc.raw); got != tc.want {
				t.Errorf("netlab answered %q, want %q", got, tc.want)
			}
		})
	}
}

// slowPoll starts a polling POST on session sid that promises n bytes and
// sends one.
func slowPoll(t *testing.T, addr, sid string, n int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n4", sid, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

// A polling POST while another one is being read is answered 400 at once
// and ends the session, as Node's engine.io does ("data request overlap
// from client"); a body that does not arrive within BodyTimeout is
// answered 408 (Node's http server: at its requestTimeout, 300 s). A POST
// to an unknown session is answered 400 at once, its body not waited for.
// (Each of these used to hold its connection as long as the body
// trickled.)
func TestSlowPollingBodies(t *testing.T) {
	node := "http://" + startNode(t) + "/socket.io/"
	addr := startNetlab(t, ServerOptions{BodyTimeout: 300 * time.Millisecond})
	base := "http://" + addr + "/socket.io/"

	// Node, for the overlap: what netlab should answer.
	nsid := handshake(t, node)
	nodeAddr := strings.TrimSuffix(strings.TrimPrefix(node, "http://"), "/socket.io/")
	slowPoll(t, nodeAddr, nsid, 1000)
	time.Sleep(100 * time.Millisecond)
	_, r := slowPoll(t, nodeAddr, nsid, 1000)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("Node, overlapping POST: %v", err)
	}
	nodeAfter := afterwards(t, node, nsid)

	sid := handshake(t, base)
	a, ar := slowPoll(t, addr, sid, 1000)
	time.Sleep(100 * time.Millisecond)
	_, r = slowPoll(t, addr, sid, 1000)
	got, err := http.ReadResponse(r, nil)
	if err != nil || got.StatusCode != resp.StatusCode {
		t.Fatalf("overlapping POST: %v %v; Node answers %d", got, err, resp.StatusCode)
	}
	if after := afterwards(t, base, sid); after != nodeAfter {
		t.Errorf("after the overlap netlab's session answers %q, Node's %q", after, nodeAfter)
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := http.ReadResponse(ar, nil); err != nil || got.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("the slow POST: %v %v, want 408 at the body deadline", got, err)
	}

	start := time.Now()
	_, r = slowPoll(t, addr, "AAAAAAAAAAAAAAAAAAAA", 1000)
	if got, err := http.ReadResponse(r, nil); err != nil || got.StatusCode != http.StatusBadRequest {
		t.Fatalf("slow POST to an unknown session: %v %v, want 400", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("unknown session answered after %v, want at once", d)
	}
}
