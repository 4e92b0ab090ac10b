package event

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns a client socket and a server socket joined by a pipe.
func pair(t *testing.T, clientOpts, serverOpts Options) (*Socket, *Socket) {
	t.Helper()
	a, b := transporttest.Pipe()
	srvSide, err := NewSocket(b, serverOpts)
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewSocket(a, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		srvSide.Close()
		<-client.Done()
		<-srvSide.Done()
	})
	return client, srvSide
}

func TestEmitReachesHandlerInOrderWithIDs(t *testing.T) {
	got := make(chan Event, 10)
	client, _ := pair(t, Options{}, Options{Handlers: map[string]Handler{
		"tick": func(ctx context.Context, e Event) { got <- e },
	}})
	ctx := context.Background()
	for _, d := range []string{"a", "b", "c"} {
		if err := client.Emit(ctx, "tick", []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{"a", "b", "c"} {
		e := <-got
		if e.Name != "tick" || string(e.Data) != want || e.ID != uint64(i+1) || e.WantsAck() {
			t.Errorf("event %d: got %+v, want tick %q id %d without ack", i, e, want, i+1)
		}
	}
}

func TestEmitWithAckRoundTrip(t *testing.T) {
	client, srvSide := pair(t, Options{}, Options{Handlers: map[string]Handler{
		"double": func(ctx context.Context, e Event) {
			if err := e.Ack(ctx, append(e.Data, e.Data...)); err != nil {
				t.Error(err)
			}
			_ = e.Ack(ctx, []byte("second ack is ignored"))
		},
	}})
	reply, err := client.EmitWithAck(context.Background(), "double", []byte("ab"))
	if err != nil {
		t.Fatal(err)
	}
	if string(reply) != "abab" {
		t.Errorf("reply %q, want %q", reply, "abab")
	}
	waitFor(t, func() bool { return srvSide.Stats().AcksSent == 1 })
	if st := client.Stats(); st.AcksReceived != 1 || st.Sent != 1 || st.Received != 1 {
		t.Errorf("client stats %+v, want 1 sent, 1 received, 1 ack received", st)
	}
	if n := client.Pending(); n != 0 {
		t.Errorf("%d acks still pending, want 0", n)
	}
}

func TestUnhandledEventIsCountedAndDropped(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	client, srvSide := pair(t, Options{}, Options{Handlers: map[string]Handler{
		"known": func(ctx context.Context, e Event) { mu.Lock(); seen = append(seen, string(e.Data)); mu.Unlock() },
	}})
	ctx := context.Background()
	client.Emit(ctx, "nobody-listens", []byte("1"))
	client.Emit(ctx, "nobody-listens", []byte("2"))
	client.Emit(ctx, "known", []byte("3"))
	// Received is counted as a message arrives, before it is dispatched, so
	// wait for all three to be dispatched.
	waitFor(t, func() bool { st := srvSide.Stats(); return st.Handled+st.Unhandled == 3 })
	st := srvSide.Stats()
	if st.Received != 3 || st.Unhandled != 2 || st.Handled != 1 {
		t.Errorf("server stats %+v, want 3 received, 2 unhandled, 1 handled", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "3" {
		t.Errorf("handler saw %q, want only \"3\"", seen)
	}
}

func TestEmitWithAckTimesOutWhenNoHandler(t *testing.T) {
	client, srvSide := pair(t, Options{AckTimeout: 50 * time.Millisecond}, Options{})
	start := time.Now()
	_, err := client.EmitWithAck(context.Background(), "nobody-listens", nil)
	if !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("got %v, want ErrAckTimeout", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the 50ms timeout", d)
	}
	waitFor(t, func() bool { return srvSide.Stats().Unhandled == 1 })
	if st := client.Stats(); st.AckTimeouts != 1 {
		t.Errorf("client stats %+v, want 1 ack timeout", st)
	}
}

func TestEmitWithAckContextDeadline(t *testing.T) {
	client, _ := pair(t, Options{AckTimeout: time.Hour}, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := client.EmitWithAck(ctx, "nobody-listens", nil)
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrAckTimeout and DeadlineExceeded", err)
	}
	if n := client.Pending(); n != 0 {
		t.Errorf("%d acks still pending, want 0", n)
	}
}

func TestLateAckIsCounted(t *testing.T) {
	release := make(chan struct{})
	client, _ := pair(t, Options{AckTimeout: 20 * time.Millisecond}, Options{Handlers: map[string]Handler{
		"slow": func(ctx context.Context, e Event) {
			go func() { <-release; e.Ack(ctx, []byte("late")) }()
		},
	}})
	if _, err := client.EmitWithAck(context.Background(), "slow", nil); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("got %v, want ErrAckTimeout", err)
	}
	close(release)
	waitFor(t, func() bool { return client.Stats().LateAcks == 1 })
}

func TestCloseFailsWaitingAcks(t *testing.T) {
	client, srvSide := pair(t, Options{}, Options{})
	errc := make(chan error, 1)
	go func() {
		_, err := client.EmitWithAck(context.Background(), "nobody-listens", nil)
		errc <- err
	}()
	waitFor(t, func() bool { return srvSide.Stats().Unhandled == 1 })
	srvSide.Close() // the peer goes away: the client's reader sees EOF
	if err := <-errc; !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
	<-client.Done()
	if err := client.Err(); err != nil {
		t.Errorf("Err after a clean close: %v, want nil", err)
	}
	if err := client.Emit(context.Background(), "x", nil); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Emit after close: %v, want ErrClosed", err)
	}
}

func TestPlainMessageIsMessageEvent(t *testing.T) {
	a, b := transporttest.Pipe()
	got := make(chan Event, 1)
	s, err := NewSocket(b, Options{Handlers: map[string]Handler{"message": func(ctx context.Context, e Event) { got <- e }}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.Close(); <-s.Done() }()
	a.Send(context.Background(), transport.Message{Data: []byte("hello from nc")})
	if e := <-got; string(e.Data) != "hello from nc" {
		t.Errorf("got %q", e.Data)
	}
}

func TestBadNames(t *testing.T) {
	client, _ := pair(t, Options{}, Options{})
	for _, name := range []string{"", "$ack", "join?", string(make([]byte, MaxNameLen+1))} {
		if err := client.Emit(context.Background(), name, nil); !errors.Is(err, ErrBadName) {
			t.Errorf("Emit(%q): %v, want ErrBadName", name, err)
		}
		if err := client.On(name, func(context.Context, Event) {}); !errors.Is(err, ErrBadName) {
			t.Errorf("On(%q): %v, want ErrBadName", name, err)
		}
	}
}

// TestServerFanOut shows who receives what: a client's emit reaches the
// server only; the server reaches one socket or all; other clients see a
// client's event only when the server relays it.
func TestServerFanOut(t *testing.T) {
	srv, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fromClients := make(chan string, 10)
	srv.On("say", func(ctx context.Context, e Event) { fromClients <- e.Socket.ID() + ":" + string(e.Data) })
	srv.On("relay", func(ctx context.Context, e Event) {
		for _, s := range e.Socket.server.Sockets() {
			if s != e.Socket {
				s.Emit(ctx, "relayed", e.Data)
			}
		}
	})
	const n = 3
	clients := make([]*Socket, n)
	inbox := make([]chan string, n)
	for i := range clients {
		a, b := transporttest.Pipe()
		if _, err := srv.Add(b); err != nil {
			t.Fatal(err)
		}
		inbox[i] = make(chan string, 10)
		box := inbox[i]
		h := func(ctx context.Context, e Event) { box <- e.Name + ":" + string(e.Data) }
		c, err := NewSocket(a, Options{Handlers: map[string]Handler{"say": h, "news": h, "relayed": h}})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		defer func() { c.Close(); <-c.Done() }()
	}
	ctx := context.Background()

	clients[0].Emit(ctx, "say", []byte("hi"))
	if got := <-fromClients; got != "1:hi" {
		t.Errorf("server got %q, want %q", got, "1:hi")
	}
	if k, err := srv.Emit(ctx, "news", []byte("all")); k != n || err != nil {
		t.Fatalf("server emit reached %d (%v), want %d", k, err, n)
	}
	srv.Socket("2").Emit(ctx, "news", []byte("just you"))
	clients[2].Emit(ctx, "relay", []byte("pass it on"))

	want := [][]string{
		{"news:all", "relayed:pass it on"},
		{"news:all", "news:just you", "relayed:pass it on"},
		{"news:all"},
	}
	for i := range clients {
		for _, w := range want[i] {
			select {
			case got := <-inbox[i]:
				if got != w {
					t.Errorf("client %d got %q, want %q", i+1, got, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("client %d: nothing, want %q", i+1, w)
			}
		}
	}
	// Nothing else arrived: in particular no client saw client 1's "say".
	time.Sleep(20 * time.Millisecond)
	for i := range clients {
		if len(inbox[i]) != 0 {
			t.Errorf("client %d got %q more than expected", i+1, <-inbox[i])
		}
	}
}

func TestServerTracksDisconnects(t *testing.T) {
	srv, _ := NewServer(Options{})
	gone := make(chan string, 1)
	srv.OnDisconnect(func(s *Socket) { gone <- s.ID() })
	a, b := transporttest.Pipe()
	s, _ := srv.Add(b)
	if len(srv.Sockets()) != 1 || srv.Socket(s.ID()) != s {
		t.Fatalf("socket not tracked")
	}
	a.Close()
	if id := <-gone; id != "1" {
		t.Errorf("disconnected %q, want \"1\"", id)
	}
	if len(srv.Sockets()) != 0 {
		t.Errorf("%d sockets left, want 0", len(srv.Sockets()))
	}
	srv.Close()
	if _, err := srv.Add(b); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
}

func TestManyReconnectsLeakNothing(t *testing.T) {
	srv, _ := NewServer(Options{AckTimeout: time.Second})
	srv.On("ping", func(ctx context.Context, e Event) { e.Ack(ctx, e.Data) })
	defer srv.Close()
	for i := 0; i < 100; i++ {
		a, b := transporttest.Pipe()
		if _, err := srv.Add(b); err != nil {
			t.Fatal(err)
		}
		c, err := NewSocket(a, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.EmitWithAck(context.Background(), "ping", []byte("x")); err != nil {
			t.Fatal(err)
		}
		c.Close()
		<-c.Done()
	}
	waitFor(t, func() bool { return len(srv.Sockets()) == 0 })
	if st := srv.Stats(); st.AcksSent != 100 {
		t.Errorf("server acked %d, want 100", st.AcksSent)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
