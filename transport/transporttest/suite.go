package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// wait bounds every step of the suite; generous, so a loaded machine does
// not make the suite flaky.
const wait = 10 * time.Second

// Run runs the conformance suite against tr. Each subtest listens on
// 127.0.0.1:0, dials, and checks one behaviour: what every transport must do,
// and what the transport's Info says it promises (order, reliability, close
// notification, size limit).
func Run(t *testing.T, tr transport.Transport) {
	info := tr.Info()
	if info.Name == "" || (info.Network != "tcp" && info.Network != "udp") || info.MaxMessage <= 0 {
		t.Fatalf("Info() = %+v: needs a Name, Network tcp or udp, and MaxMessage > 0", info)
	}
	t.Run("RoundTripKeepsFields", func(t *testing.T) { testFields(t, tr) })
	t.Run("ManyInOrder", func(t *testing.T) { testMany(t, tr) })
	t.Run("BothDirectionsAtOnce", func(t *testing.T) { testDuplex(t, tr) })
	t.Run("LargeMessage", func(t *testing.T) { testLarge(t, tr) })
	t.Run("TooLargeIsRefused", func(t *testing.T) { testTooLarge(t, tr) })
	t.Run("ConcurrentSenders", func(t *testing.T) { testConcurrent(t, tr) })
	t.Run("RecvHonoursContext", func(t *testing.T) { testRecvContext(t, tr) })
	t.Run("CloseClient", func(t *testing.T) { testCloseClient(t, tr) })
	t.Run("CloseServerSide", func(t *testing.T) { testCloseServer(t, tr) })
	t.Run("CloseFlushesQueued", func(t *testing.T) { testCloseFlushes(t, tr) })
	t.Run("ListenerClose", func(t *testing.T) { testListenerClose(t, tr) })
	t.Run("WireStats", func(t *testing.T) { testWireStats(t, tr) })
	t.Run("FailedDialIsNil", func(t *testing.T) { testFailedDial(t, tr) })
}

// pair is a connected client and server Conn.
type pair struct {
	ln             transport.Listener
	client, server transport.Conn
}

// connect listens, dials, sends hello from the client (so that transports
// that only learn of a client from its first message, like UDP, can accept),
// and accepts.
func connect(t *testing.T, tr transport.Transport) *pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err := tr.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial %s: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { client.Close() })
	if err := client.Send(ctx, transport.Message{Seq: 0, Event: "hello"}); err != nil {
		t.Fatalf("Send hello: %v", err)
	}
	server, err := ln.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { server.Close() })
	m, err := server.Recv(ctx)
	if err != nil || m.Event != "hello" {
		t.Fatalf("server Recv hello = %+v, %v", m, err)
	}
	return &pair{ln: ln, client: client, server: server}
}

