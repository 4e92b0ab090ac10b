package queue

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func msg(s string) transport.Message { return transport.Message{Data: []byte(s)} }

// TestDrainBatchesAndFlushesOnClose: the writer gets what was queued in as
// few writes as the limit allows, and what is still queued after
// StartClose, marked late; then Send refuses.
func TestDrainBatchesAndFlushesOnClose(t *testing.T) {
	q := New("test", 10, 8, 8)
	ctx := context.Background()
	for _, s := range []string{"a", "b", "c"} {
		if err := q.Send(ctx, msg(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send(ctx, msg(strings.Repeat("x", 11))); !errors.Is(err, transport.ErrTooLarge) {
		t.Fatalf("an 11-byte message with a 10-byte limit: %v, want ErrTooLarge", err)
	}
	writes := make(chan string, 8)
	go q.Drain(1<<20, AppendLine, func(b []byte, late bool) error {
		if late {
			writes <- "late " + string(b)
		} else {
			writes <- string(b)
		}
		return nil
	})
	first := <-writes
	if !strings.Contains(first, `"a"`) {
		t.Fatalf("first write %q", first)
	}
	q.StartClose()
	q.StartClose() // idempotent
	select {
	case <-q.WriteEnded():
	case <-time.After(2 * time.Second):
		t.Fatal("Drain did not end after StartClose")
	}
	close(writes)
	all := first
	for w := range writes {
		all += w
	}
	for _, s := range []string{`"a"`, `"b"`, `"c"`} {
		if strings.Count(all, s) != 1 {
			t.Errorf("%s written %d times in %q", s, strings.Count(all, s), all)
		}
	}
	if err := q.Send(ctx, msg("d")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after StartClose: %v, want ErrClosed", err)
	}
}

// TestRecvReturnsQueuedThenTheReadersError: what the reader queued comes
// first, then its error; a Recv whose ctx ends returns at once.
func TestRecvReturnsQueuedThenTheReadersError(t *testing.T) {
	q := New("test", 10, 1, 2)
	q.In <- msg("one")
	q.ReadDone(io.EOF)
	m, err := q.Recv(context.Background())
	if err != nil || string(m.Data) != "one" {
		t.Fatalf("Recv: %q, %v", m.Data, err)
	}
	if _, err := q.Recv(context.Background()); err != io.EOF {
		t.Fatalf("Recv after the reader ended: %v, want io.EOF", err)
	}

	q2 := New("test", 10, 1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := q2.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with nothing queued: %v, want the ctx's error", err)
	}
	q2.WriteDone(errors.New("test: send: broken"))
	if err := q2.Send(context.Background(), msg("x")); err == nil || !strings.Contains(err.Error(), "broken") {
		// The one slot may take it; the next must report the writer's error.
		if err = q2.Send(context.Background(), msg("y")); err == nil || !strings.Contains(err.Error(), "broken") {
			t.Errorf("Send after the writer failed: %v, want its error", err)
		}
	}
}
