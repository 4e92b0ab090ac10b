package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startHub runs a hub until the test ends.
func startHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h := NewHub(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func connect(t *testing.T, h *Hub, name string, rooms ...string) *Socket {
	t.Helper()
	s, err := h.Connect(context.Background(), name, "test")
	if err != nil {
		t.Fatalf("connect %s: %v", name, err)
	}
	for _, r := range rooms {
		if err := h.Join(context.Background(), s, r); err != nil {
			t.Fatalf("%s join %s: %v", name, r, err)
		}
	}
	return s
}

// drain returns the texts queued for s within a short wait.
func drain(s *Socket) []string {
	var out []string
	timeout := time.After(100 * time.Millisecond)
	for {
		select {
		case m := <-s.Messages():
			out = append(out, m.Event+":"+string(m.Data))
		case <-timeout:
			return out
		}
	}
}

// chats returns only the chat messages among drained texts.
func chats(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if t, ok := strings.CutPrefix(m, "chat:"); ok {
			out = append(out, t)
		}
	}
	return out
}

func emit(t *testing.T, h *Hub, tg Target, text string) {
	t.Helper()
	if err := h.Emit(context.Background(), tg, transport.Message{Event: "chat", Data: []byte(text)}); err != nil {
		t.Fatalf("emit: %v", err)
	}
}

func TestSocketIDsAreRandomAndEachSitsInItsOwnRoom(t *testing.T) {
	h := startHub(t, Config{})
	seen := map[string]bool{}
	for range 50 {
		s := connect(t, h, "x")
		if len(s.ID()) != 22 || seen[s.ID()] {
			t.Fatalf("id %q: want 22 characters, unique", s.ID())
		}
		seen[s.ID()] = true
		rooms, _ := h.RoomsOf(context.Background(), s)
		if !slices.Equal(rooms, []string{s.ID()}) {
			t.Fatalf("new socket rooms: got %v, want only its own id room", rooms)
		}
		ms, _ := h.Members(context.Background(), s.ID())
		if len(ms) != 1 || ms[0].ID != s.ID() {
			t.Fatalf("members of own room: got %v", ms)
		}
	}
}

func TestJoinLeaveAndListing(t *testing.T) {
	h := startHub(t, Config{})
	ctx := context.Background()
	a := connect(t, h, "alice", "r1", "r2")
	b := connect(t, h, "bob", "r1")
	rs, _ := h.Rooms(ctx, false)
	want := []Room{{"r1", 2}, {"r2", 1}}
	if !slices.Equal(rs, want) {
		t.Fatalf("rooms: got %v, want %v", rs, want)
	}
	all, _ := h.Rooms(ctx, true)
	if len(all) != 4 {
		t.Fatalf("rooms with id rooms: got %d, want 4 (%v)", len(all), all)
	}
	ms, _ := h.Members(ctx, "r1")
	if len(ms) != 2 || ms[0].Name != "alice" || ms[1].Name != "bob" {
		t.Fatalf("members of r1: got %v", ms)
	}
	if err := h.Join(ctx, a, "r1"); err == nil {
		t.Fatalf("joining a room twice: want an error")
	}
	if err := h.Leave(ctx, a, "r2"); err != nil {
		t.Fatalf("leave: %v", err)
	}
	rs, _ = h.Rooms(ctx, false)
	if !slices.Equal(rs, []Room{{"r1", 2}}) {
		t.Fatalf("an empty room must disappear: got %v", rs)
	}
	if err := h.Leave(ctx, b, "r2"); err == nil {
		t.Fatalf("leaving a room one is not in: want an error")
	}
	if err := h.Leave(ctx, b, b.ID()); err == nil {
		t.Fatalf("leaving one's own room: want an error")
	}
}

func TestJoinRefusesBadNamesAndOthersIDRooms(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h, "alice")
	b := connect(t, h, "bob")
	for _, room := range []string{"", "has space", "semi;colon", strings.Repeat("x", 33), "über", "a,b", "*", b.ID()} {
		if err := h.Join(context.Background(), a, room); err == nil {
			t.Errorf("join %q: want an error", room)
		}
	}
}

