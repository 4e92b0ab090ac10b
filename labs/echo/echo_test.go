package echo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoCountsEverything(t *testing.T) {
	res, err := Run(context.Background(), &transporttest.Mem{}, Config{Count: 50, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 50 || res.Received != 50 || res.Lost != 0 || res.Duplicated != 0 || res.OutOfOrder != 0 {
		t.Fatalf("got %+v", res)
	}
	if res.RTT.Count != 50 || res.RTT.Min <= 0 || res.RTT.Max < res.RTT.P99 {
		t.Fatalf("RTT summary %+v", res.RTT)
	}
}

func TestEchoCountsLossAndDuplicates(t *testing.T) {
	// Every 10th message is dropped on the way out, every 7th sent twice.
	tr := &transporttest.Mem{Copies: func(m transport.Message) int {
		switch {
		case m.Seq%10 == 0:
			return 0
		case m.Seq%7 == 0:
			return 2
		}
		return 1
	}}
	var traced []TraceEvent
	res, err := Run(context.Background(), tr, Config{Count: 100, Size: 8, Timeout: 50 * time.Millisecond,
		Trace: func(e TraceEvent) { traced = append(traced, e) }})
	if err != nil {
		t.Fatal(err)
	}
	// 10 multiples of 10 lost; multiples of 7 but not of 10 (14 of them
	// minus 70) duplicated: 14 - 1 = 13.
	if res.Sent != 100 || res.Lost != 10 || res.Received != 90 || res.Duplicated != 13 {
		t.Fatalf("sent %d received %d lost %d duplicated %d; want 100, 90, 10, 13", res.Sent, res.Received, res.Lost, res.Duplicated)
	}
	out, in := 0, 0
	for _, e := range traced {
		if e.Dir == Out {
			out++
		} else {
			in++
		}
	}
	if out != 100 || in != 90+13 {
		t.Fatalf("trace has %d sends and %d replies, want 100 and 103", out, in)
	}
}

func TestEchoInterruptedKeepsPartialResults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, &transporttest.Mem{}, Config{Count: 1000, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Sent == 0 || res.Sent >= 1000 || res.Received > res.Sent {
		t.Fatalf("interrupted run: %+v", res)
	}
}

func TestValidate(t *testing.T) {
	info := transport.Info{Name: "udp", MaxMessage: 100}
	for _, c := range []Config{{Count: 0}, {Count: 1, Size: -1}, {Count: 1, Size: 101}, {Count: 1, Interval: -1}} {
		if c.Validate(info) == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

// slowSend is a transport whose Send returns only some time after the
// message left, so the echo arrives while Send is still running: the case
// where --trace used to print a reply before its send.
type slowSend struct{ transport.Transport }

func (s slowSend) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := s.Transport.Dial(ctx, addr)
	return slowConn{c}, err
}

type slowConn struct{ transport.Conn }

func (c slowConn) Send(ctx context.Context, m transport.Message) error {
	err := c.Conn.Send(ctx, m)
	time.Sleep(5 * time.Millisecond)
	return err
}

func TestTraceIsInTimeOrder(t *testing.T) {
	var traced []TraceEvent
	_, err := Run(context.Background(), slowSend{&transporttest.Mem{}}, Config{Count: 5, Size: 8,
		Trace: func(e TraceEvent) { traced = append(traced, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(traced) != 10 {
		t.Fatalf("traced %d events, want 10", len(traced))
	}
	sentAt := map[uint64]bool{}
	for i, e := range traced {
		if i > 0 && e.At < traced[i-1].At {
			t.Errorf("line %d at %v comes after line %d at %v", i+1, e.At, i, traced[i-1].At)
		}
		if e.Dir == Out {
			sentAt[e.Seq] = true
		} else if !sentAt[e.Seq] {
			t.Errorf("reply %d printed before its send", e.Seq)
		}
	}
}

// TestTraceWaitsForATimedReply: the receiver times a reply, then is slow to
// trace it (a busy machine), while the sender sends the next message. The
// reply's line still comes before the later send's.
func TestTraceWaitsForATimedReply(t *testing.T) {
	testHookReceived = func(seq uint64) {
		if seq == 1 {
			time.Sleep(30 * time.Millisecond) // the next send leaves 5 ms after the first
		}
	}
	defer func() { testHookReceived = nil }()
	var traced []TraceEvent
	_, err := Run(context.Background(), &transporttest.Mem{}, Config{Count: 3, Size: 8, Interval: 5 * time.Millisecond,
		Trace: func(e TraceEvent) { traced = append(traced, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(traced) != 6 {
		t.Fatalf("traced %d events, want 6", len(traced))
	}
	for i, e := range traced {
		if i > 0 && e.At < traced[i-1].At {
			t.Errorf("line %d (%v seq %d at %v) comes after line %d (%v seq %d at %v)",
				i+1, e.Dir, e.Seq, e.At, i, traced[i-1].Dir, traced[i-1].Seq, traced[i-1].At)
		}
	}
}

// TestInterruptDoesNotCountTheMessageInFlightAsLost: Ctrl-C while a reply is
// still within its timeout leaves it in flight, not lost.
func TestInterruptDoesNotCountTheMessageInFlightAsLost(t *testing.T) {
	sent3 := make(chan struct{})
	tr := &transporttest.Mem{Copies: func(m transport.Message) int {
		if m.Seq == 3 {
			close(sent3)
			return 0 // never comes back
		}
		return 1
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-sent3; time.Sleep(50 * time.Millisecond); cancel() }()
	res, err := Run(ctx, tr, Config{Count: 10, Size: 8, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Sent != 3 || res.Received != 2 || res.Lost != 0 || res.InFlight != 1 {
		t.Fatalf("interrupted with seq 3 out: sent %d received %d lost %d in flight %d (interrupted %v); want 3, 2, 0, 1",
			res.Sent, res.Received, res.Lost, res.InFlight, res.Interrupted)
	}
	var b strings.Builder
	Table([]Result{res}).Write(&b)
	if !strings.Contains(b.String(), "in flight at Ctrl-C") {
		t.Errorf("the table does not show the message in flight:\n%s", b.String())
	}
}
