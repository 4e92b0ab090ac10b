package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/httppoll"
	"github.com/netlab/netlab/transport/ws"
)

// startChat runs a chat server with every door on 127.0.0.1:0 until the
// test ends.
func startChat(t *testing.T) *chat.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := chat.Start(ctx, chat.ServerConfig{Listen: "127.0.0.1:0", Lines: "127.0.0.1:0", Doors: chatHTTPDoors()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	return srv
}

// client is a test chat client on any door.
type client struct {
	t    *testing.T
	name string
	c    transport.Conn
}

func dialChat(t *testing.T, srv *chat.Server, door, name string) *client {
	t.Helper()
	ctx := context.Background()
	var c transport.Conn
	var err error
	switch door {
	case "ws":
		c, err = ws.Dial(ctx, "ws://"+srv.HTTPAddr.String()+"/ws", chatWSOptions)
	case "poll":
		c, err = httppoll.Dial(ctx, srv.HTTPAddr.String(), chatPollOptions)
	case "tcp":
		c, err = chat.DialLines(ctx, srv.LinesAddr.String())
	}
	if err != nil {
		t.Fatalf("dial %s: %v", door, err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t, name + "(" + door + ")", c}
	cl.say("/nick " + name)
	cl.expect("welcome")
	return cl
}

func (c *client) say(text string) {
	c.t.Helper()
	if err := c.c.Send(context.Background(), transport.Message{Data: []byte(text)}); err != nil {
		c.t.Fatalf("%s send %q: %v", c.name, text, err)
	}
}

// line renders a received message the way a line client sees it.
func line(m transport.Message) string {
	if m.Event == "" {
		return string(m.Data)
	}
	return strings.TrimSpace(string(chat.FormatLine(&m, false, time.Now())))
}

// expect reads until a message containing want arrives (5 s bound) and
// returns it.
func (c *client) expect(want string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seen []string
	for {
		m, err := c.c.Recv(ctx)
		if err != nil {
			c.t.Fatalf("%s: waiting for %q: %v (got %q)", c.name, want, err, seen)
		}
		if l := line(m); strings.Contains(l, want) {
			return l
		} else {
			seen = append(seen, l)
		}
	}
}

// quiet checks that no message containing unwanted arrives within a short wait.
func (c *client) quiet(unwanted string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	for {
		m, err := c.c.Recv(ctx)
		if err != nil {
			return
		}
		if l := line(m); strings.Contains(l, unwanted) {
			c.t.Errorf("%s got %q, which was not for it", c.name, l)
		}
	}
}

func TestChatSameRoomAcrossEveryDoor(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) }) // runs last, after the server stopped
	srv := startChat(t)
	wsC := dialChat(t, srv, "ws", "wendy")
	pollC := dialChat(t, srv, "poll", "paul")
	tcpC := dialChat(t, srv, "tcp", "tara")
	other := dialChat(t, srv, "ws", "oscar")
	sender := dialChat(t, srv, "tcp", "sam")
	for _, c := range []*client{wsC, pollC, tcpC, sender} {
		c.say("/join physics")
		c.expect("joined physics")
	}
	other.say("/join chemistry")
	other.expect("joined chemistry")
	other.say("/leave lobby")
	other.expect("you left lobby")

	sender.say("the experiment starts now")
	for _, c := range []*client{wsC, pollC, tcpC} {
		got := c.expect("the experiment starts now")
		if got != "[physics] sam: the experiment starts now" {
			t.Errorf("%s: got %q", c.name, got)
		}
	}
	other.quiet("experiment")
	sender.quiet("experiment") // the sender does not get its own message back

	ms, err := srv.Hub.Members(context.Background(), "physics")
	if err != nil || len(ms) != 4 {
		t.Fatalf("members of physics: %v %v", ms, err)
	}
	doors := map[string]bool{}
	for _, m := range ms {
		doors[m.Door] = true
	}
	if !doors["ws"] || !doors["poll"] || !doors["tcp"] {
		t.Errorf("physics should hold ws, poll and tcp clients: %v", ms)
	}
}

