// Package adaptertest is the behaviour every broker adapter (NATS, Redis)
// must show, run against a real broker: three servers, each broadcast
// delivered once to every other server and never back to its sender, rooms
// and exclusions carried intact, and a broker restart survived with the loss
// counted.
package adaptertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
	"github.com/netlab/netlab/transport"
)

// An Adapter is what the suite tests: an adapter.Adapter that counts.
type Adapter interface {
	adapter.Adapter
	pubsub.StatsReporter
}

// Broker is a running broker the suite can make adapters for and restart.
type Broker struct {
	// New returns an adapter for server id, connected to the broker. The
	// suite closes it.
	New func(t *testing.T, id string) Adapter
	// Stop stops the broker (every connection cut); Start starts it again
	// at the same address. Nil when the broker cannot be restarted.
	Stop, Start func(t *testing.T)
}

// waitFor is how long the suite waits for something that should happen in
// milliseconds: generous, for a loaded 2-core CI machine.
const waitFor = 20 * time.Second

// Run runs the whole suite.
func Run(t *testing.T, b Broker) {
	t.Run("ThreeServers", func(t *testing.T) { testThreeServers(t, b) })
	t.Run("SubscribeOnce", func(t *testing.T) { testSubscribeOnce(t, b) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, b) })
	t.Run("CloseWhileHandlerBlocked", func(t *testing.T) { testCloseWhileHandlerBlocked(t, b) })
	t.Run("Presence", func(t *testing.T) { testPresence(t, b) })
	if b.Stop != nil {
		t.Run("BrokerRestart", func(t *testing.T) { testBrokerRestart(t, b) })
	}
}

// A recorder collects what a server's handler got.
type recorder struct {
	mu  sync.Mutex
	got []adapter.Broadcast
}

