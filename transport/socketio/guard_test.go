package socketio

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
	"unicode/utf8"
)

// pieceConn is a net.Conn whose reads return b in pieces of at most n
// bytes, and whose writes go to out.
type pieceConn struct {
	net.Conn
	b   []byte
	n   int
	out bytes.Buffer
}

func (c *pieceConn) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}
func (c *pieceConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *pieceConn) Close() error                     { return nil }
func (c *pieceConn) SetWriteDeadline(time.Time) error { return nil }

// guarded reads b through a guard, n bytes at a time, until an error, and
// returns the guard.
func guarded(b []byte, n int) *guardConn {
	g := newGuardConn(&pieceConn{b: b, n: max(n, 1)}, new(wsGuard))
	g.handshook = true
	buf := make([]byte, 64)
	for {
		if _, err := g.Read(buf); err != nil {
			return g
		}
	}
}

// maskedFrames is text split into masked frames of at most k bytes each
// (a text frame, then continuations).
func maskedFrames(text []byte, k int) []byte {
	var out []byte
	op := byte(0x1)
	for first := true; first || len(text) > 0; first = false {
		part := text[:min(k, len(text))]
		text = text[len(part):]
		b0 := op
		if len(text) == 0 {
			b0 |= 0x80
		}
		out = append(out, clientFrameTest(b0, part)...)
		op = 0
	}
	return out
}

func clientFrameTest(b0 byte, p []byte) []byte {
	out := []byte{b0}
	if len(p) < 126 {
		out = append(out, 0x80|byte(len(p)))
	} else {
		out = append(out, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key...)
	for i, c := range p {
		out = append(out, c^key[i%4])
	}
	return out
}

// FuzzGuardFrames: any bytes from a client, read through the guard in
// pieces of any size: never a panic; and a text message sent in frames of
// any size is refused for its UTF-8 exactly when utf8.Valid says so. (An
// unmasked frame once made the guard slice before its header and panic.)
func FuzzGuardFrames(f *testing.F) {
	f.Add([]byte{0x81, 2, 'h', 'i'}, []byte("héllo €"), uint8(3), uint8(1))
	f.Add([]byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4}, []byte{'a', 0xe2, 0x82}, uint8(1), uint8(2))
	f.Add([]byte{0x88, 0x81, 1, 2, 3, 4, 5}, []byte{0xff}, uint8(7), uint8(5))
	f.Fuzz(func(t *testing.T, raw, text []byte, piece, frameSize uint8) {
		guarded(raw, int(piece))
		g := guarded(maskedFrames(text, max(int(frameSize), 1)), int(piece))
		if g.badText == utf8.Valid(text) {
			t.Fatalf("text %q in %d-byte frames, read %d bytes at a time: refused %v, utf8.Valid %v",
				text, frameSize, piece, g.badText, utf8.Valid(text))
		}
	})
}

// goodbyePair is a guarded TCP connection, as the library holds it after
// the upgrade, with a reader standing in for the library's (it reads until
// an error and sends what it read on got), and the client's end.
func goodbyePair(t *testing.T, goodbye time.Duration) (g *guardConn, client net.Conn, got <-chan []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	g = newGuardConn(nc, &wsGuard{goodbye: goodbye})
	g.handshook = true
	t.Cleanup(g.shut)
	read := make(chan []byte, 1)
	go func() {
		var all []byte
		buf := make([]byte, 64)
		for {
			n, err := g.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				read <- all
				return
			}
		}
	}()
	return g, client, read
}

// TestGoodbyeWaitsForTheAnswer: when the library closes a connection, the
// guard sends its close frame and closes the TCP connection only once the
// client's close frame has come (RFC 6455 7.1.2), so the library's reader
// reads the answer; and a client that never answers is cut off after
// the guard's goodbye bound.
func TestGoodbyeWaitsForTheAnswer(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		g, client, got := goodbyePair(t, time.Minute) // the answer, not the timer, must end it
		g.Close()
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		head := make([]byte, 2)
		if _, err := io.ReadFull(client, head); err != nil || head[0] != 0x88 || head[1] != 0 {
			t.Fatalf("the client read % x, %v; want a close frame with no status code (88 00)", head, err)
		}
		answer := []byte{0x88, 0x80, 1, 2, 3, 4} // a masked close frame, no status code
		if _, err := client.Write(answer); err != nil {
			t.Fatal(err)
		}
		if n, err := client.Read(head); err != io.EOF {
			t.Fatalf("after its answer the client read %d bytes, %v; want the server's end of the connection (EOF)", n, err)
		}
		if b := <-got; !bytes.Equal(b, answer) {
			t.Fatalf("the library's reader read % x before the connection closed; want the client's close frame % x", b, answer)
		}
	})
	t.Run("never answered", func(t *testing.T) {
		g, client, _ := goodbyePair(t, 50*time.Millisecond)
		g.Close()
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(client)
		if err != nil || !bytes.Equal(b, []byte{0x88, 0}) {
			t.Fatalf("the client read % x, %v; want a close frame, then the end of the connection", b, err)
		}
	})
}