func TestChatBadInputOnEveryDoor(t *testing.T) {
	srv := startChat(t)
	bystander := dialChat(t, srv, "tcp", "bystander")
	bystander.say("/join quiet")
	bystander.expect("joined quiet")
	for _, door := range []string{"ws", "poll", "tcp"} {
		t.Run(door, func(t *testing.T) {
			c := dialChat(t, srv, door, "bad"+door)
			cases := []struct{ send, want string }{
				{"/frobnicate", "unknown command \"/frobnicate\""},
				{"/join no spaces allowed", "invalid room name"},
				{"/join " + strings.Repeat("r", 40), "invalid room name"},
				{"/nick <script>", "invalid name"},
				{strings.Repeat("x", chat.MaxText+1), "message too long"},
			}
			for _, tc := range cases {
				c.say(tc.send)
				c.expect(tc.want)
			}
			if err := c.c.Send(context.Background(), transport.Message{Event: "dance"}); err != nil {
				t.Fatal(err)
			}
			c.expect(`unknown event "dance"`)
			// flood: far more than the burst in one go
			for i := range 100 {
				c.say("/to quiet spam " + string(rune('a'+i%26)))
			}
			c.expect("flood")
			// the bystander got at most the burst, and still works
			c.say("/rooms")
			bystander.say("/who")
			bystander.expect("1 in quiet")
		})
	}
	t.Run("tcp long line and invalid JSON", func(t *testing.T) {
		c := dialChat(t, srv, "tcp", "badlines")
		c.say(strings.Repeat("y", chat.MaxLine+10))
		c.expect("line longer than 2048 bytes")
		c.say(`{"event":"chat",`)
		c.expect("invalid JSON")
		c.say("/rooms")
		c.expect("own rooms")
	})
	t.Run("ws invalid JSON and over-long frame", func(t *testing.T) {
		dial := func() *websocket.Conn {
			wc, _, err := websocket.DefaultDialer.Dial("ws://"+srv.HTTPAddr.String()+"/ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			wc.SetReadDeadline(time.Now().Add(5 * time.Second))
			return wc
		}
		// Invalid JSON: an error message, and the connection stays up.
		wc := dial()
		defer wc.Close()
		wc.WriteMessage(websocket.TextMessage, []byte(`{"event":`))
		for {
			_, b, err := wc.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for the error about invalid JSON: %v", err)
			}
			if strings.Contains(string(b), `"event":"error"`) && strings.Contains(string(b), "malformed") {
				break
			}
		}
		wc.WriteMessage(websocket.TextMessage, []byte("/rooms"))
		for {
			_, b, err := wc.ReadMessage()
			if err != nil {
				t.Fatalf("after invalid JSON the connection should stay usable: %v", err)
			}
			if strings.Contains(string(b), "own rooms") {
				break
			}
		}
		// Over-long frame: closed with 1009 and a reason.
		big := dial()
		defer big.Close()
		big.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("z", 40<<10)))
		var closeErr error
		for closeErr == nil {
			_, _, closeErr = big.ReadMessage()
		}
		var ce *websocket.CloseError
		if !errorsAs(closeErr, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Errorf("over-long frame: got %v, want close 1009", closeErr)
		}
	})
	t.Run("poll invalid JSON and over-long body", func(t *testing.T) {
		pc := dialChat(t, srv, "poll", "badpoll")
		sid := pc.c.(*httppoll.Conn).Session()
		// Expect: 100-continue (RFC 9110 §10.1.1) lets the server refuse a
		// body before it is sent. Without it the server answers 413 and
		// closes while the client is still writing, and the client may see
		// the close as a reset instead of the answer.
		hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
		defer hc.CloseIdleConnections()
		for _, body := range []string{`{"event":` + "\n", strings.Repeat("q", 100<<10)} {
			req, err := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr.String()+"/poll?sid="+sid, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set("Expect", "100-continue")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("body of %d bytes: got %s %q, want 400 or 413", len(body), resp.Status, b)
			}
		}
	})
	bystander.say("/who quiet")
	bystander.expect("1 in quiet")
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
