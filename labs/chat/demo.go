package chat

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
)

// A Dialer connects a client to a running chat server through one door.
type Dialer struct {
	Name string // "ws", "poll", "tcp"
	Dial func(ctx context.Context, s *Server) (transport.Conn, error)
}

// LinesDialer dials the server's TCP line door.
var LinesDialer = Dialer{Name: "tcp", Dial: func(ctx context.Context, s *Server) (transport.Conn, error) {
	return DialLines(ctx, s.LinesAddr.String())
}}

// DemoConfig configures Demo.
type DemoConfig struct {
	Doors   []HTTPDoor // server side of the HTTP doors
	Dialers []Dialer   // client side; bots take them in turn
	Out     io.Writer
}

// bot is one scripted client.
type bot struct {
	name, door string
	conn       transport.Conn
	mu         sync.Mutex
	got        []received
	id         string
}

type received struct {
	at   time.Time
	line string
}

func (b *bot) say(ctx context.Context, text string) error {
	return b.conn.Send(ctx, transport.Message{Data: []byte(text)})
}

func (b *bot) take() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.got
	b.got = nil
	return out
}

// Demo starts a chat server on 127.0.0.1, connects scripted bots through the
// given doors and shows, step by step, who received what and how long after
// it was sent: room targeting, the default (own id) room, the union
// broadcast and auto-leave on disconnect. It takes a few seconds.
func Demo(ctx context.Context, cfg DemoConfig) error {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := Start(sctx, ServerConfig{Listen: "127.0.0.1:0", Lines: "127.0.0.1:0", Doors: cfg.Doors})
	if err != nil {
		return err
	}
	defer func() { stop(); srv.Wait() }()
	dialers := append(slices.Clone(cfg.Dialers), LinesDialer)
	w := cfg.Out
	fmt.Fprintf(w, "chat server on http://%s (page, %s) and tcp %s; one hub behind every door\n\n",
		srv.HTTPAddr, doorList(cfg.Doors), srv.LinesAddr)

	plan := []struct{ name, room string }{
		{"alice", "art"}, {"bob", "math"}, {"carol", "art"}, {"dave", "lobby"},
	}
	var bots []*bot
	var readers sync.WaitGroup
	defer readers.Wait()
	for i, p := range plan {
		d := dialers[i%len(dialers)]
		c, err := d.Dial(ctx, srv)
		if err != nil {
			return fmt.Errorf("chat demo: %s via %s: %w", p.name, d.Name, err)
		}
		b := &bot{name: p.name, door: d.Name, conn: c}
		defer c.Close()
		bots = append(bots, b)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				m, err := c.Recv(sctx)
				if err != nil {
					return
				}
				line := string(m.Data)
				if m.Event != "" {
					line = strings.TrimSuffix(string(FormatLine(&m, false, time.Now())), "\n")
				}
				if id, ok := strings.CutPrefix(line, "welcome "); ok {
					if i := strings.Index(id, "your id is "); i >= 0 {
						f := strings.Fields(id[i+len("your id is "):])
						b.mu.Lock()
						b.id = f[0]
						b.mu.Unlock()
					}
				}
				b.mu.Lock()
				b.got = append(b.got, received{time.Now(), line})
				b.mu.Unlock()
			}
		}()
		if err := b.say(ctx, "/nick "+p.name); err != nil {
			return err
		}
		if p.room != DefaultRoom {
			b.say(ctx, "/join "+p.room)
			b.say(ctx, "/leave "+DefaultRoom)
		}
	}
	alice, bob, carol, dave := bots[0], bots[1], bots[2], bots[3]
	alice.say(ctx, "/join math") // alice is in art and math; math is her current room
	settle(ctx)
	for _, b := range bots {
		b.take()
	}
	t := &report.Table{Header: []string{"bot", "via", "rooms", "id (own room)"}}
	rooms := map[*bot]string{alice: "art, math", bob: "math", carol: "art", dave: "lobby"}
	for _, b := range bots {
		b.mu.Lock()
		t.Row(b.name, b.door, rooms[b], b.id)
		b.mu.Unlock()
	}
	t.Write(w)

	step := func(n int, title, explain string, from *bot, text string) error {
		fmt.Fprintf(w, "\n%d. %s\n   %s types: %s\n", n, title, from.name, text)
		sent := time.Now()
		if err := from.say(ctx, text); err != nil {
			return err
		}
		settle(ctx)
		t := receivedTable(bots, nil, sent)
		t.Notes = []string{explain}
		return t.Write(w)
	}
	bob.mu.Lock()
	bobID := bob.id
	bob.mu.Unlock()
	steps := []struct {
		title, explain string
		from           *bot
		text           string
	}{
		{"Room targeting", "only math hears it, and not the sender (Socket.IO's socket.to(room).emit)", alice, "anyone done with exercise 3?"},
		{"A room nobody else is in", "dave is alone in lobby: the message reaches no one", dave, "hello?"},
		{"The default room: every socket sits in a room named by its id", "sending to bob's id room reaches bob alone", carol, "/msg " + bobID + " can I borrow your notes?"},
		{"Union broadcast to several rooms", "alice is in both math and art but gets it once", dave, "/to math,art class starts in 5 minutes"},
		{"Everyone", "the whole server", carol, "/all fire drill at noon"},
	}
	for i, s := range steps {
		if err := step(i+1, s.title, s.explain, s.from, s.text); err != nil {
			return err
		}
	}
	n := len(steps) + 1
	fmt.Fprintf(w, "\n%d. Auto-leave on disconnect\n   bob closes his connection\n", n)
	sent := time.Now()
	bob.conn.Close()
	settle(ctx)
	t = receivedTable(bots, bob, sent)
	t.Notes = []string{"bob left every room he was in; the hub told those rooms (math) who left"}
	t.Write(w)
	ms, err := srv.Hub.Members(ctx, "math")
	if err != nil {
		return err
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	fmt.Fprintf(w, "   math now has: %s\n", strings.Join(names, ", "))
	return ctx.Err()
}

// receivedTable shows what each bot (but skip) received since the last
// look, and how long after sent.
func receivedTable(bots []*bot, skip *bot, sent time.Time) *report.Table {
	t := &report.Table{Header: []string{"who   via   received", "after"}}
	for _, b := range bots {
		if b == skip {
			continue
		}
		got := b.take()
		if len(got) == 0 {
			t.Row(fmt.Sprintf("%-5s %-5s -", b.name, b.door), "")
		}
		for _, g := range got {
			t.Row(fmt.Sprintf("%-5s %-5s %s", b.name, b.door, g.line), report.Duration(g.at.Sub(sent)))
		}
	}
	return t
}

// settle waits for deliveries to arrive (a short quiet period).
func settle(ctx context.Context) {
	select {
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
	}
}

func doorList(doors []HTTPDoor) string {
	var s []string
	for _, d := range doors {
		s = append(s, d.Name+" at "+d.Path)
	}
	if len(s) == 0 {
		return "no HTTP doors"
	}
	return strings.Join(s, ", ")
}
