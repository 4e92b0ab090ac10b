package cluster

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
)

// replayDoor is the door name of the replay buffers' sockets.
const replayDoor = "internal"

// replayWindow is how many chat messages a replay buffer keeps per room.
const replayWindow = 1000

// A replayer is the missed-events replay strategy (netlab docs
// missed-events) applied to a chat cluster: a member of every room on one
// server that keeps the last replayWindow messages of each room. Because
// every server gets every broadcast through the adapter, the replayer on any
// server can serve a client that was on another one.
//
// A client that reconnects asks it, through the hub like any chat message
// (/msg REPLAYER-ID replay MY-ID ROOM after N), for what came after the last
// message N it got in ROOM; the replayer sends those to the client's own id
// room, marked "replay:ROOM", then "replayed ROOM K gone|kept". When N is no
// longer (or was never) in its buffer it sends the whole window and says
// "gone": older messages may be lost.
//
// There is no cluster-wide order with pub/sub: each server sees broadcasts
// from different servers interleaved in its own order. A message the old
// server had before N but the new one has after N is sent again (the client
// drops the copy by its number); one the new server has before N but the
// client never got is not replayed, and stays lost. Socket.IO's connection
// state recovery has the same limit with its pub/sub Redis adapter and needs
// a log with one order (its Redis Streams adapter) to be exact.
type replayer struct {
	hub  *chat.Hub
	sock *chat.Socket

	mu    sync.Mutex
	rooms map[string][]replayEntry
}

type replayEntry struct {
	tok  int
	data []byte // "alice: m17 text"
}

var (
	tokInData   = regexp.MustCompile(`^[^:]+: m(\d+) `)
	replayAsk   = regexp.MustCompile(`^([^:]+): replay (\S+) (\S+) after (\d+)$`)
	replayedMsg = regexp.MustCompile(`^replayed (\S+) (\d+) (gone|kept)$`)
)

// startReplayer connects a replayer to h and joins it to rooms.
func startReplayer(ctx context.Context, h *chat.Hub, rooms []string, wg *sync.WaitGroup) (*replayer, error) {
	s, err := h.Connect(ctx, "replay", replayDoor)
	if err != nil {
		return nil, fmt.Errorf("cluster demo: replay buffer: %w", err)
	}
	for _, r := range rooms {
		if err := h.Join(ctx, s, r); err != nil {
			return nil, fmt.Errorf("cluster demo: replay buffer: %w", err)
		}
	}
	p := &replayer{hub: h, sock: s, rooms: map[string][]replayEntry{}}
	wg.Add(1)
	go p.run(ctx, wg)
	return p, nil
}

func (p *replayer) id() string { return p.sock.ID() }

func (p *replayer) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case m := <-p.sock.Messages():
			if m.Event != "chat" {
				continue
			}
			if sm := replayAsk.FindSubmatch(m.Data); sm != nil && m.Room == p.sock.ID() {
				after, _ := strconv.Atoi(string(sm[4]))
				p.replay(ctx, string(sm[1]), string(sm[2]), string(sm[3]), after)
				continue
			}
			sm := tokInData.FindSubmatch(m.Data)
			if sm == nil {
				continue
			}
			tok, _ := strconv.Atoi(string(sm[1]))
			p.mu.Lock()
			for _, room := range strings.Split(m.Room, ",") {
				buf := append(p.rooms[room], replayEntry{tok: tok, data: m.Data})
				if len(buf) > replayWindow {
					buf = buf[len(buf)-replayWindow:]
				}
				p.rooms[room] = buf
			}
			p.mu.Unlock()
		case <-p.sock.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// replay sends client (named nick) what room had after message number
// after, but for the client's own messages: a broadcast never goes back to
// its sender.
func (p *replayer) replay(ctx context.Context, nick, client, room string, after int) {
	p.mu.Lock()
	buf := p.rooms[room]
	from, found := 0, false
	for i, e := range buf {
		if e.tok == after {
			from, found = i+1, true
		}
	}
	var send []replayEntry
	for _, e := range buf[from:] {
		if !strings.HasPrefix(string(e.data), nick+": ") {
			send = append(send, e)
		}
	}
	p.mu.Unlock()
	to := chat.Target{Rooms: []string{client}}
	for _, e := range send {
		if err := p.hub.Emit(ctx, to, transport.Message{Event: "chat", Room: "replay:" + room, Data: e.data}); err != nil {
			return
		}
	}
	status := "kept"
	if !found {
		status = "gone"
	}
	_ = p.hub.Emit(ctx, to, transport.Message{Event: "replayed", Data: fmt.Appendf(nil, "replayed %s %d %s", room, len(send), status)})
}
