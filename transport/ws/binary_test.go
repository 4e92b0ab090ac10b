package ws

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A third-party client that sends a binary frame gets the same bytes back
// in a binary frame from an echo server, not netlab's JSON wrapper.
func TestBinaryFrameEchoedAsTheSameBytes(t *testing.T) {
	l, err := New(Options{}).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		c, err := l.Accept(ctx)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv(ctx)
			if err != nil {
				return
			}
			if c.Send(ctx, m) != nil {
				return
			}
		}
	}()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+l.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte{0, 1, 2, 0xff}, 16) // 64 bytes, not text
	if err := c.WriteMessage(websocket.BinaryMessage, payload); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, got, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.BinaryMessage || !bytes.Equal(got, payload) {
		t.Fatalf("got frame type %d with %d bytes %x, want a binary frame of the same %d bytes", typ, len(got), got, len(payload))
	}
}
