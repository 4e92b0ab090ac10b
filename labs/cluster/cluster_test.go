package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/chat/adapter/adaptertest"
	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipeDialer connects a bot to a server's hub in-process: a
// transporttest.Pipe whose far end the hub serves as it serves any door's
// connection (the command's tests run the bots over the WebSocket door).
var pipeDialer = chat.Dialer{Name: "pipe", Dial: func(ctx context.Context, s *chat.Server) (transport.Conn, error) {
	client, conn := transporttest.Pipe()
	go s.Hub.ServeConn(context.Background(), conn, "pipe") // ends when the hub stops or the bot closes
	return client, nil
}}

// loadDeliveries is how many deliveries a load phase of messages messages
// a bot should make, from the cast: math has 4 members (alice, dave, bob,
// frank), art 3 (dave, erin, carol); each bot sends to its current room and
// everyone else in it should get each message once: alice, dave, bob and
// frank reach 3 others each, erin and carol 2.
func loadDeliveries(messages int) int { return messages * (4*3 + 2*2) }

// waitFor is how long a test waits for something that takes milliseconds:
// generous, for a loaded 2-core machine.
const waitFor = 20 * time.Second

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", waitFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receivers lists who got a step's message, sorted.
func receivers(s StepResult) []string {
	var out []string
	for _, d := range s.Deliveries {
		out = append(out, d.Bot+"@"+d.Server)
	}
	slices.Sort(out)
	return out
}

func checkSteps(t *testing.T, r RunResult, want [][]string) {
	t.Helper()
	if len(r.Steps) != len(want) {
		t.Fatalf("%s: %d steps, want %d", r.Adapter, len(r.Steps), len(want))
	}
	// Each step is one numbered message to its room (the last to bob's id
	// room, which is no named room).
	rooms := []string{"math", "art", "math,art"}
	for i, s := range r.Steps {
		if s.Seq != uint64(i+1) {
			t.Errorf("%s: step %d went as seq %d, want %d", r.Adapter, i+1, s.Seq, i+1)
		}
		if i < len(rooms) && s.Room != rooms[i] || i == 3 && (s.Room == "" || slices.Contains(rooms, s.Room)) {
			t.Errorf("%s: step %d went to room %q", r.Adapter, i+1, s.Room)
		}
		for _, d := range s.Deliveries {
			if !strings.HasSuffix(d.Line, s.From+": "+s.Text) {
				t.Errorf("%s: step %d: %s received %q, want %s's text", r.Adapter, i+1, d.Bot, d.Line, s.From)
			}
		}
	}
	for i, s := range r.Steps {
		if got := receivers(s); !slices.Equal(got, want[i]) {
			t.Errorf("%s: step %d (%s from %s): received by %v, want %v", r.Adapter, i+1, s.Title, s.From, got, want[i])
		}
	}
}

// withAdapter is who receives each scripted step when the servers share an
// adapter: every member of the target rooms, once, wherever it is.
var withAdapter = [][]string{
	{"bob@s2", "dave@s1", "frank@s3"},
	{"carol@s3", "dave@s1"},
	{"alice@s1", "bob@s2", "dave@s1", "erin@s2", "frank@s3"},
	{"bob@s2"},
}

// alone is who receives them without an adapter: only the sender's server.
var alone = [][]string{
	{"dave@s1"},
	nil,
	{"frank@s3"},
	nil,
}

// checkLoadClean checks a load phase where no server was stopped: every
// delivery made, once, to the right room.
func checkLoadClean(t *testing.T, r RunResult) {
	t.Helper()
	l := r.Load
	if l.Sent != 6*5 || l.Expected != loadDeliveries(5) {
		t.Errorf("%s: sent %d, expected %d deliveries; want 30 sent and %d expected", r.Adapter, l.Sent, l.Expected, loadDeliveries(5))
	}
	if l.Received != l.Expected || l.Lost != 0 || l.Duplicates != 0 || l.WrongRoom != 0 {
		t.Errorf("%s: load: expected %d, received %d, lost %d, dup %d, wrong room %d; want all received once",
			r.Adapter, l.Expected, l.Received, l.Lost, l.Duplicates, l.WrongRoom)
	}
	if l.CrossServer.Count == 0 || l.SameServer.Count == 0 {
		t.Errorf("%s: latency samples: same %d, cross %d; want both", r.Adapter, l.SameServer.Count, l.CrossServer.Count)
	}
	for _, s := range r.Servers {
		if a := s.Adapter; a == nil || a.Missed != 0 || a.Duplicates != 0 || a.PublishErrors != 0 {
			t.Errorf("%s: %s adapter %+v: want nothing missed, duplicated or failed", r.Adapter, s.ID, s.Adapter)
		}
	}
}

