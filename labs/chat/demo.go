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
}

// DemoResult is what the demo's bots saw, step by step.
type DemoResult struct {
	HTTPAddr  string // the server's page and HTTP doors
	LinesAddr string // its TCP line door
	Doors     string // "ws at /ws, poll at /poll"
	Bots      []DemoBot
	Steps     []DemoStep
	// RoomAfter is who is in room math at the end (after bob left).
	RoomAfter []string
	// Interrupted reports whether Ctrl-C stopped the demo before its last
	// step; the steps are those that ran.
	Interrupted bool
}

// DemoBot is one scripted client.
type DemoBot struct {
	Name  string `json:"name"`
	Via   string `json:"via"`
	Rooms string `json:"rooms"`
	ID    string `json:"id"`
}

// DemoStep is one step of the script: who typed what, and who received it.
type DemoStep struct {
	Title    string     `json:"title"`
	From     string     `json:"from"`
	Text     string     `json:"typed"` // what From typed; "" for bob's disconnect
	Explain  string     `json:"explain"`
	Received []Delivery `json:"received"`
}

// Delivery is one line a bot received in a step, and how long after the
// step began.
type Delivery struct {
	Bot     string        `json:"bot"`
	Via     string        `json:"via"`
	Line    string        `json:"line"` // "" when the bot received nothing
	After   time.Duration `json:"-"`
	AfterUs float64       `json:"after_us"`
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
// given doors and records, step by step, who received what and how long
// after it was sent: room targeting, the default (own id) room, the union
// broadcast and auto-leave on disconnect. It takes a few seconds. When ctx
// ends early it returns the steps that ran, with Interrupted set.
func Demo(ctx context.Context, cfg DemoConfig) (DemoResult, error) {
	var res DemoResult
	// The server outlives Ctrl-C until the bots have closed (the deferred
	// stop below): a door closing a client still connected waits for it to
	// hear so (a poll client's next GET), and a bot closing first tells it.
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	srv, err := Start(sctx, ServerConfig{Listen: "127.0.0.1:0", Lines: "127.0.0.1:0", Doors: cfg.Doors})
	if err != nil {
		return res, err
	}
	defer func() { stop(); srv.Wait() }()
	dialers := append(slices.Clone(cfg.Dialers), LinesDialer)
	res.HTTPAddr, res.LinesAddr, res.Doors = srv.HTTPAddr.String(), srv.LinesAddr.String(), doorList(cfg.Doors)
	interrupted := func() (DemoResult, error) {
		res.Interrupted = true
		return res, ctx.Err()
	}

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
			if ctx.Err() != nil {
				return interrupted()
			}
			return res, fmt.Errorf("chat demo: %s via %s: %w", p.name, d.Name, err)
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
			if ctx.Err() != nil {
				return interrupted()
			}
			return res, err
		}
		if p.room != DefaultRoom {
			b.say(ctx, "/join "+p.room)
			b.say(ctx, "/leave "+DefaultRoom)
		}
	}
	alice, bob, carol, dave := bots[0], bots[1], bots[2], bots[3]
	alice.say(ctx, "/join math") // alice is in art and math; math is her current room
	settle(ctx)
	if ctx.Err() != nil {
		return interrupted()
	}
	for _, b := range bots {
		b.take()
	}
	rooms := map[*bot]string{alice: "art, math", bob: "math", carol: "art", dave: "lobby"}
	for _, b := range bots {
		b.mu.Lock()
		res.Bots = append(res.Bots, DemoBot{Name: b.name, Via: b.door, Rooms: rooms[b], ID: b.id})
		b.mu.Unlock()
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
	for _, st := range steps {
		sent := time.Now()
		if err := st.from.say(ctx, st.text); err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return res, err
		}
		settle(ctx)
		if ctx.Err() != nil {
			return interrupted()
		}
		res.Steps = append(res.Steps, DemoStep{Title: st.title, From: st.from.name, Text: st.text, Explain: st.explain,
			Received: deliveries(bots, nil, sent)})
	}
	sent := time.Now()
	bob.conn.Close()
	settle(ctx)
	if ctx.Err() != nil {
		return interrupted()
	}
	res.Steps = append(res.Steps, DemoStep{Title: "Auto-leave on disconnect", From: "bob",
		Explain: "bob left every room he was in; the hub told those rooms (math) who left", Received: deliveries(bots, bob, sent)})
	ms, err := srv.Hub.Members(ctx, "math")
	if err != nil {
		if ctx.Err() != nil {
			return interrupted()
		}
		return res, err
	}
	res.RoomAfter = []string{}
	for _, m := range ms {
		res.RoomAfter = append(res.RoomAfter, m.Name)
	}
	return res, nil
}

