package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
)

// replayDoor is the door name of the replay buffers' sockets.
const replayDoor = "internal"

// replayWindow is how many chat messages a replay buffer keeps per room.
const replayWindow = 1000

// The replay events. A client asks with {"event":"replay","room":ROOM,
// "seq":N}; the buffer answers with the messages ROOM had after message N,
// each as {"event":"replay","room":ROOM,"seq":...,"text":...}, then
// {"event":"replayed","room":ROOM,"text":"kept"} or "gone" when N was no
// longer (or never) in the buffer and it sent the whole window: older
// messages may be lost.
const (
	replayEvent   = "replay"
	replayedEvent = "replayed"
	replayKept    = "kept"
	replayGone    = "gone"
)

// A replayer is the missed-events replay strategy (netlab docs
// missed-events) applied to a chat cluster: a member of every room on one
// server that keeps the last replayWindow messages of each room, by their
// Seq. Because every server gets every broadcast through the adapter, the
// replayer on any server can serve a client that was on another one. The
// hub hands it the clients' "replay" events (chat.Config.Events).
//
// There is no cluster-wide order with pub/sub: each server sees broadcasts
// from different servers interleaved in its own order. A message the old
// server had before N but the new one has after N is sent again (the client
// drops the copy by its Seq, as it drops its own messages); one the new
// server has before N but the client never got is not replayed, and stays
// lost. Socket.IO's connection state recovery has the same limit with its
// pub/sub Redis adapter and needs a log with one order (its Redis Streams
// adapter) to be exact.
type replayer struct {
	mu    sync.Mutex
	ctx   context.Context // the server's
	wg    *sync.WaitGroup // waits for the replayer's goroutines
	hub   *chat.Hub       // nil until start
	sock  *chat.Socket    // its member of the rooms
	rooms map[string][]replayEntry
}

type replayEntry struct {
	seq  uint64
	data []byte // "alice: the text", as the hub relayed it
}

// start connects the replayer to h, joins it to rooms and keeps what they
// get until ctx is done.
func (p *replayer) start(ctx context.Context, h *chat.Hub, rooms []string, wg *sync.WaitGroup) error {
	s, err := h.Connect(ctx, "replay", replayDoor)
	if err != nil {
		return fmt.Errorf("cluster demo: replay buffer: %w", err)
	}
	for _, r := range rooms {
		if err := h.Join(ctx, s, r); err != nil {
			return fmt.Errorf("cluster demo: replay buffer: %w", err)
		}
	}
	p.mu.Lock()
	p.ctx, p.wg, p.hub, p.sock, p.rooms = ctx, wg, h, s, map[string][]replayEntry{}
	p.mu.Unlock()
	wg.Add(1)
	go p.run(ctx, wg)
	return nil
}

func (p *replayer) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case m := <-p.sock.Messages():
			if m.Event != "chat" {
				continue
			}
			p.mu.Lock()
			for _, room := range strings.Split(m.Room, ",") {
				buf := append(p.rooms[room], replayEntry{seq: m.Seq, data: m.Data})
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

// ask takes a client's "replay" event (on the client's reader goroutine)
// and answers it on a goroutine of its own, so the client's connection keeps
// taking the answers while they are sent.
func (p *replayer) ask(_ context.Context, from *chat.Socket, m transport.Message) {
	p.mu.Lock()
	ctx, wg := p.ctx, p.wg
	p.mu.Unlock()
	if wg == nil || ctx.Err() != nil {
		return // not started, or the server is stopping
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.replay(ctx, from.ID(), m.Room, m.Seq)
	}()
}

// replay sends client (to its own id room) what room had after message
// after.
func (p *replayer) replay(ctx context.Context, client, room string, after uint64) {
	p.mu.Lock()
	hub := p.hub
	buf := p.rooms[room]
	start, found := 0, false
	for i, e := range buf {
		if e.seq == after {
			start, found = i+1, true
		}
	}
	send := append([]replayEntry(nil), buf[start:]...)
	p.mu.Unlock()
	to := chat.Target{Rooms: []string{client}}
	for _, e := range send {
		if err := hub.Emit(ctx, to, transport.Message{Seq: e.seq, Event: replayEvent, Room: room, Data: e.data}); err != nil {
			return
		}
	}
	status := replayKept
	if !found {
		status = replayGone
	}
	_ = hub.Emit(ctx, to, transport.Message{Event: replayedEvent, Room: room, Data: []byte(status)})
}