func TestBroadcastTargets(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h, "alice", "r1", "r2")
	b := connect(t, h, "bob", "r1")
	c := connect(t, h, "carol", "r2")
	d := connect(t, h, "dave", "r3")
	for _, s := range []*Socket{a, b, c, d} {
		drain(s) // join notices
	}
	cases := []struct {
		name string
		t    Target
		want map[*Socket]int
	}{
		{"room", Target{Rooms: []string{"r1"}}, map[*Socket]int{a: 1, b: 1}},
		{"room except sender", Target{Rooms: []string{"r1"}, Except: []string{a.ID()}}, map[*Socket]int{b: 1}},
		{"union once each", Target{Rooms: []string{"r1", "r2"}}, map[*Socket]int{a: 1, b: 1, c: 1}},
		{"union except a room", Target{Rooms: []string{"r1", "r2"}, Except: []string{"r2"}}, map[*Socket]int{b: 1}},
		{"everyone", Target{}, map[*Socket]int{a: 1, b: 1, c: 1, d: 1}},
		{"one socket by its id room", Target{Rooms: []string{c.ID()}}, map[*Socket]int{c: 1}},
		{"nobody in room", Target{Rooms: []string{"empty"}}, map[*Socket]int{}},
	}
	for _, tc := range cases {
		emit(t, h, tc.t, tc.name)
		for s, name := range map[*Socket]string{a: "alice", b: "bob", c: "carol", d: "dave"} {
			got := len(chats(drain(s)))
			if got != tc.want[s] {
				t.Errorf("%s: %s got %d messages, want %d", tc.name, name, got, tc.want[s])
			}
		}
	}
}

func TestEmitStampsSeqAndSent(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h, "alice")
	before := time.Now()
	emit(t, h, Target{}, "one")
	emit(t, h, Target{}, "two")
	m1, m2 := <-a.Messages(), <-a.Messages()
	if m2.Seq != m1.Seq+1 {
		t.Errorf("seq: got %d then %d, want consecutive", m1.Seq, m2.Seq)
	}
	if m1.Sent.Before(before) || m1.Sent.After(time.Now()) {
		t.Errorf("sent: %v not between emit and now", m1.Sent)
	}
}

func TestDisconnectLeavesAllRoomsAndTellsThem(t *testing.T) {
	var mu sync.Mutex
	var hookRooms []string
	var hookName string
	h := startHub(t, Config{Disconnecting: func(m Member, rooms []string, _ error) {
		mu.Lock()
		hookName, hookRooms = m.Name, rooms
		mu.Unlock()
	}})
	ctx := context.Background()
	a := connect(t, h, "alice", "r1", "r2")
	b := connect(t, h, "bob", "r1")
	c := connect(t, h, "carol", "r2")
	d := connect(t, h, "dave", "r3")
	for _, s := range []*Socket{b, c, d} {
		drain(s)
	}
	reason := errors.New("test: gone")
	h.Disconnect(a, reason)
	<-a.Done()
	if !errors.Is(a.Err(), reason) {
		t.Fatalf("Err: got %v, want %v", a.Err(), reason)
	}
	mu.Lock()
	want := []string{a.ID(), "r1", "r2"}
	slices.Sort(want)
	if hookName != "alice" || !slices.Equal(hookRooms, want) {
		t.Errorf("disconnecting hook: got %s in %v, want alice in %v", hookName, hookRooms, want)
	}
	mu.Unlock()
	if got := drain(b); len(got) != 1 || !strings.Contains(got[0], "leave:alice left r1 (test: gone)") {
		t.Errorf("bob (r1) was told: %v", got)
	}
	if got := drain(c); len(got) != 1 || !strings.Contains(got[0], "alice left r2") {
		t.Errorf("carol (r2) was told: %v", got)
	}
	if got := drain(d); len(got) != 0 {
		t.Errorf("dave (r3) should hear nothing, got %v", got)
	}
	rs, _ := h.Rooms(ctx, true)
	for _, r := range rs {
		if r.Name == a.ID() || (r.Name == "r1" && r.Members != 1) || (r.Name == "r2" && r.Members != 1) {
			t.Errorf("after disconnect: room %v", r)
		}
	}
	if err := h.Join(ctx, a, "r9"); err == nil {
		t.Errorf("join after disconnect: want an error")
	}
	h.Disconnect(a, reason) // twice is fine
}

