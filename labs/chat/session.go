package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
)

// DefaultRoom is the room every client of the chat server starts in (besides
// its own id room, which Socket.IO calls the default room).
const DefaultRoom = "lobby"

// Flood limits: a client may send floodBurst messages at once and
// floodRate per second after that; more are dropped with an error.
const (
	floodRate  = 20
	floodBurst = 40
)

// errQuit ends a session at the client's request.
var errQuit = errors.New("chat: client quit")

// helpText is the reply to /help.
const helpText = `commands:
  /join ROOM        join ROOM and make it your current room
  /leave [ROOM]     leave ROOM (default: your current room)
  /nick NAME        change your name
  /rooms            list rooms and how many are in each
  /who [ROOM]       list who is in ROOM (default: your current room)
  /msg ID TEXT      send TEXT to one socket (its own room)
  /to R1,R2 TEXT    send TEXT to several rooms at once (each person gets it once)
  /all TEXT         send TEXT to everyone on the server
  /latency on|off   show how long each message took to reach you
  /quit             disconnect
  anything else     a message to your current room`

// A session is one client's conversation with the hub, the same whatever
// door it came through. Only its door's reader goroutine calls handle.
type session struct {
	hub     *Hub
	s       *Socket
	nick    string
	room    string      // current room: where plain messages go
	latency atomic.Bool // show delivery time; the door's writer reads it

	tokens float64
	last   time.Time
	warned time.Time
}

func newSession(h *Hub, s *Socket, nick string) *session {
	return &session{hub: h, s: s, nick: nick, tokens: floodBurst, last: time.Now()}
}

// reply queues a message for this client alone.
func (se *session) reply(event, room, text string) {
	se.s.notify(&transport.Message{Event: event, Room: room, Sent: time.Now(), Data: []byte(text)})
}

func (se *session) errorf(format string, a ...any) {
	se.reply("error", "", fmt.Sprintf(format, a...))
}

// welcome joins the starting room and greets the client.
func (se *session) welcome(ctx context.Context, room string) error {
	se.reply("welcome", "", fmt.Sprintf("welcome %s: your id is %s (your own room); type /help for commands", se.nick, se.s.id))
	if err := se.hub.Join(ctx, se.s, room); err != nil {
		return err
	}
	se.room = room
	return nil
}

// allow applies the flood limit: it reports whether one more message may go.
func (se *session) allow(now time.Time) bool {
	se.tokens = min(floodBurst, se.tokens+now.Sub(se.last).Seconds()*floodRate)
	se.last = now
	if se.tokens >= 1 {
		se.tokens--
		return true
	}
	if now.Sub(se.warned) >= time.Second {
		se.warned = now
		se.errorf("flood: more than %d messages a second (burst %d); messages dropped — slow down", floodRate, floodBurst)
	}
	return false
}

// handle acts on one message from the client. A message with an event is a
// command in JSON form; one without (a plain line, a plain frame) is a
// slash command or a chat message for the current room. It returns errQuit
// when the client asked to leave, or an error from the hub.
func (se *session) handle(ctx context.Context, m transport.Message) error {
	if !se.allow(time.Now()) {
		return nil
	}
	if m.Event == "" {
		text := strings.TrimRight(string(m.Data), "\r\n")
		if strings.HasPrefix(text, "/") {
			return se.command(ctx, text)
		}
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return se.chat(ctx, m.Room, text, m.Seq)
	}
	if handled, err := se.pageEvent(ctx, m); handled { // page.go
		return err
	}
	text := string(m.Data)
	switch m.Event {
	case "chat":
		return se.chat(ctx, m.Room, text, m.Seq)
	case "join":
		return se.join(ctx, m.Room)
	case "leave":
		return se.leave(ctx, m.Room)
	case "nick":
		return se.rename(ctx, text)
	case "rooms":
		return se.rooms(ctx)
	case "who":
		return se.who(ctx, m.Room)
	case "latency":
		on := text == "on"
		se.latency.Store(on)
		if on {
			se.reply("latency", "", "latency on: each message shows how long it took from the server taking it to you")
		} else {
			se.reply("latency", "", "latency off")
		}
		return nil
	case "quit":
		return errQuit
	default:
		if f := se.hub.events[m.Event]; f != nil {
			f(ctx, se.s, m)
			return nil
		}
		se.errorf("unknown event %q: use chat, join, leave, nick, rooms, who, latency or quit", clip(m.Event))
		return nil
	}
}