func (r *recorder) handle(b adapter.Broadcast) {
	r.mu.Lock()
	r.got = append(r.got, b)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []adapter.Broadcast {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", waitFor, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testThreeServers(t *testing.T, b Broker) {
	ids := []string{"s1", "s2", "s3"}
	ads := make([]Adapter, len(ids))
	recs := make([]*recorder, len(ids))
	for i, id := range ids {
		ads[i] = b.New(t, id)
		recs[i] = &recorder{}
		if err := ads[i].Subscribe(recs[i].handle); err != nil {
			t.Fatalf("%s: subscribe: %v", id, err)
		}
	}
	// Every server publishes perServer broadcasts concurrently, to rooms
	// that differ per message, some with exclusions.
	const perServer = 50
	want := make(map[string]adapter.Broadcast) // by origin/seq text
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)*perServer)
	for i, id := range ids {
		bs := make([]adapter.Broadcast, perServer)
		for n := range perServer {
			bc := adapter.Broadcast{
				Origin: id,
				Rooms:  []string{fmt.Sprintf("room-%d", n%3)},
				Msg: transport.Message{Seq: uint64(n + 1), Event: "chat", Room: fmt.Sprintf("room-%d", n%3),
					Sent: time.Unix(1700000000, int64(n)), Data: []byte(fmt.Sprintf("%s #%d héllo", id, n+1))},
			}
			if n%5 == 0 {
				bc.Rooms = append(bc.Rooms, "room-x")
				bc.Except = []string{"sock-" + id}
			}
			if n%7 == 0 {
				bc.Rooms = nil // everyone
			}
			bs[n] = bc
			want[string(bc.Msg.Data)] = bc
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, bc := range bs {
				if err := ads[i].Publish(context.Background(), bc); err != nil {
					errs <- fmt.Errorf("%s: publish: %w", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantEach := (len(ids) - 1) * perServer
	for i := range ids {
		eventually(t, fmt.Sprintf("%s got %d broadcasts, want %d", ids[i], recs[i].len(), wantEach),
			func() bool { return recs[i].len() >= wantEach })
	}
	// Let any duplicate or echo arrive before checking there is none.
	time.Sleep(100 * time.Millisecond)
	for i, id := range ids {
		got := recs[i].snapshot()
		if len(got) != wantEach {
			t.Errorf("%s: got %d broadcasts, want %d", id, len(got), wantEach)
		}
		seen := make(map[string]int)
		lastSeq := make(map[string]uint64)
		for _, g := range got {
			key := string(g.Msg.Data)
			seen[key]++
			if g.Origin == id {
				t.Errorf("%s: got its own broadcast %q back", id, key)
			}
			w, ok := want[key]
			if !ok {
				t.Errorf("%s: got a broadcast nobody sent: %+v", id, g)
				continue
			}
			if g.Origin != w.Origin || !slices.Equal(g.Rooms, w.Rooms) || !slices.Equal(g.Except, w.Except) {
				t.Errorf("%s: %q: got origin %q rooms %q except %q, want %q %q %q",
					id, key, g.Origin, g.Rooms, g.Except, w.Origin, w.Rooms, w.Except)
			}
			if g.Msg.Seq != w.Msg.Seq || g.Msg.Event != w.Msg.Event || g.Msg.Room != w.Msg.Room || !g.Msg.Sent.Equal(w.Msg.Sent) {
				t.Errorf("%s: %q: got message %+v, want %+v", id, key, g.Msg, w.Msg)
			}
			if g.Msg.Seq <= lastSeq[g.Origin] {
				t.Errorf("%s: from %s: seq %d after %d: out of order", id, g.Origin, g.Msg.Seq, lastSeq[g.Origin])
			}
			lastSeq[g.Origin] = g.Msg.Seq
		}
		for key, n := range seen {
			if n != 1 {
				t.Errorf("%s: got %q %d times, want once", id, key, n)
			}
		}
		st := ads[i].Stats()
		if st.Published != perServer || st.PublishErrors != 0 || st.Received != uint64(wantEach) ||
			st.Missed != 0 || st.Duplicates != 0 || st.Malformed != 0 || !st.Connected {
			t.Errorf("%s: stats %+v: want %d published, %d received, nothing lost, connected", id, st, perServer, wantEach)
		}
	}
}

func testSubscribeOnce(t *testing.T, b Broker) {
	a := b.New(t, "once")
	if err := a.Subscribe(func(adapter.Broadcast) {}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := a.Subscribe(func(adapter.Broadcast) {}); err == nil {
		t.Fatal("second subscribe: got nil error, want one")
	}
}

func testClosed(t *testing.T, b Broker) {
	a := b.New(t, "closed")
	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := a.Publish(context.Background(), adapter.Broadcast{Msg: transport.Message{Data: []byte("x")}}); err == nil {
		t.Error("publish after close: got nil error")
	}
	if err := a.Subscribe(func(adapter.Broadcast) {}); err == nil {
		t.Error("subscribe after close: got nil error")
	}
}

// testPresence asks the other servers who is in a room.
func testPresence(t *testing.T, b Broker) {
	members := map[string][]pubsub.Member{
		"p1": {{ID: "a1", Name: "alice", Door: "ws"}},
		"p2": {{ID: "b1", Name: "bob", Door: "tcp"}, {ID: "b2", Name: "bea", Door: "poll"}},
		"p3": nil,
	}
	ads := map[string]pubsub.Presence{}
	for _, id := range []string{"p1", "p2", "p3"} {
		a := b.New(t, id)
		p, ok := a.(pubsub.Presence)
		if !ok {
			t.Skip("adapter does not implement pubsub.Presence")
		}
		if err := p.AnswerMembers(func(ctx context.Context, room string) []pubsub.Member {
			if room != "math" {
				return nil
			}
			return slices.Clone(members[id])
		}); err != nil {
			t.Fatalf("%s: answer members: %v", id, err)
		}
		ads[id] = p
	}
	got, answered, err := ads["p1"].RoomMembers(context.Background(), "math", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range got {
		names = append(names, m.Server+"/"+m.ID+"/"+m.Name+"/"+m.Door)
	}
	slices.Sort(names)
	if want := []string{"p2/b1/bob/tcp", "p2/b2/bea/poll"}; answered != 2 || !slices.Equal(names, want) {
		t.Errorf("p1 asked who is in math: %d servers answered %v; want 2 answering %v", answered, names, want)
	}
}

// testCloseWhileHandlerBlocked closes an adapter whose handler is blocked
// until Close has returned, as a hub's handler waits for the hub that is
// closing the adapter: Close must not wait for it.
func testCloseWhileHandlerBlocked(t *testing.T, b Broker) {
	pub, sub := b.New(t, "p"), b.New(t, "s")
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	if err := sub.Subscribe(func(adapter.Broadcast) {
		once.Do(func() { close(entered) })
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), adapter.Broadcast{Msg: transport.Message{Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(waitFor):
		t.Fatal("handler never called")
	}
	closed := make(chan error, 1)
	go func() { closed <- sub.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(waitFor):
		t.Error("Close waited for a handler that waits for Close")
	}
	close(release)
}

// testBrokerRestart stops the broker while s1 keeps publishing to s2, starts
// it again, and checks that both adapters come back by themselves and that
// every broadcast s1 published is either received by s2 or counted as lost.
func testBrokerRestart(t *testing.T, b Broker) {
	pub, sub := b.New(t, "s1"), b.New(t, "s2")
	rec := &recorder{}
	if err := sub.Subscribe(rec.handle); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := pub.Subscribe(func(adapter.Broadcast) {}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var sent uint64
	publish := func() (time.Duration, error) {
		sent++
		start := time.Now()
		err := pub.Publish(context.Background(), adapter.Broadcast{Origin: "s1", Rooms: []string{"r"},
			Msg: transport.Message{Seq: sent, Event: "chat", Data: []byte(fmt.Sprint("m", sent))}})
		return time.Since(start), err
	}
	for range 10 {
		if _, err := publish(); err != nil {
			t.Fatalf("publish before the outage: %v", err)
		}
	}
	eventually(t, "s2 got the 10 broadcasts published before the outage", func() bool { return rec.len() == 10 })

	b.Stop(t)
	eventually(t, "the adapters saw the broker go away", func() bool {
		return !pub.Stats().Connected && !sub.Stats().Connected
	})
	// Publishing during the outage must neither block nor pretend.
	for range 20 {
		d, _ := publish()
		if d > 5*time.Second {
			t.Fatalf("publish during the outage blocked for %v", d)
		}
	}
	// Let the publisher settle every outage broadcast (an adapter may
	// queue them) before the broker is back.
	eventually(t, "s1 published or counted as failed every broadcast", func() bool {
		ps := pub.Stats()
		return ps.Published+ps.PublishErrors == sent
	})
	b.Start(t)
	eventually(t, "the adapters reconnected", func() bool {
		return pub.Stats().Connected && sub.Stats().Connected &&
			pub.Stats().Reconnects >= 1 && sub.Stats().Reconnects >= 1
	})
	// Publish until s2 gets one again: its subscription was restored.
	before := rec.len()
	eventually(t, "s2 receives again after the restart", func() bool {
		if _, err := publish(); err != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
		return rec.len() > before
	})
	// Make s2's last received broadcast s1's last published one, so every
	// gap is closed, then check the books balance.
	for {
		if _, err := publish(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, "s2 got s1's last broadcast", func() bool {
		got := rec.snapshot()
		return len(got) > 0 && got[len(got)-1].Msg.Seq == sent
	})
	ps, ss := pub.Stats(), sub.Stats()
	t.Logf("publisher: %+v", ps)
	t.Logf("subscriber: %+v", ss)
	if ss.Received+ss.Missed != sent {
		t.Errorf("s2 received %d + missed %d = %d, want the %d s1 sent: loss not accounted for",
			ss.Received, ss.Missed, ss.Received+ss.Missed, sent)
	}
	if ps.Published+ps.PublishErrors != sent {
		t.Errorf("s1 published %d + failed %d = %d, want %d", ps.Published, ps.PublishErrors, ps.Published+ps.PublishErrors, sent)
	}
	if ss.Missed == 0 {
		t.Errorf("s2 missed nothing although 20 broadcasts were published while the broker was down")
	}
	if ss.Duplicates != 0 {
		t.Errorf("s2 dropped %d duplicates, want 0", ss.Duplicates)
	}
	if ps.Disconnects < 1 || ss.Disconnects < 1 {
		t.Errorf("disconnects: s1 %d, s2 %d, want >= 1 each", ps.Disconnects, ss.Disconnects)
	}
	got := rec.snapshot()
	for i := 1; i < len(got); i++ {
		if got[i].Msg.Seq <= got[i-1].Msg.Seq {
			t.Errorf("s2 got seq %d after %d", got[i].Msg.Seq, got[i-1].Msg.Seq)
		}
	}
}
