package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/transport"
)

// Errors a socket can be disconnected with; Socket.Err returns them.
var (
	// ErrSlowConsumer: the socket's send queue was full when a message
	// arrived for it.
	ErrSlowConsumer = errors.New("chat: slow consumer: send queue full, disconnected so others are not held up")
	// ErrShutdown: the server is stopping.
	ErrShutdown = errors.New("chat: server shutting down")
	// ErrHubClosed is returned by Hub methods after Run has returned.
	ErrHubClosed = errors.New("chat: hub closed")
)

// DefaultSendQueue is the default length of each socket's send queue.
const DefaultSendQueue = 256

// DefaultMaxNoticeRoom is the default Config.MaxNoticeRoom.
const DefaultMaxNoticeRoom = 100

// Config configures a Hub. The zero value is usable.
type Config struct {
	// ServerID names this server to the adapter; random when empty.
	ServerID string
	// Adapter carries broadcasts to other servers; adapter.Local when nil.
	Adapter adapter.Adapter
	// SendQueue is each socket's send queue length (DefaultSendQueue when 0).
	SendQueue int
	// MaxNoticeRoom is the largest room told when someone joins or leaves
	// (DefaultMaxNoticeRoom when 0; negative means no limit): in a room of
	// 10,000 a join notice per member would be 10,000² messages.
	MaxNoticeRoom int
	// Disconnecting is called on the hub's goroutine when a socket is about
	// to leave, while it is still in its rooms (rooms includes its own id
	// room), with the reason it leaves. It must not call the hub.
	Disconnecting func(m Member, rooms []string, reason error)
	// Log, when set, hears each socket connect, join and leave a room
	// (not its own id room), on the hub's goroutine, for a server's log.
	// It must not call the hub.
	Log func(event string, m Member, room string)
	// Events handles client events the chat does not know itself (the
	// cluster lab's "replay"), in the manner of Socket.IO's socket.on: a
	// session calls Events[m.Event] with the client's socket and the message
	// instead of answering "unknown event". It runs on the client's reader
	// goroutine; it may call the hub.
	Events map[string]func(ctx context.Context, from *Socket, m transport.Message)
}

// A Member is one socket as listings show it.
type Member struct {
	ID   string // the socket id, also the name of its own room
	Name string // nickname
	Door string // how it is connected: "ws", "poll", "tcp", ...
}

// A Room is a room name and how many sockets are in it (on this server).
type Room struct {
	Name    string
	Members int
}

// A Target says who gets a broadcast.
type Target struct {
	Rooms  []string // union of these rooms; empty means every socket
	Except []string // rooms (socket ids are rooms) whose members are left out
}

// A Socket is one client connection as the hub sees it. Its methods are safe
// for use by multiple goroutines.
type Socket struct {
	id   string
	door string
	send chan *transport.Message
	done chan struct{}
	err  error // set before done is closed

	// wake, when set, is called after a message is queued or the socket is
	// removed: it interrupts the door's Recv so the door writes (see
	// serveConn). Guarded by wakeMu.
	wakeMu sync.Mutex
	wake   func()

	// owned by the hub's run goroutine
	name  string
	rooms map[string]bool
}

// setWake installs (or, with nil, removes) the wake-up function.
func (s *Socket) setWake(f func()) {
	s.wakeMu.Lock()
	s.wake = f
	s.wakeMu.Unlock()
}

// wakeUp calls the wake-up function, if any.
func (s *Socket) wakeUp() {
	s.wakeMu.Lock()
	f := s.wake
	s.wakeMu.Unlock()
	if f != nil {
		f()
	}
}

// ID returns the socket's id (its own room).
func (s *Socket) ID() string { return s.id }

// Messages returns the socket's send queue: messages the hub delivers to it.
func (s *Socket) Messages() <-chan *transport.Message { return s.send }

// Done is closed when the hub has removed the socket.
func (s *Socket) Done() <-chan struct{} { return s.done }

