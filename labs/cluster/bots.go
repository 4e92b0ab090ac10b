package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
)

// A bot is one scripted chat client. It speaks the chat server's message
// form, never its text: it sends transport.Messages with an Event ("nick",
// "join", "leave", "who", "chat", "replay"), a Room and, for its chat
// messages, a Seq the run gives it (unique in the run, so every receiver
// can tell which message it got); it reads the Event, Room and Seq of what
// comes back.
type bot struct {
	r     *run
	name  string
	rooms []string // the last one is the bot's current room

	mu       sync.Mutex
	conn     transport.Conn
	server   int
	ready    chan struct{}
	joined   bool // ready was closed
	got      []receipt
	path     []int
	stopped  time.Time // when its server went away
	switched time.Duration
	closing  bool
	// replaysDone counts the replay answers received; replayGone is set
	// when a replay buffer no longer had the bot's last message.
	replaysDone int
	replayGone  bool
}

// receipt is one chat message a bot received.
type receipt struct {
	seq    uint64
	room   string
	server int
	at     time.Time
	line   string // as a line client shows it
	replay bool   // sent again by a replay buffer, not live
}

// current is the bot's current room: where its messages go.
func (b *bot) current() string { return b.rooms[len(b.rooms)-1] }

func (b *bot) receipts() []receipt {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// connect connects the bot to server i, names it, joins its rooms and waits
// until the server confirms (its answer to "who" in the current room).
func (b *bot) connect(i int) error {
	r := b.r
	s := r.servers[i]
	ctx, cancel := context.WithTimeout(r.ctx, readyTimeout)
	defer cancel()
	c, err := r.dialer.Dial(ctx, s.srv)
	if err != nil {
		return fmt.Errorf("cluster demo: %s: %w", b.name, err)
	}
	ready := make(chan struct{})
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		_ = c.Close()
		return r.ctx.Err()
	}
	b.conn, b.server, b.ready, b.joined = c, i, ready, false
	b.path = append(b.path, i)
	b.mu.Unlock()
	r.readers.Add(1)
	go b.read(c, i)
	hello := []transport.Message{{Event: "nick", Data: []byte(b.name)}}
	for _, room := range b.rooms {
		hello = append(hello, transport.Message{Event: "join", Room: room})
	}
	if !slices.Contains(b.rooms, chat.DefaultRoom) {
		hello = append(hello, transport.Message{Event: "leave", Room: chat.DefaultRoom})
	}
	hello = append(hello, transport.Message{Event: "who", Room: b.current()})
	for _, m := range hello {
		if err := c.Send(ctx, m); err != nil {
			return fmt.Errorf("cluster demo: %s: %w", b.name, err)
		}
	}
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster demo: %s: no answer from %s within %v", b.name, s.id, readyTimeout)
	}
}

// read does every read on one connection; when the server goes away it
// moves the bot to the next live server.
func (b *bot) read(c transport.Conn, server int) {
	defer b.r.readers.Done()
	for {
		m, err := c.Recv(b.r.ctx)
		if err != nil {
			break
		}
		b.receive(m, server, time.Now())
	}
	_ = c.Close()
	b.mu.Lock()
	current := b.conn == c
	closing := b.closing
	b.mu.Unlock()
	if !current || closing || b.r.ctx.Err() != nil {
		return
	}
	// The server went away: after a pause, reconnect to the first live one.
	sleep(b.r.ctx, b.r.reconnectDelay)
	for i, s := range b.r.servers {
		if i == server || !s.alive() {
			continue
		}
		if err := b.connect(i); err == nil {
			b.askReplay()
			b.mu.Lock()
			if !b.stopped.IsZero() {
				b.switched = time.Since(b.stopped)
			}
			b.mu.Unlock()
			return
		}
	}
}

// receive takes one message from the server, by its event.
func (b *bot) receive(m transport.Message, server int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch m.Event {
	case "who":
		if m.Room == b.current() && !b.joined {
			b.joined = true
			close(b.ready)
		}
	case "chat", replayEvent:
		line := strings.TrimSuffix(string(chat.FormatLine(&m, false, now)), "\n")
		b.got = append(b.got, receipt{seq: m.Seq, room: m.Room, server: server, at: now, line: line, replay: m.Event == replayEvent})
	case replayedEvent:
		if string(m.Data) == replayGone {
			b.replayGone = true
		}
		b.replaysDone++
	}
}

// askReplay asks the bot's new server, if it keeps a replay buffer, for what
// each of the bot's rooms had after the last message the bot got there: a
// "replay" event naming the room, with that message's Seq.
func (b *bot) askReplay() {
	r := b.r
	if !r.replaying {
		return
	}
	b.mu.Lock()
	c := b.conn
	var asks []transport.Message
	for _, room := range b.rooms {
		var last uint64
		for _, g := range b.got {
			if slices.Contains(strings.Split(g.room, ","), room) {
				last = g.seq
			}
		}
		asks = append(asks, transport.Message{Event: replayEvent, Room: room, Seq: last})
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.ctx, sendTimeout)
	defer cancel()
	for _, a := range asks {
		if err := c.Send(ctx, a); err != nil {
			return // the load phase waits for the answers, then counts what is missing
		}
	}
}

// say sends text to room as a chat message numbered with a fresh Seq and
// returns the Seq. While the bot is between servers it waits to be
// reconnected.
func (b *bot) say(room, text, phase string) (uint64, error) {
	r := b.r
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	m := transport.Message{Seq: seq, Event: "chat", Room: room, Data: []byte(text)}
	deadline := time.Now().Add(readyTimeout)
	for {
		b.mu.Lock()
		c, server, ready := b.conn, b.server, b.ready
		joined := b.joined
		b.mu.Unlock()
		if joined && r.servers[server].alive() {
			at := time.Now()
			r.mu.Lock()
			r.sent[seq] = sentRec{from: b, room: room, server: server, at: at, phase: phase}
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(r.ctx, sendTimeout)
			err := c.Send(ctx, m)
			cancel()
			if err == nil {
				return seq, nil
			}
			r.mu.Lock()
			delete(r.sent, seq) // never left the bot
			r.mu.Unlock()
		}
		if time.Now().After(deadline) || r.ctx.Err() != nil {
			if err := r.ctx.Err(); err != nil {
				return 0, err
			}
			return 0, fmt.Errorf("cluster demo: %s could not send for %v: no server took it", b.name, readyTimeout)
		}
		select {
		case <-ready:
			time.Sleep(10 * time.Millisecond)
		case <-time.After(10 * time.Millisecond):
		case <-r.ctx.Done():
		}
	}
}