func TestSlowConsumerIsDroppedOthersGetEverything(t *testing.T) {
	const queue, n = 16, 200
	h := startHub(t, Config{SendQueue: queue})
	slow := connect(t, h, "slow", "r")
	fast := connect(t, h, "fast", "r")
	drain(slow)
	drain(fast)
	got := make(chan int)
	go func() {
		count := 0
		for count < n {
			m := <-fast.Messages()
			if m.Event == "chat" {
				count++
			}
		}
		got <- count
	}()
	start := time.Now()
	for i := range n {
		if i%4 == 0 {
			time.Sleep(time.Millisecond) // a busy room, not one instantaneous burst
		}
		emit(t, h, Target{Rooms: []string{"r"}}, "m"+string(rune('0'+i%10)))
	}
	select {
	case c := <-got:
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("fast client took %v for %d messages (bound 5s)", elapsed, c)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("fast client did not get %d messages", n)
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("slow client was not disconnected")
	}
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Errorf("slow client's reason: got %v, want ErrSlowConsumer", slow.Err())
	}
	if k := h.Stats().Kicked; k != 1 {
		t.Errorf("kicked: got %d, want 1", k)
	}
}

func TestRenameTellsRooms(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h, "alice", "r1")
	b := connect(t, h, "bob", "r1")
	drain(a)
	drain(b)
	if err := h.Rename(context.Background(), a, "al"); err != nil {
		t.Fatal(err)
	}
	if got := drain(b); len(got) != 1 || got[0] != "nick:alice is now known as al" {
		t.Errorf("bob got %v", got)
	}
	if err := h.Rename(context.Background(), a, "bad name"); err == nil {
		t.Errorf("bad nick: want an error")
	}
}

// bus is an in-memory adapter network: every adapter on it hears every
// other's broadcasts, as NATS or Redis subscribers would.
type bus struct {
	mu   sync.Mutex
	subs []func(adapter.Broadcast)
}

type busAdapter struct{ b *bus }

func (a busAdapter) Publish(ctx context.Context, b adapter.Broadcast) error {
	a.b.mu.Lock()
	subs := slices.Clone(a.b.subs)
	a.b.mu.Unlock()
	for _, f := range subs {
		f(b)
	}
	return nil
}
func (a busAdapter) Subscribe(f func(adapter.Broadcast)) error {
	a.b.mu.Lock()
	a.b.subs = append(a.b.subs, f)
	a.b.mu.Unlock()
	return nil
}
func (a busAdapter) Close() error { return nil }

func TestBroadcastReachesOtherServersThroughAdapter(t *testing.T) {
	b := &bus{}
	h1 := startHub(t, Config{ServerID: "one", Adapter: busAdapter{b}})
	h2 := startHub(t, Config{ServerID: "two", Adapter: busAdapter{b}})
	a := connect(t, h1, "alice", "r1")
	x := connect(t, h2, "xavier", "r1")
	y := connect(t, h2, "yves", "r2")
	drain(a)
	drain(x)
	drain(y)
	emit(t, h1, Target{Rooms: []string{"r1"}, Except: []string{a.ID()}}, "hello from one")
	if got := chats(drain(x)); !slices.Equal(got, []string{"hello from one"}) {
		t.Errorf("xavier on server two got %v", got)
	}
	if got := chats(drain(a)); len(got) != 0 {
		t.Errorf("alice (sender, excluded) got %v", got)
	}
	if got := chats(drain(y)); len(got) != 0 {
		t.Errorf("yves (other room) got %v", got)
	}
	// A server ignores its own broadcasts coming back: alice gets one copy.
	emit(t, h1, Target{Rooms: []string{"r1"}}, "to all of r1")
	if got := chats(drain(a)); !slices.Equal(got, []string{"to all of r1"}) {
		t.Errorf("alice got %v, want one copy", got)
	}
	if got := chats(drain(x)); !slices.Equal(got, []string{"to all of r1"}) {
		t.Errorf("xavier got %v, want one copy", got)
	}
}

func TestShutdownDisconnectsEveryone(t *testing.T) {
	h := NewHub(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	a := connect(t, h, "alice", "r")
	cancel()
	<-done
	<-a.Done()
	if !errors.Is(a.Err(), ErrShutdown) {
		t.Errorf("reason: got %v", a.Err())
	}
	if _, err := h.Connect(context.Background(), "late", "test"); !errors.Is(err, ErrHubClosed) {
		t.Errorf("connect after shutdown: got %v, want ErrHubClosed", err)
	}
}

// BenchmarkHubFanout1000 measures one broadcast to a room of 1,000 sockets
// whose queues are drained as fast as they fill: the hub's own cost of
// fan-out, without any network.
func BenchmarkHubFanout1000(b *testing.B) {
	const members = 1000
	h := NewHub(Config{SendQueue: 1024})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var wg sync.WaitGroup
	received := make(chan struct{}, members)
	for range members {
		s, err := h.Connect(ctx, "m", "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Join(ctx, s, "room"); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case m := <-s.Messages():
					if m.Event == "chat" {
						received <- struct{}{}
					}
				case <-s.Done():
					return
				}
			}
		}()
	}
	msg := transport.Message{Event: "chat", Data: []byte("hello room")}
	b.ResetTimer()
	for range b.N {
		if err := h.Emit(ctx, Target{Rooms: []string{"room"}}, msg); err != nil {
			b.Fatal(err)
		}
		for range members {
			<-received
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*members)/b.Elapsed().Seconds(), "deliveries/s")
	cancel()
	wg.Wait()
}

