package socketio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests in this file run the real Node socket.io server and the real
// socket.io-client (testdata/js, installed by .ci/run with npm ci). Without
// node or the modules they skip, except in CI (CI=true), where they fail.

func jsDir(t *testing.T) string { return jsDirB(t) }

func jsDirB(t testing.TB) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "js"))
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		missing = "the npm packages are not installed (cd " + dir + " && npm ci)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: .ci/run must install them", missing)
		}
		t.Skip(missing)
	}
	return dir
}

// startNode starts testdata/js/server.js and returns its address.
func startNode(t *testing.T, env ...string) string { return startNodeB(t, env...) }

func startNodeB(t testing.TB, env ...string) string {
	addr, _ := startNodeScript(t, "server.js", env...)
	return addr
}

// startNodeScript starts testdata/js/script, which prints {"port":N} when
// listening and stops when stdin closes, and returns its address and its
// stdin.
func startNodeScript(t testing.TB, script string, env ...string) (string, io.Writer) {
	dir := jsDirB(t)
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	var hello struct{ Port int }
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Port == 0 {
		t.Fatalf("node %s said %q", script, line)
	}
	return net.JoinHostPort("127.0.0.1", strings.TrimSpace(json.Number(itoa(hello.Port)).String())), stdin
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// startNetlab serves a Server with ServeRooms on 127.0.0.1:0, as netlab
// socketio serve does, and returns its address.
func startNetlab(t *testing.T, opts ServerOptions) string { return startNetlabB(t, opts) }

func startNetlabB(t testing.TB, opts ServerOptions) string {
	t.Helper()
	srv := NewServer(opts)
	ServeRooms(srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return ln.Addr().String()
}

// TestJSClientAgainstNetlab: the real socket.io-client against netlab's
// server: polling then the upgrade, an ack, a room broadcast reaching its
// members only, a recovered reconnect.
func TestJSClientAgainstNetlab(t *testing.T) {
	dir := jsDir(t)
	addr := startNetlab(t, ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.js", "http://"+addr)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.js: %v\n%s", err, out)
	}
	checks := map[string]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("client.js printed %q", line)
		}
		checks[m["check"].(string)] = m
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if c := checks["upgrade"]; c["first"] != "polling" || c["upgraded"] != "websocket" {
		t.Errorf("transports: got %s, want polling then websocket", js(c))
	}
	if c := checks["ack"]; c["echoed"] != "hello" {
		t.Errorf("ack: got %s, want hello echoed", js(c))
	}
	if got := js(checks["room"]["got"]); got != `{"a":[],"b":["hi r1"],"c":[]}` {
		t.Errorf("room r1 = {a sender, b member, c not}: got %s, want only b to get it", got)
	}
	c := checks["recovery"]
	if c["recovered"] != true || c["sameId"] != true || js(c["dgot"]) != `["before","while away"]` {
		t.Errorf("recovery: got %s, want recovered, same id, the missed message", js(c))
	}
	if rooms := js(c["rooms"]); !strings.Contains(rooms, `"r2"`) {
		t.Errorf("recovered socket's rooms = %s, want r2 kept", rooms)
	}
}

// goScenario runs netlab's Go client through what client.js checks, against
// the server at addr (netlab's or Node's).
func goScenario(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connect := func(tr ...string) *Client {
		t.Helper()
		c, err := Connect(ctx, addr, ClientOptions{Transports: tr, Reconnection: true, ReconnectionDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatalf("Connect %v: %v", tr, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	next := func(c *Client, name string) Event {
		t.Helper()
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				t.Fatalf("waiting for %q: %v", name, err)
			}
			if ev.Name == name {
				return ev
			}
		}
	}

	// Polling first, then the upgrade.
	a := connect()
	if tr := a.Transport(); tr != Polling && tr != WebSocket {
		t.Fatalf("transport %q", tr)
	}
	w := next(a, "welcome")
	if !strings.Contains(string(w.Args[0]), `"transport":"polling"`) {
		t.Errorf("welcome %s: want the session opened on polling", w.Args[0])
	}
	for deadline := time.Now().Add(5 * time.Second); a.Transport() != WebSocket; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no upgrade: still on %q", a.Transport())
		}
	}

	// An ack.
	got, err := a.EmitWithAck(ctx, "echo", "hello", 42)
	if err != nil || len(got) != 2 || string(got[0]) != `"hello"` || string(got[1]) != "42" {
		t.Fatalf("echo ack = %s, %v; want [hello 42]", got, err)
	}

	// A room broadcast reaches its members only.
	b := connect(WebSocket)
	c := connect(Polling)
	for _, s := range []*Client{a, b} {
		rooms, err := s.EmitWithAck(ctx, "join", "r1")
		if err != nil || !strings.Contains(string(rooms[0]), `"r1"`) || !strings.Contains(string(rooms[0]), s.ID()) {
			t.Fatalf("join ack %s, %v: want r1 and the socket's own id room", rooms, err)
		}
	}
	a.Emit(ctx, "chat", "r1", "hi r1")
	if ev := next(b, "chat"); !strings.Contains(string(ev.Args[0]), `"text":"hi r1"`) {
		t.Errorf("member got %s", ev.Args[0])
	}
	// c (not a member) and a (the sender) get nothing: a later broadcast to
	// everyone is the first chat each sees.
	a.Emit(ctx, "all", "to all")
	for name, s := range map[string]*Client{"sender": a, "non-member": c, "member": b} {
		if ev := next(s, "chat"); !strings.Contains(string(ev.Args[0]), "to all") {
			t.Errorf("%s got %s before the broadcast to all: the room message leaked", name, ev.Args[0])
		}
	}

	// Recovery, and the send buffer: d loses its transport, misses a room
	// message and emits while away; it comes back recovered, gets what it
	// missed, and its buffered emit reaches the room.
	d := connect(WebSocket)
	if _, err := d.EmitWithAck(ctx, "join", "r2"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EmitWithAck(ctx, "join", "r2"); err != nil {
		t.Fatal(err)
	}
	a.Emit(ctx, "chat", "r2", "before") // gives d an offset
	next(d, "chat")
	next(b, "chat")
	id := d.ID()
	d.DropTransport()
	if ev := next(d, "disconnect"); ev.Reason != "transport close" {
		t.Errorf("disconnect reason %q, want transport close", ev.Reason)
	}
	a.Emit(ctx, "chat", "r2", "while away")
	next(b, "chat")
	if err := d.Emit(ctx, "chat", "r2", "sent while away"); err != nil {
		t.Fatal(err)
	}
	if ev := next(d, "connect"); !ev.Recovered || d.ID() != id {
		t.Errorf("reconnect: recovered %v, id %s (was %s): want the session back", ev.Recovered, d.ID(), id)
	}
	if ev := next(d, "chat"); !strings.Contains(string(ev.Args[0]), "while away") {
		t.Errorf("after recovery d got %s, want the missed message", ev.Args[0])
	}
	if ev := next(b, "chat"); !strings.Contains(string(ev.Args[0]), "sent while away") {
		t.Errorf("b got %s, want d's buffered emit", ev.Args[0])
	}
	rooms, _ := d.EmitWithAck(ctx, "rooms")
	if len(rooms) == 0 || !strings.Contains(string(rooms[0]), `"r2"`) {
		t.Errorf("recovered rooms %s, want r2", rooms)
	}
}

func TestGoClientAgainstNode(t *testing.T)   { goScenario(t, startNode(t)) }
func TestGoClientAgainstNetlab(t *testing.T) { goScenario(t, startNetlab(t, ServerOptions{})) }

// TestGoClientManyConnects: every connect of many succeeds (the library's
// own Go client failed about 3 in 118).
func TestGoClientManyConnects(t *testing.T) {
	t.Run("netlab", func(t *testing.T) { manyConnects(t, startNetlab(t, ServerOptions{})) })
	t.Run("node", func(t *testing.T) { manyConnects(t, startNode(t)) })
}

func manyConnects(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 60 {
		tr := [][]string{{Polling, WebSocket}, {WebSocket}, {Polling}}[i%3]
		c, err := Connect(ctx, addr, ClientOptions{Transports: tr})
		if err != nil {
			t.Fatalf("connect %d (%v): %v", i, tr, err)
		}
		if got, err := c.EmitWithAck(ctx, "echo", i); err != nil || string(got[0]) != itoa(i) {
			ev, nerr := c.Next(ctx)
			for nerr == nil && ev.Name != "disconnect" {
				ev, nerr = c.Next(ctx)
			}
			t.Fatalf("connect %d (%v): echo %s, %v (disconnect: %q, %v)", i, tr, got, err, ev.Reason, nerr)
		}
		c.Close()
	}
}

// binaryScenario: netlab's Go client sends binary attachments (a []byte
// argument, and one inside a map) to the server at addr, over each
// transport, and gets them back both ways: in the echo ack (a BINARY_ACK)
// and in an "echo" event the server emits (a BINARY_EVENT).
func binaryScenario(t *testing.T, addr string) {
	for _, tr := range [][]string{{WebSocket}, {Polling}} {
		t.Run(tr[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := Connect(ctx, addr, ClientOptions{Transports: tr})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			img := []byte{0x00, 0x01, 0xfe, 0xff, '\n', 0x1e} // not UTF-8, a separator in it
			big := bytes.Repeat([]byte{0xab}, 70_000)
			want := func(what string, args []json.RawMessage, atts [][]byte) {
				t.Helper()
				if what == "event" && len(args) == 4 {
					args = args[:3] // the recovery offset the server appends
				}
				if len(args) != 3 || string(args[0]) != `{"_placeholder":true,"num":0}` || string(args[1]) != "7" {
					t.Errorf("%s args %s: want a placeholder for num 0, then 7, then the map", what, args)
				}
				var m struct {
					Big  map[string]any `json:"big"`
					Name string         `json:"name"`
				}
				json.Unmarshal(args[2], &m)
				if m.Big["_placeholder"] != true || m.Big["num"] != float64(1) || m.Name != "x" {
					t.Errorf("%s third arg %s: want {big: placeholder num 1, name: x}", what, args[2])
				}
				if len(atts) != 2 || !bytes.Equal(atts[0], img) || !bytes.Equal(atts[1], big) {
					t.Errorf("%s: got %d attachments, want the 6 bytes and the 70000 bytes sent", what, len(atts))
				}
			}
			args, atts, err := c.EmitWithAckBinary(ctx, "echo", img, 7, map[string]any{"name": "x", "big": big})
			if err != nil {
				t.Fatal(err)
			}
			want("ack", args, atts)
			if err := c.Emit(ctx, "echo", img, 7, map[string]any{"name": "x", "big": big}); err != nil {
				t.Fatal(err)
			}
			for {
				ev, err := c.Next(ctx)
				if err != nil {
					t.Fatalf("waiting for the echo event: %v", err)
				}
				if ev.Name == "echo" {
					want("event", ev.Args, ev.Attachments)
					break
				}
			}
			// The client answers the server's "question" with a binary ack
			// (a BINARY_ACK from the client); the server passes the answer
			// back in ask's ack.
			answered := make(chan error, 1)
			go func() {
				for {
					ev, err := c.Next(ctx)
					if err != nil {
						answered <- err
						return
					}
					if ev.Name == "question" {
						answered <- ev.Ack(img, 7, map[string]any{"name": "x", "big": big})
						return
					}
				}
			}()
			args, atts, err = c.EmitWithAckBinary(ctx, "ask", "what bytes?")
			if err != nil {
				t.Fatal(err)
			}
			if err := <-answered; err != nil {
				t.Fatalf("answering the question: %v", err)
			}
			want("ask's ack", args, atts)
			// Text events still work after the binary ones.
			if got, err := c.EmitWithAck(ctx, "echo", "after"); err != nil || string(got[0]) != `"after"` {
				t.Errorf("echo after binary: %s, %v", got, err)
			}
		})
	}
}

func TestGoClientBinaryAgainstNode(t *testing.T) { binaryScenario(t, startNode(t)) }
func TestGoClientBinaryAgainstNetlab(t *testing.T) {
	binaryScenario(t, startNetlab(t, ServerOptions{}))
}
