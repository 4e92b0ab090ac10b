package adapter

import (
	"context"
	"errors"
	"testing"

	"github.com/netlab/netlab/transport"
)

func TestLocal(t *testing.T) {
	var l Local
	if err := l.Subscribe(func(Broadcast) { t.Error("local adapter delivered a broadcast") }); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	b := Broadcast{Origin: "s1", Rooms: []string{"a"}, Msg: transport.Message{Event: "chat", Data: []byte("hi")}}
	if err := l.Publish(context.Background(), b); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := l.Publish(context.Background(), b); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: got %v, want ErrClosed", err)
	}
}