// Listings the server writes are split to fit every door: 300 rooms with
// long names and a lobby of 150 each come back in parts of at most
// MaxReply bytes, with every entry in one of them.
func TestLongListingsAreSplit(t *testing.T) {
	h := startHub(t, Config{SendQueue: 4096}) // the asker hears of each of its joins
	ctx := context.Background()
	s := connect(t, h, "asker", DefaultRoom)
	for i := range 300 {
		if err := h.Join(ctx, s, fmt.Sprintf("room-with-a-long-name-%010d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 149 {
		connect(t, h, fmt.Sprintf("member%03d", i), DefaultRoom)
	}
	rooms, err := h.RoomsReply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	who, err := h.WhoReply(ctx, DefaultRoom)
	if err != nil {
		t.Fatal(err)
	}
	for name, parts := range map[string][]string{"rooms": rooms, "who": who} {
		if len(parts) < 2 || len(parts) > MaxReplyParts {
			t.Errorf("%s: %d parts, want 2..%d", name, len(parts), MaxReplyParts)
		}
		for i, p := range parts {
			if len(p) > MaxReply {
				t.Errorf("%s part %d: %d bytes, over %d", name, i+1, len(p), MaxReply)
			}
		}
	}
	all := strings.Join(rooms, "\n")
	for _, want := range []string{"room-with-a-long-name-0000000000 (1)", "room-with-a-long-name-0000000299 (1)", "lobby (150)", "own rooms", "(part 1 of"} {
		if !strings.Contains(all, want) {
			t.Errorf("/rooms lacks %q", want)
		}
	}
	if w := strings.Join(who, "\n"); !strings.Contains(w, "150 in lobby (part 1 of") || !strings.Contains(w, "member148") || !strings.Contains(w, "asker") {
		t.Errorf("/who lobby:\n%s", w)
	}
	// More than MaxReplyParts can hold: the rest is counted, not shown.
	for i := 300; i < 1000; i++ {
		h.Join(ctx, s, fmt.Sprintf("room-with-a-long-name-%010d", i))
	}
	rooms, _ = h.RoomsReply(ctx)
	if len(rooms) != MaxReplyParts || !strings.Contains(rooms[len(rooms)-1], "more not shown") {
		t.Errorf("1,000 rooms: %d parts, last %q", len(rooms), rooms[len(rooms)-1])
	}
}

// A slow consumer cannot read why it was cut off (its queue is full): the
// rooms it was in hear it, the lobby included, and the server's
// Disconnecting hook (the server log) gets the reason.
func TestSlowConsumerNoticeReachesOthers(t *testing.T) {
	logged := make(chan error, 1)
	h := startHub(t, Config{SendQueue: 4, Disconnecting: func(m Member, _ []string, reason error) {
		if m.Name == "slow" {
			logged <- reason
		}
	}})
	slow := connect(t, h, "slow", DefaultRoom, "r")
	other := connect(t, h, "other", DefaultRoom)
	drain(other)
	var seen []string
	for range 10 {
		emit(t, h, Target{Rooms: []string{DefaultRoom}}, "x")
		m := <-other.Messages()
		seen = append(seen, m.Event+":"+string(m.Data))
	}
	<-slow.Done()
	select {
	case err := <-logged:
		if !errors.Is(err, ErrSlowConsumer) {
			t.Errorf("log hook got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Disconnecting not called")
	}
	var notice string
	for _, m := range append(seen, drain(other)...) {
		if strings.Contains(m, "too slow") {
			notice = m
		}
	}
	if !strings.Contains(notice, "slow was disconnected from lobby") {
		t.Fatalf("the lobby was not told: %q", notice)
	}
}
