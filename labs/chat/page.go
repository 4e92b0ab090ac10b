package chat

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/transport"
)

// The page protocol: events a client that wants delivery receipts and
// catch-up after a reconnect (the chat page) sends, besides the ones every
// client may send. Plain clients (nc, wscat) never see any of this.
//
//	{"event":"send","seq":CID,"room":"math","text":"hi"}
//	    a chat message to room ("" = current, "*" = everyone, "a,b" = union)
//	    under the client's own message id CID (a random number); the server
//	    answers {"event":"ack","seq":CID,"text":"{\"hub_seq\":N}"} once the
//	    hub has delivered it to the send queues of its audience. A CID seen
//	    before is acked again and not delivered twice, so a client may resend
//	    whatever was not acked (after a reconnect) without duplicates.
//	{"event":"cmd","seq":CID,"text":"/join math"}
//	    a slash command, acked the same way; the ack carries the state.
//	{"event":"state"}
//	    answered with {"event":"state","text":STATE}: STATE is JSON
//	    {"server","id","name","room","rooms","hub_seq"}.
//	{"event":"members","room":"math"}
//	    answered with {"event":"members","room":"math","text":"[{\"id\",\"name\",\"door\"},...]"}.
//	{"event":"resume","seq":N,"text":SERVER}
//	    replays the chat messages of the client's rooms numbered after N
//	    that this hub still keeps (the last historyLen of each room); when
//	    SERVER is not this hub's id (the server was restarted, or this is
//	    another one), everything it keeps for those rooms. Then
//	    {"event":"resumed","text":"{\"server\",\"replayed\",\"restarted\",\"dropped\"}"}.

// History kept for catch-up, per room, and how many rooms keep one.
const (
	historyLen   = 200
	historyRooms = 1024
	// maxReplay is the most messages one resume replays: the rest would
	// overflow the client's send queue.
	maxReplay = 100
	// seenLen is how many client message ids the hub remembers for
	// duplicate detection.
	seenLen = 8192
)

// pageState is the hub's memory for the page protocol. The hub's run
// goroutine owns it.
type pageState struct {
	history map[string][]transport.Message // room -> last chat messages, oldest first
	seen    map[uint64]uint64              // client message id -> hub seq
	order   []uint64                       // seen, oldest first
}

// remember keeps a chat broadcast in the history of each of its rooms ("*"
// for everyone). Run goroutine only.
func (p *pageState) remember(b adapter.Broadcast) {
	if b.Msg.Event != "chat" {
		return
	}
	if p.history == nil {
		p.history = map[string][]transport.Message{}
	}
	rooms := b.Rooms
	if len(rooms) == 0 {
		rooms = []string{"*"}
	}
	for _, r := range rooms {
		h, ok := p.history[r]
		if !ok && len(p.history) >= historyRooms {
			for k := range p.history { // forget one room's history (any)
				delete(p.history, k)
				break
			}
		}
		if len(h) >= historyLen {
			h = append(h[:0:0], h[len(h)-historyLen+1:]...)
		}
		p.history[r] = append(h, b.Msg)
	}
}

// sawID records that client message id cid became hub message seq.
func (p *pageState) sawID(cid, seq uint64) {
	if p.seen == nil {
		p.seen = map[uint64]uint64{}
	}
	if len(p.order) >= seenLen {
		delete(p.seen, p.order[0])
		p.order = p.order[1:]
	}
	p.seen[cid] = seq
	p.order = append(p.order, cid)
}

// emitOnce broadcasts m to t unless client message id cid was broadcast
// before; it returns the hub's number for the message and whether it was a
// duplicate. When it returns without error the message is on the send
// queues of its audience (or its audience is being disconnected as slow).
func (h *Hub) emitOnce(ctx context.Context, cid uint64, t Target, m transport.Message) (seq uint64, dup bool, err error) {
	err = h.call(ctx, func() {
		if s, ok := h.page.seen[cid]; ok {
			seq, dup = s, true
			return
		}
		h.seq++
		seq = h.seq
		m.Seq = seq
		m.Sent = time.Now()
		h.deliver(adapter.Broadcast{Rooms: t.Rooms, Except: t.Except, Msg: m}, true)
		h.page.sawID(cid, seq)
	})
	return seq, dup, err
}

// ackedBefore reports the hub seq of client message id cid, if it was acked.
func (h *Hub) ackedBefore(ctx context.Context, cid uint64) (seq uint64, ok bool, err error) {
	err = h.call(ctx, func() { seq, ok = h.page.seen[cid] })
	return
}

// markSeen records a command's id as done (commands get no hub seq).
func (h *Hub) markSeen(ctx context.Context, cid uint64) error {
	return h.call(ctx, func() { h.page.sawID(cid, 0) })
}