func (se *session) command(ctx context.Context, line string) error {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/join":
		return se.join(ctx, arg)
	case "/leave", "/part":
		return se.leave(ctx, arg)
	case "/nick", "/name":
		return se.rename(ctx, arg)
	case "/rooms":
		return se.rooms(ctx)
	case "/who":
		return se.who(ctx, arg)
	case "/msg":
		id, text, _ := strings.Cut(arg, " ")
		if id == "" || strings.TrimSpace(text) == "" {
			se.errorf("usage: /msg ID TEXT (ids are in /who)")
			return nil
		}
		return se.emit(ctx, []string{id}, id, text, 0)
	case "/to":
		rooms, text, _ := strings.Cut(arg, " ")
		if rooms == "" || strings.TrimSpace(text) == "" {
			se.errorf("usage: /to ROOM1,ROOM2 TEXT")
			return nil
		}
		return se.chat(ctx, rooms, text, 0)
	case "/all":
		if arg == "" {
			se.errorf("usage: /all TEXT")
			return nil
		}
		return se.chat(ctx, "*", arg, 0)
	case "/latency":
		switch arg {
		case "on", "off":
			return se.handle(ctx, transport.Message{Event: "latency", Data: []byte(arg)})
		}
		se.errorf("usage: /latency on|off")
		return nil
	case "/help":
		se.reply("help", "", helpText)
		return nil
	case "/quit":
		return errQuit
	default:
		se.errorf("unknown command %q: type /help for the list", clip(cmd))
		return nil
	}
}

// chat sends text to rooms: "" is the current room, "*" everyone, and a
// comma-separated list the union of those rooms. Everyone in them gets it
// except the sender. seq is the sender's number for the message (0: none;
// the hub numbers it).
func (se *session) chat(ctx context.Context, rooms, text string, seq uint64) error {
	if rooms == "" {
		rooms = se.room
	}
	if rooms == "" {
		se.errorf("you are in no room: /join ROOM first")
		return nil
	}
	if rooms == "*" {
		return se.emit(ctx, nil, "*", text, seq)
	}
	list := strings.Split(rooms, ",")
	for _, r := range list {
		if err := CheckRoom(r); err != nil {
			return se.softError(err)
		}
	}
	return se.emit(ctx, list, rooms, text, seq)
}

func (se *session) emit(ctx context.Context, rooms []string, label, text string, seq uint64) error {
	if len(text) > MaxText {
		se.errorf("message too long: %d bytes, at most %d", len(text), MaxText)
		return nil
	}
	msg := transport.Message{Seq: seq, Event: "chat", Room: label, Data: []byte(se.nick + ": " + text)}
	return se.hub.Emit(ctx, Target{Rooms: rooms, Except: []string{se.s.id}}, msg)
}

func (se *session) join(ctx context.Context, room string) error {
	if err := se.hub.Join(ctx, se.s, room); err != nil {
		return se.softError(err)
	}
	se.room = room
	if room == DefaultRoom { // the hub does not announce lobby comings and goings
		se.reply("join", room, "you joined "+room)
	}
	return nil
}

func (se *session) leave(ctx context.Context, room string) error {
	if room == "" {
		room = se.room
	}
	if err := se.hub.Leave(ctx, se.s, room); err != nil {
		return se.softError(err)
	}
	se.reply("leave", room, "you left "+room)
	if room == se.room {
		se.room = ""
		if rs, err := se.hub.RoomsOf(ctx, se.s); err == nil {
			for _, r := range rs {
				if r != se.s.id {
					se.room = r
				}
			}
		}
		if se.room == "" {
			se.reply("info", "", "you are in no room now: /join ROOM to talk")
		} else {
			se.reply("info", se.room, "current room is now "+se.room)
		}
	}
	return nil
}

func (se *session) rename(ctx context.Context, name string) error {
	if err := se.hub.Rename(ctx, se.s, name); err != nil {
		return se.softError(err)
	}
	se.nick = name
	se.reply("nick", "", "you are now known as "+name)
	return nil
}

func (se *session) rooms(ctx context.Context) error {
	parts, err := se.hub.RoomsReply(ctx) // split to fit any door
	if err != nil {
		return err
	}
	for _, p := range parts {
		se.reply("rooms", "", p)
	}
	return nil
}

func (se *session) who(ctx context.Context, room string) error {
	if room == "" {
		room = se.room
	}
	if room == "" {
		se.errorf("usage: /who ROOM")
		return nil
	}
	parts, err := se.hub.WhoReply(ctx, room) // split to fit any door
	if err != nil {
		return err
	}
	for _, p := range parts {
		se.reply("who", room, p)
	}
	return nil
}

// softError reports a hub refusal to the client and goes on; it passes on
// errors that end the session (the socket was removed, the hub stopped).
func (se *session) softError(err error) error {
	select {
	case <-se.s.done:
		return err
	default:
	}
	if errors.Is(err, ErrHubClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	se.errorf("%v", strings.TrimPrefix(err.Error(), "chat: "))
	return nil
}
