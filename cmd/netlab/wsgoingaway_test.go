package main

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/transport/ws"
)

// When 'ws serve' stops (Ctrl-C), its clients get close code 1001 (going
// away, RFC 6455 §7.4.1), not 1000.
func TestWSServeStopSaysGoingAway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := ws.New(ws.Options{}).Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() { done <- echo.Serve(ctx, ln, nil) }()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatalf("echo: %v", err)
	}
	cancel() // the server stops
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after the server stopped: %v, want close 1001 (going away)", err)
	}
	ln.Close()
	<-done
}
