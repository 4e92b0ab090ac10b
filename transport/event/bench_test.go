package event

import (
	"context"
	"testing"

	"github.com/netlab/netlab/transport/transporttest"
)

func benchPair(b *testing.B, h Handler) (*Socket, func()) {
	a, z := transporttest.Pipe()
	srv, err := NewSocket(z, Options{Handlers: map[string]Handler{"ping": h}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewSocket(a, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return c, func() { c.Close(); srv.Close(); <-c.Done(); <-srv.Done() }
}

// BenchmarkEmitWithAck measures one ack round trip over the in-memory pipe:
// the cost of the event layer itself, without a network.
func BenchmarkEmitWithAck(b *testing.B) {
	c, done := benchPair(b, func(ctx context.Context, e Event) { e.Ack(ctx, e.Data) })
	defer done()
	ctx := context.Background()
	data := []byte("x")
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.EmitWithAck(ctx, "ping", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmit measures fire-and-forget emits over the in-memory pipe.
func BenchmarkEmit(b *testing.B) {
	c, done := benchPair(b, func(ctx context.Context, e Event) {})
	defer done()
	ctx := context.Background()
	data := []byte("x")
	b.ResetTimer()
	for b.Loop() {
		if err := c.Emit(ctx, "ping", data); err != nil {
			b.Fatal(err)
		}
	}
}