func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func recvN(ctx context.Context, c transport.Conn, n int) ([]transport.Message, error) {
	var out []transport.Message
	for len(out) < n {
		m, err := c.Recv(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// lossTolerant reports whether tr may lose messages; then counts are checked
// as "most arrived, nothing corrupted" and order is not required.
func lossTolerant(tr transport.Transport) bool { return !tr.Info().Reliable }

func testFields(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	sent := time.Unix(1732650000, 123456789)
	msgs := []transport.Message{
		{Seq: 1, Event: "echo", Room: "lobby", Sent: sent, Data: []byte("hello, world")},
		{Seq: 2, Event: "bin", Data: []byte{0, 1, 2, 0xff, 0xfe, '\n', '\r'}},
		{Seq: 3, Event: "lines", Data: []byte("two\nlines")},
		{Seq: 4, Event: "empty"},
	}
	for _, m := range msgs {
		if err := p.client.Send(ctx, m); err != nil {
			t.Fatalf("Send %+v: %v", m, err)
		}
		got, err := p.server.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if got.Seq != m.Seq || got.Event != m.Event || got.Room != m.Room || !got.Sent.Equal(m.Sent) || !bytes.Equal(got.Data, m.Data) {
			t.Errorf("sent %+v, received %+v", m, got)
		}
		// And back.
		if err := p.server.Send(ctx, got); err != nil {
			t.Fatalf("server Send: %v", err)
		}
		back, err := p.client.Recv(ctx)
		if err != nil {
			t.Fatalf("client Recv: %v", err)
		}
		if back.Seq != m.Seq || !bytes.Equal(back.Data, m.Data) {
			t.Errorf("echoed %+v, client received %+v", m, back)
		}
	}
}

func testMany(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	const n = 500
	go func() {
		for i := 1; i <= n; i++ {
			if lossTolerant(tr) && i%50 == 0 {
				time.Sleep(time.Millisecond) // do not overrun a datagram socket's buffer
			}
			if err := p.client.Send(ctx, transport.Message{Seq: uint64(i), Data: fmt.Appendf(nil, "message %d", i)}); err != nil {
				return
			}
		}
	}()
	if lossTolerant(tr) {
		got := 0
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		for got < n {
			m, err := p.server.Recv(rctx)
			if err != nil {
				break
			}
			if want := fmt.Sprintf("message %d", m.Seq); string(m.Data) != want {
				t.Fatalf("corrupted: seq %d carries %q", m.Seq, m.Data)
			}
			got++
		}
		if got < n/2 {
			t.Fatalf("only %d of %d datagrams arrived on loopback", got, n)
		}
		return
	}
	msgs, err := recvN(ctx, p.server, n)
	if err != nil {
		t.Fatalf("after %d messages: %v", len(msgs), err)
	}
	for i, m := range msgs {
		if tr.Info().Ordered && m.Seq != uint64(i+1) {
			t.Fatalf("message %d has seq %d: out of order", i+1, m.Seq)
		}
	}
}

func testDuplex(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	const n = 200
	errc := make(chan error, 4)
	send := func(c transport.Conn, ev string) {
		for i := 1; i <= n; i++ {
			if lossTolerant(tr) && i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
			if err := c.Send(ctx, transport.Message{Seq: uint64(i), Event: ev}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}
	recv := func(c transport.Conn, ev string) {
		rctx := ctx
		if lossTolerant(tr) {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
		}
		got := 0
		for got < n {
			m, err := c.Recv(rctx)
			if err != nil {
				if lossTolerant(tr) && got > n/2 {
					break
				}
				errc <- fmt.Errorf("recv %s after %d: %w", ev, got, err)
				return
			}
			if m.Event != ev {
				errc <- fmt.Errorf("got event %q, want %q", m.Event, ev)
				return
			}
			got++
		}
		errc <- nil
	}
	go send(p.client, "up")
	go send(p.server, "down")
	go recv(p.server, "up")
	go recv(p.client, "down")
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func testLarge(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	size := min(tr.Info().MaxMessage, 1<<20)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	if err := p.client.Send(ctx, transport.Message{Seq: 1, Data: data}); err != nil {
		t.Fatalf("Send %d bytes (the limit): %v", size, err)
	}
	m, err := p.server.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv %d bytes: %v", size, err)
	}
	if !bytes.Equal(m.Data, data) {
		t.Fatalf("a %d-byte message arrived as %d bytes, or changed", size, len(m.Data))
	}
}

func testTooLarge(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	big := bytes.Repeat([]byte("x"), tr.Info().MaxMessage+1)
	err := p.client.Send(ctx, transport.Message{Seq: 1, Data: big})
	if !errors.Is(err, transport.ErrTooLarge) {
		t.Fatalf("Send of MaxMessage+1 bytes: err = %v, want ErrTooLarge", err)
	}
	// Nothing was sent, and the connection still works.
	if err := p.client.Send(ctx, transport.Message{Seq: 2, Data: []byte("after")}); err != nil {
		t.Fatalf("Send after a refused message: %v", err)
	}
	m, err := p.server.Recv(ctx)
	if err != nil || m.Seq != 2 {
		t.Fatalf("after a refused message the server received %+v, %v; want seq 2", m, err)
	}
}

func testConcurrent(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	const senders, each = 8, 50
	// Senders and the receiver run at once: a transport may hold only a
	// few messages in flight.
	errc := make(chan error, senders)
	for s := range senders {
		go func() {
			for i := range each {
				if lossTolerant(tr) && i%10 == 0 {
					time.Sleep(time.Millisecond)
				}
				if err := p.client.Send(ctx, transport.Message{Seq: uint64(s*1000 + i), Event: fmt.Sprint(s)}); err != nil {
					errc <- fmt.Errorf("sender %d, message %d: Send: %w", s, i, err)
					return
				}
			}
			errc <- nil
		}()
	}
	want := senders * each
	rctx := ctx
	if lossTolerant(tr) {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	}
	last := map[string]int64{}
	got := 0
	for got < want {
		m, err := p.server.Recv(rctx)
		if err != nil {
			if lossTolerant(tr) && got > want/2 {
				break
			}
			t.Fatalf("after %d of %d messages: %v", got, want, err)
		}
		got++
		if fmt.Sprint(m.Seq/1000) != m.Event {
			t.Fatalf("message seq %d arrived with event %q: messages mixed up", m.Seq, m.Event)
		}
		if tr.Info().Ordered {
			if prev, ok := last[m.Event]; ok && int64(m.Seq) <= prev {
				t.Fatalf("sender %s: seq %d after %d", m.Event, m.Seq, prev)
			}
		}
		last[m.Event] = int64(m.Seq)
	}
	for range senders {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

func testRecvContext(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.client.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with nothing to read and a 50ms deadline: err = %v, want DeadlineExceeded", err)
	}
	// Still usable.
	wctx := ctxWait(t)
	if err := p.server.Send(wctx, transport.Message{Seq: 9}); err != nil {
		t.Fatal(err)
	}
	if m, err := p.client.Recv(wctx); err != nil || m.Seq != 9 {
		t.Fatalf("Recv after a cancelled Recv = %+v, %v", m, err)
	}
}

func testCloseClient(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	if err := p.client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.client.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.client.Send(ctx, transport.Message{Seq: 1}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after Close: err = %v, want ErrClosed", err)
	}
	if _, err := p.client.Recv(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Recv after Close: err = %v, want ErrClosed", err)
	}
	if tr.Info().Connected {
		if _, err := p.server.Recv(ctx); err != io.EOF {
			t.Errorf("server Recv after client Close: err = %v, want io.EOF", err)
		}
	}
}

func testCloseServer(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	if err := p.server.Close(); err != nil {
		t.Fatalf("server Close: %v", err)
	}
	if _, err := p.server.Recv(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("server Recv after Close: err = %v, want ErrClosed", err)
	}
	if tr.Info().Connected {
		if _, err := p.client.Recv(ctx); err != io.EOF {
			t.Errorf("client Recv after server Close: err = %v, want io.EOF", err)
		}
	}
}

func testCloseFlushes(t *testing.T, tr transport.Transport) {
	if lossTolerant(tr) {
		t.Skip("an unreliable transport promises nothing about queued messages")
	}
	p := connect(t, tr)
	ctx := ctxWait(t)
	const n = 100
	for i := 1; i <= n; i++ {
		if err := p.client.Send(ctx, transport.Message{Seq: uint64(i), Data: bytes.Repeat([]byte("q"), 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	p.client.Close()
	msgs, err := recvN(ctx, p.server, n)
	if err != nil {
		t.Fatalf("Close lost queued messages: the server received %d of %d, then %v", len(msgs), n, err)
	}
}

func testListenerClose(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	if err := p.ln.Close(); err != nil {
		t.Fatalf("Listener Close: %v", err)
	}
	if _, err := p.ln.Accept(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Accept after Close: err = %v, want ErrClosed", err)
	}
	// Connections accepted before are closed too.
	if _, err := p.server.Recv(ctx); err == nil {
		t.Errorf("server conn Recv after Listener.Close succeeded, want an error")
	}
}

// testFailedDial: a Dial that fails returns a nil Conn, not a nil pointer
// inside the interface (which a caller's c != nil would take for a
// connection, and whose Close would panic).
func testFailedDial(t *testing.T, tr transport.Transport) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	c, err := tr.Dial(ctx, addr)
	if err == nil {
		c.Close() // connectionless: a Dial need not fail without a peer
		return
	}
	if c != nil {
		t.Errorf("Dial failed (%v) but returned a non-nil Conn %#v", err, c)
	}
}

func testWireStats(t *testing.T, tr transport.Transport) {
	p := connect(t, tr)
	ctx := ctxWait(t)
	meter, ok := p.client.(transport.Meter)
	if !ok {
		t.Fatalf("%T does not implement transport.Meter: netlab counts bytes on the wire for every transport", p.client)
	}
	before := meter.WireStats()
	data := bytes.Repeat([]byte("z"), 1000)
	if err := p.client.Send(ctx, transport.Message{Seq: 1, Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.server.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.server.Send(ctx, transport.Message{Seq: 1, Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	after := meter.WireStats()
	if d := after.BytesSent - before.BytesSent; d < int64(len(data)) {
		t.Errorf("client counted %d bytes sent for a %d-byte message", d, len(data))
	}
	if d := after.BytesReceived - before.BytesReceived; d < int64(len(data)) {
		t.Errorf("client counted %d bytes received for a %d-byte message", d, len(data))
	}
}
