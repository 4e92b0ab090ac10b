package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

// serveConn serves the server end of a pipe and returns the client end.
func serveConn(t *testing.T, h *Hub) transport.Conn {
	t.Helper()
	client, server := transporttest.Pipe()
	done := make(chan struct{})
	go func() { h.ServeConn(context.Background(), server, "pipe"); close(done) }()
	t.Cleanup(func() { client.Close(); <-done })
	return client
}

func recvUntil(t *testing.T, c transport.Conn, want string) []transport.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []transport.Message
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v (got %d messages)", want, err, len(got))
		}
		got = append(got, m)
		if strings.Contains(string(m.Data), want) {
			return got
		}
	}
}

func send(t *testing.T, c transport.Conn, text string) {
	t.Helper()
	if err := c.Send(context.Background(), transport.Message{Data: []byte(text)}); err != nil {
		t.Fatal(err)
	}
}

func TestSlowClientOnADoorSeesWhyItWasDisconnected(t *testing.T) {
	const n = 1000
	h := startHub(t, Config{SendQueue: 64})
	slow := serveConn(t, h)
	fast := serveConn(t, h)
	send(t, slow, "/join r")
	recvUntil(t, slow, "joined r")
	send(t, fast, "/join r")
	recvUntil(t, fast, "joined r")

	// The fast client reads as it comes; the room sends in bursts of 20,
	// each once the fast client has read the last (however slowly a loaded
	// machine runs its reader, it is never more than 20 behind, far under
	// its queue of 64), while the slow client never reads at all.
	const burst = 20
	var read atomic.Int64
	got := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for read.Load() < n {
			m, err := fast.Recv(ctx)
			if err != nil {
				break
			}
			if m.Event == "chat" {
				read.Add(1)
			}
		}
		got <- int(read.Load())
	}()
	start := time.Now()
	deadline := start.Add(15 * time.Second) // for all the waiting: a fast client held up fails below
	for i := range n {
		for i%burst == 0 && read.Load() < int64(i) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if err := h.Emit(context.Background(), Target{Rooms: []string{"r"}}, transport.Message{Event: "chat", Data: []byte{byte('a' + i%26)}}); err != nil {
			t.Fatal(err)
		}
	}
	if c := <-got; c != n {
		t.Fatalf("fast client got %d of %d messages", c, n)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("fast client needed %v (bound 10s): the slow one held it up", elapsed)
	}
	if k := h.Stats().Kicked; k != 1 {
		t.Fatalf("kicked %d clients, want 1 (the slow one)", k)
	}
	// The slow client now reads: what was already on its way, then the reason.
	msgs := recvUntil(t, slow, "slow consumer")
	if last := msgs[len(msgs)-1]; last.Event != "bye" {
		t.Errorf("last message: got %q %q, want event bye", last.Event, last.Data)
	}
	// What can be on its way: the hub's queue (64) and what the pipe holds
	// (256), plus the welcome and join replies.
	if len(msgs) > 64+256+10 {
		t.Errorf("slow client got %d messages before bye; its queues should have stopped it far sooner", len(msgs))
	}
}

func TestQuitSaysBye(t *testing.T) {
	h := startHub(t, Config{})
	c := serveConn(t, h)
	send(t, c, "/quit")
	msgs := recvUntil(t, c, "bye")
	if m := msgs[len(msgs)-1]; m.Event != "bye" || string(m.Data) != "bye" {
		t.Errorf("got %q %q", m.Event, m.Data)
	}
}

func TestLineDoorCommands(t *testing.T) {
	h := startHub(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { h.ServeLines(ctx, ln); close(served) }()
	defer func() { cancel(); <-served }()
	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc, bufio.NewReader(nc)
	}
	expect := func(r *bufio.Reader, want string) string {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", want, err)
			}
			if strings.Contains(line, want) {
				return strings.TrimSpace(line)
			}
		}
	}
	a, ar := dial()
	b, br := dial()
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	a.Write([]byte("/nick ann\r\n/join chem\n"))
	expect(ar, "* ann joined chem")
	b.Write([]byte("/nick ben\n/join chem\n/latency on\n"))
	expect(br, "latency on")
	a.Write([]byte("titration at 3\n"))
	if got := expect(br, "titration"); !strings.HasPrefix(got, "[chem] ann: titration at 3  (+") {
		t.Errorf("ben (latency on) got %q", got)
	}
	a.Write([]byte("/who\n"))
	expect(ar, "2 in chem:")
	a.Write([]byte("/rooms\n"))
	if got := expect(ar, "own rooms"); !strings.Contains(got, "chem (2)") || !strings.Contains(got, "+ 2 own rooms") {
		t.Errorf("/rooms: %q", got)
	}
	a.Write([]byte("/help\n"))
	expect(ar, "/join ROOM")
	b.Write([]byte("/leave\n"))
	expect(br, "you left chem")
	expect(ar, "* ben left chem")
	a.Write([]byte(`{"event":"chat","room":"chem","text":"json works too"}` + "\n"))
	a.Write([]byte("/quit\n"))
	expect(ar, "! bye")
	if _, err := ar.ReadString('\n'); !errors.Is(err, errEOF(err)) {
		t.Errorf("after /quit the server should close: %v", err)
	}
}

func errEOF(err error) error { return err } // any read error ends the connection

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("hello\n/join r\n"))
	f.Add([]byte(`{"event":"chat","text":"x"}` + "\n"))
	f.Add([]byte(`{"event":` + "\n"))
	f.Add(bytes.Repeat([]byte("a"), MaxLine+5))
	f.Add([]byte("\r\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(b), MaxLine)
		for range 10000 {
			m, err := readLine(r)
			if err != nil {
				if errors.Is(err, transport.ErrTooLarge) || errors.Is(err, transport.ErrMalformed) {
					continue
				}
				return
			}
			if len(m.Data) > MaxLine {
				t.Fatalf("line of %d bytes passed the %d limit", len(m.Data), MaxLine)
			}
		}
	})
}

// FuzzSession feeds arbitrary client messages to a session: it must never
// panic, and whatever it answers stays within the client's own queue.
func FuzzSession(f *testing.F) {
	for _, s := range []string{"/join a", "/leave", "/nick x", "/to a,b hi", "/msg id hi", "/all x", "/who", "/rooms", "/latency on", "/quit", "hi", "/", " /join", "/to", "/to ,", "/msg"} {
		f.Add("", "", s)
	}
	f.Add("chat", "a,b,*", "x")
	f.Add("join", "", "")
	f.Add("nick", "", strings.Repeat("n", 100))
	h := NewHub(Config{SendQueue: 1 << 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	f.Cleanup(func() { cancel(); <-done })
	s, err := h.Connect(context.Background(), "fuzz", "test")
	if err != nil {
		f.Fatal(err)
	}
	se := newSession(h, s, "fuzz")
	f.Fuzz(func(t *testing.T, event, room, text string) {
		se.tokens = floodBurst // no flood limit here
		err := se.handle(context.Background(), transport.Message{Event: event, Room: room, Data: []byte(text)})
		if err != nil && !errors.Is(err, errQuit) {
			t.Fatalf("handle(%q, %q, %q): %v", event, room, text, err)
		}
		for len(s.send) > 0 {
			<-s.send
		}
	})
}