func TestDemoNATSAndNone(t *testing.T) {
	var out strings.Builder
	res, err := Demo(context.Background(), DemoConfig{Messages: 5, Interval: 20 * time.Millisecond, NoKill: true, Out: &out, Dialer: pipeDialer})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if len(res.Runs) != 2 || res.Runs[0].Adapter != "nats" || res.Runs[1].Adapter != "none" {
		t.Fatalf("runs: %+v", res.Runs)
	}
	if !strings.HasPrefix(res.Broker, "embedded nats-server at nats://127.0.0.1:") {
		t.Errorf("broker %q", res.Broker)
	}
	checkSteps(t, res.Runs[0], withAdapter)
	checkLoadClean(t, res.Runs[0])
	checkWho(t, res.Runs[0])

	none := res.Runs[1]
	checkSteps(t, none, alone)
	if l := none.Load; l.CrossServer.Count != 0 || l.Duplicates != 0 || l.WrongRoom != 0 || l.Received != l.SameServer.Count {
		t.Errorf("none: load %+v: want only same-server deliveries", l)
	}
	for _, want := range []string{"through NATS", "--adapter none", "sticky sessions", "across servers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// The account printed again from the --json document is the one
	// printed while the demo ran (the delivery times are kept to the ns).
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var saved DemoResult
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	FromJSON(&saved)
	var again strings.Builder
	if err := saved.WriteText(&again, true); err != nil {
		t.Fatal(err)
	}
	if again.String() != out.String() {
		t.Errorf("printed from the document:\n%s\nwhile running:\n%s", again.String(), out.String())
	}
	if l := saved.Runs[0].Load; len(l.SameServerSamples) != l.SameServer.Count || len(l.CrossServerSamples) != l.CrossServer.Count {
		t.Errorf("samples from the document: %d same, %d across; the summaries count %d and %d",
			len(l.SameServerSamples), len(l.CrossServerSamples), l.SameServer.Count, l.CrossServer.Count)
	}
}

func TestDemoRedis(t *testing.T) {
	rs := adaptertest.StartRedis(t)
	res, err := Demo(context.Background(), DemoConfig{Adapters: []string{"redis"}, RedisURL: rs.URL(),
		Messages: 5, Interval: 20 * time.Millisecond, NoKill: true, Dialer: pipeDialer})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	checkSteps(t, res.Runs[0], withAdapter)
	checkLoadClean(t, res.Runs[0])
	checkWho(t, res.Runs[0])
}

// checkWho checks s1's view of who is in math: its own members and, through
// the adapter, the other servers'.
func checkWho(t *testing.T, r RunResult) {
	t.Helper()
	if r.Who == nil {
		t.Fatalf("%s: no who-is-in-math answer", r.Adapter)
	}
	var got []string
	for _, m := range r.Who.Members {
		got = append(got, m.Name+"@"+m.Server)
	}
	if want := []string{"alice@s1", "dave@s1", "bob@s2", "frank@s3"}; !slices.Equal(got, want) || r.Who.Answered != 2 {
		t.Errorf("%s: who is in math: %v from %d other servers, want %v from 2", r.Adapter, got, r.Who.Answered, want)
	}
}

// TestDemoServerStopped stops s3 mid-run: its bots move to s1 and recover
// from its replay buffer; nothing is duplicated or misdelivered, and every
// delivery not made is counted lost.
func TestDemoServerStopped(t *testing.T) {
	res, err := Demo(context.Background(), DemoConfig{Adapters: []string{"nats"}, Messages: 10,
		Interval: 20 * time.Millisecond, ReconnectDelay: 100 * time.Millisecond, Dialer: pipeDialer})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	l := res.Runs[0].Load
	if l.Stopped != "s3" {
		t.Fatalf("stopped %q, want s3", l.Stopped)
	}
	if l.Duplicates != 0 || l.WrongRoom != 0 || l.Received+l.Lost != l.Expected {
		t.Errorf("load: expected %d, received %d, lost %d, dup %d, wrong room %d",
			l.Expected, l.Received, l.Lost, l.Duplicates, l.WrongRoom)
	}
	// The moved bots missed messages live while switching; the replay
	// buffer on s1, fed by the adapter, sends them again.
	if l.Recovered == 0 {
		t.Errorf("load: nothing recovered by replay (lost %d)", l.Lost)
	}
	for _, b := range l.Bots {
		moved := b.Name == "carol" || b.Name == "frank"
		if !moved && b.Recovered != 0 {
			t.Errorf("%s never moved but recovered %d", b.Name, b.Recovered)
		}
		if moved && !slices.Equal(b.Servers, []string{"s3", "s1"}) {
			t.Errorf("%s went through %v, want s3 then s1", b.Name, b.Servers)
		}
		if !moved && len(b.Servers) != 1 {
			t.Errorf("%s went through %v, want one server", b.Name, b.Servers)
		}
		if moved && b.SwitchMs < 100 {
			t.Errorf("%s switched in %vms, less than the 100ms reconnect delay", b.Name, b.SwitchMs)
		}
	}
}

// TestBrokerRestartHubs stops the broker under three running chat servers:
// delivery on each server goes on, the loss across servers is counted, and
// once the broker is back the servers share rooms again by themselves.
func TestBrokerRestartHubs(t *testing.T) {
	broker, err := natsadapter.StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	addr := broker.Addr()
	defer func() { _ = broker.Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := startRun(ctx, AdapterConfig{Kind: KindNATS, NATSURL: broker.URL()}, pipeDialer, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.shutdown()
	alice, dave, bob := r.bot("alice"), r.bot("dave"), r.bot("bob")
	got := func(b *bot, seq uint64) bool {
		for _, g := range b.receipts() {
			if g.seq == seq {
				return true
			}
		}
		return false
	}
	say := func(text string) uint64 {
		tok, err := alice.say("math", text, "test")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	time.Sleep(settleTime)
	tok := say("before")
	eventually(t, "bob@s2 gets alice@s1's message before the outage", func() bool { return got(bob, tok) && got(dave, tok) })

	_ = broker.Close()
	eventually(t, "every server saw the broker go", func() bool {
		for _, s := range r.servers {
			if st, _ := AdapterStats(s.ad); st.Connected {
				return false
			}
		}
		return true
	})
	tok = say("during")
	eventually(t, "dave@s1 gets alice@s1's message while the broker is down", func() bool { return got(dave, tok) })
	during := tok

	broker, err = natsadapter.StartServer(addr)
	if err != nil {
		t.Fatalf("restart the broker on %s: %v", addr, err)
	}
	eventually(t, "every server reconnected", func() bool {
		for _, s := range r.servers {
			if st, _ := AdapterStats(s.ad); !st.Connected || st.Reconnects == 0 {
				return false
			}
		}
		return true
	})
	eventually(t, "bob@s2 gets alice@s1's messages again", func() bool {
		tok := say("after")
		time.Sleep(50 * time.Millisecond)
		return got(bob, tok)
	})
	if got(bob, during) {
		t.Errorf("bob got the message published while the broker was down")
	}
	s1, _ := AdapterStats(r.servers[0].ad)
	s2, _ := AdapterStats(r.servers[1].ad)
	if s1.PublishErrors == 0 {
		t.Errorf("s1: %+v: want the broadcast published during the outage counted as a publish error", s1)
	}
	if s2.Missed == 0 {
		t.Errorf("s2: %+v: want the gap in s1's broadcasts counted as missed", s2)
	}
}
