package chat

import (
	"context"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// recvEvent reads c until a message with event arrives.
func recvEvent(t *testing.T, c transport.Conn, event string) transport.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for a %q event: %v", event, err)
		}
		if m.Event == event {
			return m
		}
	}
}

func sendMsg(t *testing.T, c transport.Conn, m transport.Message) {
	t.Helper()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// A chat message keeps the number its sender gave it; one without is
// numbered by the hub.
func TestChatKeepsTheSendersSeq(t *testing.T) {
	h := startHub(t, Config{})
	a, b := serveConn(t, h), serveConn(t, h)
	for _, c := range []transport.Conn{a, b} {
		sendMsg(t, c, transport.Message{Event: "join", Room: "r"})
		sendMsg(t, c, transport.Message{Event: "who", Room: "r"})
		recvEvent(t, c, "who")
	}
	sendMsg(t, a, transport.Message{Seq: 4242, Event: "chat", Room: "r", Data: []byte("numbered")})
	if m := recvEvent(t, b, "chat"); m.Seq != 4242 || m.Room != "r" {
		t.Fatalf("got %+v, want seq 4242 in r", m)
	}
	sendMsg(t, a, transport.Message{Event: "chat", Room: "r", Data: []byte("unnumbered")})
	if m := recvEvent(t, b, "chat"); m.Seq == 0 || m.Seq == 4242 {
		t.Fatalf("got %+v, want a seq from the hub", m)
	}
}

// An event the chat does not know goes to Config.Events, with the socket
// that sent it; without a handler the client is told it is unknown.
func TestEventsHandlesCustomEvents(t *testing.T) {
	type call struct {
		from string
		m    transport.Message
	}
	calls := make(chan call, 1)
	var h *Hub
	h = startHub(t, Config{Events: map[string]func(context.Context, *Socket, transport.Message){
		"replay": func(ctx context.Context, from *Socket, m transport.Message) {
			calls <- call{from.ID(), m}
			_ = h.Emit(ctx, Target{Rooms: []string{from.ID()}}, transport.Message{Event: "replayed", Room: m.Room})
		},
	}})
	c := serveConn(t, h)
	sendMsg(t, c, transport.Message{Event: "replay", Room: "math", Seq: 17})
	got := <-calls
	if got.m.Room != "math" || got.m.Seq != 17 || got.from == "" {
		t.Fatalf("handler got %+v", got)
	}
	if m := recvEvent(t, c, "replayed"); m.Room != "math" {
		t.Fatalf("answer %+v, want replayed for math", m)
	}
	sendMsg(t, c, transport.Message{Event: "rewind"})
	if m := recvEvent(t, c, "error"); len(m.Data) == 0 {
		t.Fatalf("unknown event: %+v", m)
	}
}
