package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A DemoStep is one step of Demo: what was done and what each client got.
type DemoStep struct {
	Did string            // "ada: emit(\"chat\", \"math\", \"2+2=4\")"
	Got map[string]string // client name -> what it received ("" for nothing)
	// Events is what each client received, one event each, in order.
	Events map[string][]string
	// Note is what the step shows.
	Note string
}

// Demo runs netlab's Socket.IO server (ServeRooms) on 127.0.0.1:0 and three
// Go clients, ada, bob and cy, through the kinds of emit: from a client
// (with an ack), to one socket, to a room, to everyone but the sender, to
// everyone; rooms and the room of each socket's id; a disconnect leaving
// its rooms; a recovered reconnect. Each step is measured, not scripted:
// Got is what the clients received within a short wait.
//
// When ctx ends (Ctrl-C) it stops at once and returns the steps that
// finished, with ctx's error; a step cut short is left out.
func Demo(ctx context.Context) ([]DemoStep, error) {
	srv := NewServer(ServerOptions{})
	ServeRooms(srv, nil)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	defer srv.Close()

	names := []string{"ada", "bob", "cy"}
	clients := map[string]*Client{}
	var mu sync.Mutex
	got := map[string][]string{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, n := range names {
		c, err := Connect(ctx, ln.Addr().String(), ClientOptions{Reconnection: true, ReconnectionDelay: 20 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		clients[n] = c
		wg.Go(func() {
			for {
				ev, err := c.Next(ctx)
				if err != nil {
					return
				}
				var text string
				switch ev.Name {
				case "chat":
					var m struct{ Text string }
					json.Unmarshal(ev.Args[0], &m)
					text = fmt.Sprintf("chat %q", m.Text)
				case "welcome":
					var w struct {
						Transport string
						Recovered bool
					}
					json.Unmarshal(ev.Args[0], &w)
					text = fmt.Sprintf("welcome (on %s)", w.Transport)
				case "connect":
					text = fmt.Sprintf("connect (recovered: %v)", ev.Recovered)
				case "disconnect":
					text = "disconnect (" + ev.Reason + ")"
				default:
					continue
				}
				mu.Lock()
				got[n] = append(got[n], text)
				mu.Unlock()
			}
		})
	}
	var steps []DemoStep
	// wait sleeps d; it reports false if ctx ended first.
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// settle waits for what the step sent to arrive and records what each
	// client got; it reports false, recording nothing, if ctx ended.
	settle := func(did, note string) bool {
		if !wait(150*time.Millisecond) || ctx.Err() != nil {
			return false
		}
		mu.Lock()
		st := DemoStep{Did: did, Note: note, Got: map[string]string{}, Events: map[string][]string{}}
		for _, n := range names {
			st.Got[n] = strings.Join(got[n], "; ")
			st.Events[n] = append([]string{}, got[n]...)
		}
		got = map[string][]string{}
		mu.Unlock()
		steps = append(steps, st)
		return true
	}
	ack := func(c *Client, ev string, args ...any) string {
		a, err := c.EmitWithAck(ctx, ev, args...)
		if err != nil {
			return "error: " + err.Error()
		}
		var parts []string
		for _, x := range a {
			parts = append(parts, string(x))
		}
		return strings.Join(parts, ", ")
	}
	id := func(n string) string { return clients[n].ID() }
	short := func(s string) string {
		for _, n := range names {
			s = strings.ReplaceAll(s, id(n), n+"'s id")
		}
		return s
	}

	// Each step ends with settle; once ctx has ended no further step runs.
	if !settle("ada, bob, cy connect (each opens on polling, then upgrades)", "the server emits \"welcome\" to one socket: only that socket gets it") {
		return steps, ctx.Err()
	}
	r := ack(clients["ada"], "echo", "hi")
	if !settle(`ada: emit("echo", "hi") with an ack`, "a client's emit reaches the server only; the ack came back to ada: "+r) {
		return steps, ctx.Err()
	}
	ra := ack(clients["ada"], "join", "math")
	ack(clients["bob"], "join", "math")
	if !settle(`ada, bob: emit("join", "math")`, "ada's rooms now: "+short(ra)+" (every socket is also in the room named by its id)") {
		return steps, ctx.Err()
	}
	clients["ada"].Emit(ctx, "chat", "math", "2+2=4")
	if !settle(`ada: emit("chat", "math", "2+2=4") → server: socket.to("math").emit(...)`, "a room: its members get it, except the sender") {
		return steps, ctx.Err()
	}
	clients["ada"].Emit(ctx, "chat", id("cy"), "psst")
	if !settle(`ada: emit("chat", <cy's id>, "psst") → server: socket.to(cy's id).emit(...)`, "one socket, through the room of its id") {
		return steps, ctx.Err()
	}
	clients["ada"].Emit(ctx, "broadcast", "hello all")
	if !settle(`ada: emit("broadcast", "hello all") → server: socket.broadcast.emit(...)`, "everyone but the sender") {
		return steps, ctx.Err()
	}
	clients["ada"].Emit(ctx, "all", "everyone")
	if !settle(`ada: emit("all", "everyone") → server: io.emit(...)`, "everyone, the sender included") {
		return steps, ctx.Err()
	}
	before := ack(clients["ada"], "members", "math")
	clients["bob"].Close()
	wait(100 * time.Millisecond)
	after := ack(clients["ada"], "members", "math")
	if !settle(`bob: disconnect()`, fmt.Sprintf("members of \"math\": %s before, %s after:\n     a socket that disconnects leaves its rooms", short(before), short(after))) {
		return steps, ctx.Err()
	}
	clients["cy"].DropTransport()
	wait(50 * time.Millisecond)
	clients["ada"].Emit(ctx, "all", "while away")
	wait(200 * time.Millisecond)
	if !settle(`cy's connection drops; ada: emit("all", "while away"); cy reconnects`, "connection state recovery: cy is back with its id and gets what it missed") {
		return steps, ctx.Err()
	}
	return steps, nil
}
