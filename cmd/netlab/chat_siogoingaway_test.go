package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
)

// slowGoodbye is a door with one client whose goodbye takes a while: its
// Close, which the hub calls when the server stops, returns after hold.
// It stands for any slow client (one not reading, one polling seldom).
type slowGoodbye struct {
	hold   time.Duration
	handed bool
	closed chan struct{}
}

func (d *slowGoodbye) Accept(ctx context.Context) (transport.Conn, error) {
	if d.handed {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	d.handed = true
	return d, nil
}
func (d *slowGoodbye) Send(context.Context, transport.Message) error { return nil }
func (d *slowGoodbye) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-d.closed:
		return transport.Message{}, transport.ErrClosed
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	}
}
func (d *slowGoodbye) Close() error {
	time.Sleep(d.hold)
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	return nil
}

// TestChatSocketIODoorShutdownIs1001: when chat serve stops, a Socket.IO
// client that does not close its session on the server's DISCONNECT is
// closed by the door with 1001 (going away), as the WebSocket door closes
// its clients, even when another client's goodbye holds the server up for
// longer than the door's one second (the door is told the server is
// stopping before the hub's goodbyes begin).
func TestChatSocketIODoorShutdownIs1001(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := &slowGoodbye{hold: 3 * time.Second, closed: make(chan struct{})}
	doors := append([]chat.HTTPDoor{chatSocketIODoor()}, chat.HTTPDoor{Name: "slow", Path: "/slow", Handler: http.NotFoundHandler(), Accept: slow})
	srv, err := chat.Start(ctx, chat.ServerConfig{Listen: "127.0.0.1:0", Doors: doors})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+srv.HTTPAddr.String()+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for stopped := false; ; {
		_, b, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.CloseGoingAway {
				t.Fatalf("on shutdown the client saw %v, want close 1001 (going away)", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("on shutdown: %v, want close 1001 (going away)", err)
		}
		switch p := string(b); {
		case strings.HasPrefix(p, "0{"): // Engine.IO open
			c.WriteMessage(websocket.TextMessage, []byte("40"))
		case p == "2":
			c.WriteMessage(websocket.TextMessage, []byte("3"))
		case strings.HasPrefix(p, "42") && !stopped: // the hub's first event: the session runs
			stopped = true
			cancel()
		}
		// The server's DISCONNECT ("41") is not answered: the door closes
		// the session itself a second later.
	}
}