// deliveries is what each bot (but skip) received since the last look, and
// how long after sent.
func deliveries(bots []*bot, skip *bot, sent time.Time) []Delivery {
	out := []Delivery{}
	for _, b := range bots {
		if b == skip {
			continue
		}
		got := b.take()
		if len(got) == 0 {
			out = append(out, Delivery{Bot: b.name, Via: b.door})
		}
		for _, g := range got {
			d := g.at.Sub(sent)
			out = append(out, Delivery{Bot: b.name, Via: b.door, Line: g.line, After: d, AfterUs: report.Micros(d)})
		}
	}
	return out
}

// WriteText prints the demo for people, step by step.
func (res DemoResult) WriteText(w io.Writer) error {
	report.Paragraph(w, fmt.Sprintf("chat server on http://%s (page, %s) and tcp %s; one hub behind every door", res.HTTPAddr, res.Doors, res.LinesAddr))
	fmt.Fprintln(w)
	t := &report.Table{Header: []string{"bot", "via", "rooms", "id (own room)"}}
	for _, b := range res.Bots {
		t.Row(b.Name, b.Via, b.Rooms, b.ID)
	}
	if len(res.Bots) > 0 {
		if err := t.Write(w); err != nil {
			return err
		}
	}
	for i, st := range res.Steps {
		if st.Text != "" {
			fmt.Fprintf(w, "\n%d. %s\n   %s types: %s\n", i+1, st.Title, st.From, st.Text)
		} else {
			fmt.Fprintf(w, "\n%d. %s\n   %s closes his connection\n", i+1, st.Title, st.From)
		}
		t := &report.Table{Header: []string{"who   via   received", "after"}, Columns: []report.Column{{Fold: true}}}
		for _, d := range st.Received {
			if d.Line == "" {
				t.Row(fmt.Sprintf("%-5s %-5s -", d.Bot, d.Via), "")
				continue
			}
			t.Row(fmt.Sprintf("%-5s %-5s %s", d.Bot, d.Via, d.Line), report.Duration(d.After))
		}
		t.Notes = []string{st.Explain}
		if err := t.Write(w); err != nil {
			return err
		}
	}
	if res.RoomAfter != nil {
		fmt.Fprintf(w, "   math now has: %s\n", strings.Join(res.RoomAfter, ", "))
	}
	if res.Interrupted {
		fmt.Fprintln(w, "\n(interrupted: the steps above are those that ran)")
	}
	return nil
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

// DemoJSON is the results of 'netlab chat demo --json'.
type DemoJSON struct {
	HTTPAddr  string     `json:"http_addr"`
	LinesAddr string     `json:"tcp_addr"`
	Bots      []DemoBot  `json:"bots"`
	Steps     []DemoStep `json:"steps"`
	RoomAfter []string   `json:"math_after"`
}

// JSON returns the JSON form of res.
func (res DemoResult) JSON() DemoJSON {
	j := DemoJSON{HTTPAddr: res.HTTPAddr, LinesAddr: res.LinesAddr, Bots: res.Bots, Steps: res.Steps, RoomAfter: res.RoomAfter}
	if j.Bots == nil {
		j.Bots = []DemoBot{}
	}
	if j.Steps == nil {
		j.Steps = []DemoStep{}
	}
	if j.RoomAfter == nil {
		j.RoomAfter = []string{}
	}
	return j
}