// Err returns why the socket was removed, after Done is closed.
func (s *Socket) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// notify puts a reply for this socket alone on its send queue without
// blocking; it reports whether there was room.
func (s *Socket) notify(m *transport.Message) bool {
	select {
	case s.send <- m:
		return true
	default:
		return false
	}
}

// Stats are the hub's counters.
type Stats struct {
	Sockets   int64 // connected now
	Delivered int64 // messages put on send queues
	Kicked    int64 // sockets disconnected as slow consumers
	Published int64 // broadcasts handed to the adapter
	// Unpublished counts local broadcasts other servers did not get: the
	// adapter was behind (full outbox), refused them, or the hub stopped.
	Unpublished int64
	Remote      int64 // broadcasts received from other servers
}

// A Hub owns the sockets and rooms of one server. Start it with Run; its
// methods may be called from any goroutine.
type Hub struct {
	id        string
	ad        adapter.Adapter
	queueLen  int
	onLeaving func(Member, []string, error)
	onEvent   func(string, Member, string)
	maxNotice int

	register   chan *Socket
	unregister chan leaveReq
	membership chan memberReq
	broadcast  chan adapter.Broadcast
	remote     chan adapter.Broadcast
	query      chan func()
	outbox     chan adapter.Broadcast
	started    chan struct{}
	done       chan struct{}
	startOnce  sync.Once

	// owned by the run goroutine
	sockets map[string]*Socket
	rooms   map[string]map[string]*Socket
	seq     uint64
	pending []*Socket // to remove after the current delivery

	events map[string]func(ctx context.Context, from *Socket, m transport.Message)

	sockets64, delivered, kicked, published, remoteN atomic.Int64
	// unpublished counts local broadcasts other servers will not get: the
	// outbox was full, the adapter refused them, or the hub stopped first.
	unpublished atomic.Int64
	// page is the page protocol's history and receipts (page.go); owned
	// by the run goroutine.
	page pageState
	// stopping is closed when Run starts shutting down, so an adapter
	// handler waiting to hand a broadcast in gives up (the adapter's Close
	// may wait for its handlers).
	stopping chan struct{}
}

type leaveReq struct {
	s      *Socket
	reason error
}

type memberReq struct {
	s     *Socket
	op    string // "join", "leave", "nick"
	arg   string
	reply chan error
}

// NewHub returns a hub; call Run to start it.
func NewHub(cfg Config) *Hub {
	h := &Hub{
		id:         cfg.ServerID,
		ad:         cfg.Adapter,
		queueLen:   cfg.SendQueue,
		onLeaving:  cfg.Disconnecting,
		onEvent:    cfg.Log,
		events:     cfg.Events,
		maxNotice:  cfg.MaxNoticeRoom,
		register:   make(chan *Socket),
		unregister: make(chan leaveReq),
		membership: make(chan memberReq),
		broadcast:  make(chan adapter.Broadcast),
		remote:     make(chan adapter.Broadcast),
		query:      make(chan func()),
		outbox:     make(chan adapter.Broadcast, 1024),
		started:    make(chan struct{}),
		done:       make(chan struct{}),
		sockets:    map[string]*Socket{},
		rooms:      map[string]map[string]*Socket{},
		stopping:   make(chan struct{}),
	}
	if h.id == "" {
		h.id = newID()
	}
	if h.ad == nil {
		h.ad = &adapter.Local{}
	}
	if h.maxNotice == 0 {
		h.maxNotice = DefaultMaxNoticeRoom
	}
	if h.queueLen <= 0 {
		h.queueLen = DefaultSendQueue
	}
	return h
}

// publish hands b to the adapter, counting the outcome.
func (h *Hub) publish(ctx context.Context, b adapter.Broadcast) {
	if err := h.ad.Publish(ctx, b); err != nil {
		h.unpublished.Add(1)
		return
	}
	h.published.Add(1)
}

// ServerID returns the id this hub publishes under.
func (h *Hub) ServerID() string { return h.id }

// Stats returns the hub's counters. It is safe to call at any time.
func (h *Hub) Stats() Stats {
	return Stats{Sockets: h.sockets64.Load(), Delivered: h.delivered.Load(), Kicked: h.kicked.Load(),
		Published: h.published.Load(), Unpublished: h.unpublished.Load(), Remote: h.remoteN.Load()}
}