// replay returns the kept chat messages of rooms numbered after after
// (every kept one when all), oldest first, at most maxReplay (the newest);
// dropped counts those left out.
func (h *Hub) replay(ctx context.Context, rooms []string, after uint64, all bool) (out []transport.Message, dropped int, err error) {
	err = h.call(ctx, func() {
		seen := map[uint64]bool{}
		for _, r := range append(rooms, "*") {
			for _, m := range h.page.history[r] {
				if (all || m.Seq > after) && !seen[m.Seq] {
					seen[m.Seq] = true
					out = append(out, m)
				}
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if len(out) > maxReplay {
		dropped = len(out) - maxReplay
		out = out[dropped:]
	}
	return out, dropped, err
}

// hubSeq returns the number of the hub's latest message.
func (h *Hub) hubSeq(ctx context.Context) (seq uint64, err error) {
	err = h.call(ctx, func() { seq = h.seq })
	return
}

// pageEvent handles the page protocol's events; handled is false for any
// other message.
func (se *session) pageEvent(ctx context.Context, m transport.Message) (handled bool, err error) {
	switch m.Event {
	case "send":
		return true, se.pageSend(ctx, m)
	case "cmd":
		return true, se.pageCmd(ctx, m)
	case "state":
		return true, se.pageState(ctx, "state", 0)
	case "members":
		return true, se.pageMembers(ctx, m.Room)
	case "resume":
		return true, se.pageResume(ctx, m.Seq, string(m.Data))
	}
	return false, nil
}

func (se *session) replyJSON(event, room string, seq uint64, v any) {
	b, _ := json.Marshal(v)
	se.s.notify(&transport.Message{Event: event, Room: room, Seq: seq, Sent: time.Now(), Data: b})
}

func (se *session) pageSend(ctx context.Context, m transport.Message) error {
	text := string(m.Data)
	if m.Seq == 0 {
		se.errorf("send: seq (your message id) is missing")
		return nil
	}
	if strings.TrimSpace(text) == "" {
		se.errorf("send: empty message")
		return nil
	}
	if len(text) > MaxText {
		se.errorf("message too long: %d bytes, at most %d", len(text), MaxText)
		return nil
	}
	label := m.Room
	if label == "" {
		label = se.room
	}
	if label == "" {
		se.errorf("you are in no room: /join ROOM first")
		return nil
	}
	var rooms []string
	if label != "*" {
		rooms = strings.Split(label, ",")
		for _, r := range rooms {
			if err := CheckRoom(r); err != nil {
				return se.softError(err)
			}
		}
	}
	msg := transport.Message{Event: "chat", Room: label, Data: []byte(se.nick + ": " + text)}
	seq, dup, err := se.hub.emitOnce(ctx, m.Seq, Target{Rooms: rooms, Except: []string{se.s.id}}, msg)
	if err != nil {
		return err
	}
	se.replyJSON("ack", label, m.Seq, map[string]any{"hub_seq": seq, "dup": dup})
	return nil
}

func (se *session) pageCmd(ctx context.Context, m transport.Message) error {
	text := strings.TrimSpace(string(m.Data))
	if m.Seq != 0 {
		if _, ok, err := se.hub.ackedBefore(ctx, m.Seq); err != nil {
			return err
		} else if ok {
			return se.pageState(ctx, "ack", m.Seq)
		}
	}
	if !strings.HasPrefix(text, "/") {
		se.errorf("cmd: %q is not a command (commands start with /)", clip(text))
	} else if err := se.command(ctx, text); err != nil {
		return err
	}
	if m.Seq != 0 {
		if err := se.hub.markSeen(ctx, m.Seq); err != nil {
			return err
		}
	}
	return se.pageState(ctx, "ack", m.Seq)
}

// pageStateJSON is the client's state as the page protocol reports it.
type pageStateJSON struct {
	Server string   `json:"server"`
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Room   string   `json:"room"`
	Rooms  []string `json:"rooms"`
	HubSeq uint64   `json:"hub_seq"`
}

func (se *session) pageState(ctx context.Context, event string, seq uint64) error {
	rs, err := se.hub.RoomsOf(ctx, se.s)
	if err != nil {
		return se.softError(err)
	}
	st := pageStateJSON{Server: se.hub.id, ID: se.s.id, Name: se.nick, Room: se.room, Rooms: []string{}}
	for _, r := range rs {
		if r != se.s.id {
			st.Rooms = append(st.Rooms, r)
		}
	}
	if st.HubSeq, err = se.hub.hubSeq(ctx); err != nil {
		return err
	}
	se.replyJSON(event, "", seq, st)
	return nil
}

type memberJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Door string `json:"door"`
}

func (se *session) pageMembers(ctx context.Context, room string) error {
	if err := CheckRoom(room); err != nil {
		return se.softError(err)
	}
	ms, err := se.hub.Members(ctx, room)
	if err != nil {
		return se.softError(err)
	}
	out := []memberJSON{}
	size := 0
	for _, m := range ms {
		if size += len(m.ID) + len(m.Name) + len(m.Door) + 32; size > MaxReply {
			break // a reply must fit every door's message limit (see MaxReply)
		}
		out = append(out, memberJSON{m.ID, m.Name, m.Door})
	}
	se.replyJSON("members", room, 0, out)
	return nil
}

func (se *session) pageResume(ctx context.Context, after uint64, server string) error {
	rs, err := se.hub.RoomsOf(ctx, se.s)
	if err != nil {
		return se.softError(err)
	}
	restarted := server != "" && server != se.hub.id
	msgs, dropped, err := se.hub.replay(ctx, rs, after, restarted || server == "")
	if err != nil {
		return err
	}
	n := 0
	for i := range msgs {
		if se.s.notify(&msgs[i]) {
			n++
		}
	}
	se.replyJSON("resumed", "", 0, map[string]any{"server": se.hub.id, "replayed": n, "restarted": restarted,
		"dropped": dropped + len(msgs) - n})
	return nil
}
