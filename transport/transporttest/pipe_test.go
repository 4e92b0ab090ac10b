package transporttest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/netlab/netlab/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPipe(t *testing.T) {
	a, b := Pipe()
	ctx := context.Background()
	for i := uint64(1); i <= 3; i++ {
		if err := a.Send(ctx, transport.Message{Seq: i}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	for i := uint64(1); i <= 3; i++ {
		m, err := b.Recv(ctx)
		if err != nil || m.Seq != i {
			t.Fatalf("Recv = %+v, %v; want seq %d", m, err, i)
		}
	}
	if _, err := b.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after peer Close = %v, want io.EOF", err)
	}
	if err := a.Send(ctx, transport.Message{}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	b.Close()
}

// TestMemConformance: the fake behind the lab tests passes the suite that
// judges every real transport.
func TestMemConformance(t *testing.T) { Run(t, &Mem{}) }