// Run owns the hub's state until ctx is done; then it disconnects every
// socket with ErrShutdown, closes the adapter and returns ctx.Err(). Call it
// once.
func (h *Hub) Run(ctx context.Context) error {
	defer close(h.done)
	var wg sync.WaitGroup
	pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(1)
	go func() { // publisher: adapter calls may block on the network; never on the run goroutine
		defer wg.Done()
		for {
			select {
			case b := <-h.outbox:
				h.publish(pubCtx, b)
			case <-pubCtx.Done():
				// Hand on what is still waiting, for at most a second,
				// so a server stopping does not silently eat broadcasts.
				flush, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				for {
					select {
					case b := <-h.outbox:
						h.publish(flush, b)
					default:
						return
					}
				}
			}
		}
	}()
	defer func() {
		close(h.stopping) // first: a handler blocked on h.remote lets go
		stopPub()
		wg.Wait()
		_ = h.ad.Close()
	}()
	err := h.ad.Subscribe(func(b adapter.Broadcast) {
		if b.Origin == h.id {
			return
		}
		select {
		case h.remote <- b:
		case <-h.stopping:
		}
	})
	if err != nil {
		return fmt.Errorf("chat: subscribe: %w", err)
	}
	for {
		select {
		case s := <-h.register:
			h.sockets[s.id] = s
			h.sockets64.Add(1)
			h.join(s, s.id)
			h.event("connect", s, "")
		case r := <-h.unregister:
			h.remove(r.s, r.reason)
		case r := <-h.membership:
			r.reply <- h.changeMembership(r)
		case b := <-h.broadcast:
			h.seq++
			if b.Msg.Seq == 0 { // a sender's own number is kept
				b.Msg.Seq = h.seq
			}
			b.Msg.Sent = time.Now()
			h.deliver(b, true)
		case b := <-h.remote:
			h.remoteN.Add(1)
			h.deliver(b, false)
		case f := <-h.query:
			f()
		case <-ctx.Done():
			for _, s := range h.sockets {
				h.remove(s, ErrShutdown)
			}
			return ctx.Err()
		}
		h.flushPending()
	}
}

// call runs f on the hub's goroutine and waits for it.
func (h *Hub) call(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case h.query <- func() { f(); close(ran) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrHubClosed
	}
	<-ran
	return nil
}

// Connect registers a new socket with a fresh random id, named name, for a
// client that came in through door. The socket is in its own id room.
func (h *Hub) Connect(ctx context.Context, name, door string) (*Socket, error) {
	s := &Socket{id: newID(), door: door, name: name,
		send: make(chan *transport.Message, h.queueLen), done: make(chan struct{}), rooms: map[string]bool{}}
	select {
	case h.register <- s:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-h.done:
		return nil, ErrHubClosed
	}
}

// Disconnect removes s from the hub (leaving every room) with reason. It
// does nothing if s is already gone.
func (h *Hub) Disconnect(s *Socket, reason error) {
	select {
	case h.unregister <- leaveReq{s, reason}:
	case <-s.done:
	case <-h.done:
	}
}

func (h *Hub) member(ctx context.Context, s *Socket, op, arg string) error {
	r := memberReq{s: s, op: op, arg: arg, reply: make(chan error, 1)}
	select {
	case h.membership <- r:
		return <-r.reply
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrHubClosed
	}
}

// Join puts s in room and tells the room (s included) that it joined.
func (h *Hub) Join(ctx context.Context, s *Socket, room string) error {
	return h.member(ctx, s, "join", room)
}

// Leave takes s out of room and tells the room (s included) that it left.
func (h *Hub) Leave(ctx context.Context, s *Socket, room string) error {
	return h.member(ctx, s, "leave", room)
}

// Rename sets the nickname of s and tells its rooms.
func (h *Hub) Rename(ctx context.Context, s *Socket, name string) error {
	return h.member(ctx, s, "nick", name)
}

// Emit broadcasts m to the target on this server and, through the adapter,
// on the others. The hub sets m.Seq (its message number) unless the sender
// numbered m itself (a chat client's Seq travels with its message, so its
// receivers can tell its messages apart), and m.Sent (when it
// took the message, on the server's clock).
func (h *Hub) Emit(ctx context.Context, t Target, m transport.Message) error {
	b := adapter.Broadcast{Origin: h.id, Rooms: t.Rooms, Except: t.Except, Msg: m}
	select {
	case h.broadcast <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrHubClosed
	}
}

// Rooms lists the rooms on this server with their member counts, by name.
// Each socket's own id room is left out unless withIDRooms.
func (h *Hub) Rooms(ctx context.Context, withIDRooms bool) ([]Room, error) {
	var out []Room
	err := h.call(ctx, func() {
		for name, m := range h.rooms {
			if _, isID := h.sockets[name]; isID && !withIDRooms {
				continue
			}
			out = append(out, Room{name, len(m)})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Members lists the sockets in room on this server, by name then id.
func (h *Hub) Members(ctx context.Context, room string) ([]Member, error) {
	var out []Member
	err := h.call(ctx, func() {
		for _, s := range h.rooms[room] {
			out = append(out, Member{s.id, s.name, s.door})
		}
	})
	sortMembers(out)
	return out, err
}

// Replies the server writes itself are cut to fit every door: a client's
// limit (the WebSocket door's 4 KiB message, say) is for what clients send,
// and a listing of 200 rooms or a lobby of 150 must not disconnect the one
// who asked for it.
const (
	// MaxReply is the most bytes of text in one reply message.
	MaxReply = 2000
	// MaxReplyParts is the most messages one listing is split into; what
	// is left over is counted, not shown.
	MaxReplyParts = 8
)

// packReply packs items into chunks whose joined text (with sep between
// items) stays under MaxReply less room for a part header and a trailer, at
// most MaxReplyParts of them; it returns how many items did not fit. An
// item longer than half of MaxReply is clipped.
func packReply(items []string, sep string) (chunks [][]string, left int) {
	const budget = MaxReply - 100
	var cur []string
	size := 0
	for i, it := range items {
		if len(it) > MaxReply/2 {
			it = it[:MaxReply/2]
		}
		if len(cur) > 0 && size+len(sep)+len(it) > budget {
			if len(chunks) == MaxReplyParts-1 {
				return append(chunks, cur), len(items) - i
			}
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, it)
		size += len(sep) + len(it)
	}
	return append(chunks, cur), 0
}

// partOf is " (part i of n)", or "" when there is one part.
func partOf(i, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf(" (part %d of %d)", i+1, n)
}

// RoomsReply is the answer to /rooms: the rooms and their member counts,
// in as many messages as it takes (see MaxReply).
func (h *Hub) RoomsReply(ctx context.Context) ([]string, error) {
	all, err := h.Rooms(ctx, true)
	if err != nil {
		return nil, err
	}
	users, err := h.Rooms(ctx, false)
	if err != nil {
		return nil, err
	}
	items := make([]string, len(users))
	for i, r := range users {
		items[i] = fmt.Sprintf("%s (%d)", r.Name, r.Members)
	}
	chunks, left := packReply(items, "  ")
	out := make([]string, len(chunks))
	for i, c := range chunks {
		var b strings.Builder
		if len(chunks) > 1 {
			fmt.Fprintf(&b, "%d rooms%s: ", len(users), partOf(i, len(chunks)))
		}
		for _, it := range c {
			b.WriteString(it + "  ")
		}
		if i == len(chunks)-1 {
			if left > 0 {
				fmt.Fprintf(&b, "... and %d more not shown  ", left)
			}
			fmt.Fprintf(&b, "+ %d own rooms, one per socket", len(all)-len(users))
		}
		out[i] = strings.TrimRight(b.String(), " ")
	}
	return out, nil
}

// WhoReply is the answer to /who ROOM: who is in it, in as many messages
// as it takes (see MaxReply).
func (h *Hub) WhoReply(ctx context.Context, room string) ([]string, error) {
	ms, err := h.Members(ctx, room)
	if err != nil {
		return nil, err
	}
	items := make([]string, len(ms))
	for i, m := range ms {
		items[i] = fmt.Sprintf("\n  %-12s %s via %s", m.Name, m.ID, m.Door)
	}
	chunks, left := packReply(items, "")
	out := make([]string, len(chunks))
	for i, c := range chunks {
		text := fmt.Sprintf("%d in %s%s:", len(ms), room, partOf(i, len(chunks))) + strings.Join(c, "")
		if i == len(chunks)-1 && left > 0 {
			text += fmt.Sprintf("\n  ... and %d more not shown", left)
		}
		out[i] = text
	}
	return out, nil
}

// RoomsOf lists the rooms s is in (its own id room included), sorted.
func (h *Hub) RoomsOf(ctx context.Context, s *Socket) ([]string, error) {
	var out []string
	err := h.call(ctx, func() {
		for r := range s.rooms {
			out = append(out, r)
		}
	})
	sort.Strings(out)
	return out, err
}

func sortMembers(ms []Member) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
}

// --- run goroutine only below ---

func (h *Hub) join(s *Socket, room string) {
	m := h.rooms[room]
	if m == nil {
		m = map[string]*Socket{}
		h.rooms[room] = m
	}
	m[s.id] = s
	s.rooms[room] = true
}

func (h *Hub) leave(s *Socket, room string) {
	delete(s.rooms, room)
	if m := h.rooms[room]; m != nil {
		delete(m, s.id)
		if len(m) == 0 {
			delete(h.rooms, room) // rooms exist only while someone is in them
		}
	}
}

func (h *Hub) changeMembership(r memberReq) error {
	s := r.s
	if h.sockets[s.id] != s {
		return s.err
	}
	switch r.op {
	case "join":
		if err := CheckRoom(r.arg); err != nil {
			return err
		}
		if _, isID := h.sockets[r.arg]; isID {
			return fmt.Errorf("chat: %q is a socket's own room; send to it with /msg", r.arg)
		}
		if s.rooms[r.arg] {
			return fmt.Errorf("chat: already in room %s", r.arg)
		}
		h.join(s, r.arg)
		h.notice(r.arg, "join", s.name+" joined "+r.arg)
		h.event("join", s, r.arg)
	case "leave":
		if r.arg == s.id {
			return fmt.Errorf("chat: a socket cannot leave its own room")
		}
		if !s.rooms[r.arg] {
			return fmt.Errorf("chat: not in room %q", clip(r.arg))
		}
		h.notice(r.arg, "leave", s.name+" left "+r.arg)
		h.leave(s, r.arg)
		h.event("leave", s, r.arg)
	case "nick":
		if err := CheckNick(r.arg); err != nil {
			return err
		}
		old := s.name
		s.name = r.arg
		var rooms []string
		for _, r := range h.userRooms(s) {
			if r != DefaultRoom && (h.maxNotice <= 0 || len(h.rooms[r]) <= h.maxNotice) {
				rooms = append(rooms, r)
			}
		}
		h.emitLocal(adapter.Broadcast{Rooms: rooms, Except: []string{s.id}, Msg: transport.Message{Event: "nick",
			Data: []byte(old + " is now known as " + s.name)}})
	default:
		return fmt.Errorf("chat: unknown membership op %q", r.op)
	}
	return nil
}

// event tells Config.Events, if set.
func (h *Hub) event(what string, s *Socket, room string) {
	if h.onEvent != nil {
		h.onEvent(what, Member{s.id, s.name, s.door}, room)
	}
}

// userRooms returns the rooms s is in, except its own id room, sorted.
func (h *Hub) userRooms(s *Socket) []string {
	var out []string
	for r := range s.rooms {
		if r != s.id {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// notice tells a room something happened in it, unless the room is over
// the notice limit or is the lobby (DefaultRoom).
func (h *Hub) notice(room, event, text string) {
	if room == DefaultRoom {
		return // everyone passes through the lobby on the way to a room: no one wants to hear it
	}
	h.noticeRoom(room, event, text)
}

// noticeRoom tells a room something happened in it, the lobby included,
// unless the room is over the notice limit.
func (h *Hub) noticeRoom(room, event, text string) {
	if h.maxNotice > 0 && len(h.rooms[room]) > h.maxNotice {
		return
	}
	h.emitLocal(adapter.Broadcast{Rooms: []string{room}, Msg: transport.Message{Event: event, Room: room, Data: []byte(text)}})
}

// emitLocal broadcasts from the run goroutine itself.
func (h *Hub) emitLocal(b adapter.Broadcast) {
	if len(b.Rooms) == 0 && b.Msg.Event == "nick" {
		return // a socket in no user room: nobody to tell
	}
	h.seq++
	b.Msg.Seq = h.seq
	b.Msg.Sent = time.Now()
	h.deliver(b, true)
}

// deliver puts b's message on the send queue of every local socket in the
// union of b.Rooms (every socket when empty), once each, except members of
// b.Except. A full queue marks its socket for removal. Local broadcasts are
// also handed to the adapter.
func (h *Hub) deliver(b adapter.Broadcast, local bool) {
	if local {
		h.page.remember(b) // page.go: kept for catch-up after a reconnect
	}
	if local {
		b.Origin = h.id
		select {
		case h.outbox <- b:
		default: // the adapter is behind; other servers miss this one
			h.unpublished.Add(1)
		}
	}
	msg := &b.Msg
	excluded := func(s *Socket) bool {
		for _, e := range b.Except {
			if s.rooms[e] {
				return true
			}
		}
		return false
	}
	send := func(s *Socket) {
		if excluded(s) || slices.Contains(h.pending, s) {
			return
		}
		select {
		case s.send <- msg:
			h.delivered.Add(1)
			s.wakeUp()
		default:
			h.pending = append(h.pending, s)
		}
	}
	if len(b.Rooms) == 0 {
		for _, s := range h.sockets {
			send(s)
		}
		return
	}
	if len(b.Rooms) == 1 {
		for _, s := range h.rooms[b.Rooms[0]] {
			send(s)
		}
		return
	}
	seen := map[string]bool{}
	for _, r := range b.Rooms {
		for id, s := range h.rooms[r] {
			if !seen[id] {
				seen[id] = true
				send(s)
			}
		}
	}
}

// flushPending removes the sockets whose queues overflowed.
func (h *Hub) flushPending() {
	for len(h.pending) > 0 {
		s := h.pending[0]
		h.pending = h.pending[1:]
		h.kicked.Add(1)
		h.remove(s, fmt.Errorf("%w (%d messages queued)", ErrSlowConsumer, cap(s.send)))
	}
}

// remove takes s out of every room, tells those rooms, and closes s.done.
func (h *Hub) remove(s *Socket, reason error) {
	if h.sockets[s.id] != s {
		return
	}
	all := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		all = append(all, r)
	}
	sort.Strings(all)
	if h.onLeaving != nil {
		h.onLeaving(Member{s.id, s.name, s.door}, all, reason)
	}
	user := h.userRooms(s)
	for _, r := range all {
		h.leave(s, r)
	}
	delete(h.sockets, s.id)
	h.sockets64.Add(-1)
	s.err = reason
	close(s.done)
	s.wakeUp()
	if errors.Is(reason, ErrSlowConsumer) {
		// The slow consumer itself never sees why (its queue is full):
		// tell every room it was in, the lobby too, which ordinary
		// comings and goings do not reach. The server log hears it from
		// Disconnecting.
		for _, r := range user {
			h.noticeRoom(r, "leave", fmt.Sprintf("%s was disconnected from %s: too slow to read its messages (%d queued, none read); it did not see this notice",
				s.name, r, cap(s.send)))
		}
		return
	}
	why := "disconnected"
	if reason != nil {
		why = reason.Error()
	}
	for _, r := range user {
		h.notice(r, "leave", fmt.Sprintf("%s left %s (%s)", s.name, r, why))
	}
}
