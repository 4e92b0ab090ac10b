package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
	"github.com/netlab/netlab/transport"
)

// Demo starts three chat servers on 127.0.0.1 that share rooms through an
// adapter, connects two bots to each (through cfg.Dialer), and shows who
// receives what from where; then the same with each other adapter in
// cfg.Adapters (by default none, where a broadcast reaches only its
// sender's server). Each run ends with a load phase that stops one server
// halfway: its bots reconnect to another server, and what they missed is
// counted.
func Demo(ctx context.Context, cfg DemoConfig) (*DemoResult, error) {
	if len(cfg.Adapters) == 0 {
		cfg.Adapters = []string{KindNATS, KindNone}
	}
	if cfg.Messages <= 0 {
		cfg.Messages = DefaultMessages
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.ReconnectDelay <= 0 {
		cfg.ReconnectDelay = DefaultReconnectDelay
	}
	if cfg.Dialer.Dial == nil {
		return nil, errors.New("cluster demo: no Dialer: the bots need a way to connect to a server")
	}
	p := &printer{w: cfg.Out}
	if p.w == nil {
		p.w = io.Discard
	}
	res := &DemoResult{}
	natsURL := cfg.NATSURL
	for _, k := range cfg.Adapters {
		if err := CheckKind(k); err != nil {
			return nil, fmt.Errorf("cluster demo: %w", err)
		}
		if k == KindRedis && cfg.RedisURL == "" {
			return nil, errors.New("cluster demo: the redis adapter needs a Redis server: pass its URL (redis://127.0.0.1:6379)")
		}
	}
	if slices.Contains(cfg.Adapters, KindNATS) {
		if natsURL == "" {
			srv, err := natsadapter.StartServer("")
			if err != nil {
				return nil, fmt.Errorf("cluster demo: %w", err)
			}
			defer srv.Close()
			natsURL = srv.URL()
			res.Broker = "embedded nats-server at " + natsURL + " (in this process)"
		} else {
			res.Broker = "nats-server at " + natsURL
		}
		p.printf("broker: %s\n", res.Broker)
	}
	if slices.Contains(cfg.Adapters, KindRedis) {
		p.printf("broker: redis-server at %s\n", cfg.RedisURL)
		if res.Broker != "" {
			res.Broker += "; "
		}
		res.Broker += "redis-server at " + cfg.RedisURL
	}
	for i, k := range cfg.Adapters {
		if i > 0 {
			p.printf("\n")
		}
		r, err := runScript(ctx, cfg, AdapterConfig{Kind: k, NATSURL: natsURL, RedisURL: cfg.RedisURL}, p)
		if r != nil {
			res.Runs = append(res.Runs, *r)
		}
		if err != nil {
			return res, err
		}
	}
	p.printf("\n%s", stickyNote)
	if p.err != nil {
		return res, fmt.Errorf("cluster demo: writing the account: %w", p.err)
	}
	return res, ctx.Err()
}

const stickyNote = `Behind a load balancer: a WebSocket client keeps one TCP connection for its
whole session, so whichever server the balancer picked serves every frame.
An HTTP long-polling client makes a new request for every poll and every
send; its session (id, queued messages) lives in one server's memory, so the
balancer must send all its requests to that server (sticky sessions, e.g. by
cookie or client IP) or the other servers answer "session unknown". The
adapter shares broadcasts between servers, not sessions.
`

// server is one chat server of a run.
type server struct {
	id   string
	srv  *chat.Server
	ad   adapter.Adapter
	stop context.CancelFunc
	addr string // TCP line door, for nc users
	// httpAddr is the HTTP address (page, doors), empty without doors.
	httpAddr string
	// replay is this server's replay buffer (nil without an adapter).
	replay *replayer
	mu     sync.Mutex
	down   bool
	result ServerResult
}

func (s *server) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down
}

// run is one run of the script.
type run struct {
	ctx     context.Context
	dialer  chat.Dialer
	servers []*server
	bots    []*bot
	readers sync.WaitGroup
	// replaying is set when the servers keep replay buffers (with an
	// adapter); bg waits for the buffers' goroutines.
	replaying bool
	bg        sync.WaitGroup
	// reconnectDelay is how long a bot waits before moving to another server.
	reconnectDelay time.Duration

	mu   sync.Mutex
	seq  uint64 // the last number given to a bot's message
	sent map[uint64]sentRec
}

// sentRec is one message a bot sent.
type sentRec struct {
	from   *bot
	room   string // the message's Room: a room, rooms "math,art", or an id room
	server int
	at     time.Time
	phase  string // "step", "load" or "test"
}

// step is one scripted message of the demo.
type step struct {
	title, from, text, note, alone string
	room                           func(r *run) (string, error) // where it goes
}

// inCurrentRoom sends to the sender's current room.
func inCurrentRoom(from string) func(r *run) (string, error) {
	return func(r *run) (string, error) { return r.bot(from).current(), nil }
}

var script = []step{
	{title: "A room that spans servers", from: "alice", text: "anyone done with exercise 3?",
		room:  inCurrentRoom("alice"),
		note:  "math has members on all three servers; every one of them gets it",
		alone: "math has members on all three servers, but only dave shares alice's server"},
	{title: "A room with nobody else on the sender's server", from: "erin", text: "who has the blue paint?",
		room:  inCurrentRoom("erin"),
		note:  "erin is the only member of art on s2; the others are on s1 and s3",
		alone: "erin is the only member of art on s2: nobody hears her"},
	{title: "Union broadcast to two rooms", from: "carol", text: "class starts in 5 minutes",
		room:  func(*run) (string, error) { return "math,art", nil },
		note:  "dave is in math and art: he gets it once",
		alone: "only frank shares carol's server"},
	{title: "A socket's own id room", from: "frank", text: "can I borrow your notes?",
		room:  func(r *run) (string, error) { return r.socketID(r.bot("bob")) },
		note:  "bob's id room exists only on s2: the broadcast finds it there",
		alone: "bob's id room is on s2; s3 has no such room"},
}

func runScript(ctx context.Context, cfg DemoConfig, acfg AdapterConfig, p *printer) (*RunResult, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := startRun(rctx, acfg, cfg.Dialer, cfg.ReconnectDelay, cfg.Doors)
	if err != nil {
		return nil, err
	}
	defer r.shutdown()
	alone := acfg.Kind == KindNone || acfg.Kind == "local"
	res := &RunResult{Adapter: acfg.Kind}
	for _, b := range r.bots {
		res.Bots = append(res.Bots, BotInfo{Name: b.name, Server: r.servers[b.server].id, Rooms: b.rooms})
	}
	for _, s := range r.servers {
		res.Servers = append(res.Servers, s.result)
	}
	p.servers(acfg.Kind, res.Servers)
	p.bots(res.Bots)
	sleep(rctx, settleTime) // let every join reach every server

	for i, st := range script {
		room, err := st.room(r)
		if err != nil {
			return res, err
		}
		step, err := r.step(r.bot(st.from), room, st.text)
		if err != nil {
			return res, err
		}
		step.Title = st.title
		res.Steps = append(res.Steps, step)
		p.step(i+1, step, stepNote(i, alone))
		if err := rctx.Err(); err != nil {
			return res, err
		}
	}

	if cfg.Doors != nil && cfg.PollPath != "" && !alone {
		probe, err := r.stickyProbe(cfg.PollPath)
		if err != nil {
			return res, err
		}
		res.Sticky = probe
		p.sticky(len(res.Steps)+1, probe)
	}

	if _, ok := r.servers[0].ad.(pubsub.Presence); ok {
		ms, answered, took, err := r.whoIs("math")
		if err != nil {
			return res, err
		}
		res.Who = &WhoResult{Room: "math", Members: ms, Answered: answered, WaitMs: float64(took.Microseconds()) / 1000}
		p.who(len(res.Steps)+len(res.Sticky)/3+1, res.Who)
	}

	load, err := r.load(cfg)
	res.Load = load
	for i, s := range r.servers {
		if st, ok := AdapterStats(s.ad); ok {
			s.result.Adapter = &AdapterJSON{Published: st.Published, PublishErrors: st.PublishErrors, Received: st.Received,
				Missed: st.Missed, Duplicates: st.Duplicates, Disconnects: st.Disconnects, Reconnects: st.Reconnects}
		}
		res.Servers[i] = s.result
	}
	if err != nil {
		return res, err
	}
	p.load(res)
	if p.err != nil {
		return res, fmt.Errorf("cluster demo: writing the account: %w", p.err)
	}
	return res, rctx.Err()
}

// stepNote is the line under scripted step i: what it shows, with an
// adapter or (alone) without one.
func stepNote(i int, alone bool) string {
	if i >= len(script) { // a document from a longer script
		return ""
	}
	if alone {
		return script[i].alone
	}
	return script[i].note
}

// startRun starts three chat servers with the adapter acfg names, on a
// topic of their own, and connects the cast of bots through dialer. On
// error what was started is stopped.
func startRun(ctx context.Context, acfg AdapterConfig, dialer chat.Dialer, reconnectDelay time.Duration, doors func() []chat.HTTPDoor) (*run, error) {
	r := &run{ctx: ctx, dialer: dialer, sent: map[uint64]sentRec{}, reconnectDelay: reconnectDelay}
	r.replaying = acfg.Kind == KindNATS || acfg.Kind == KindRedis
	acfg.Topic = "netlab.chat.demo." + randomHex()
	if acfg.Kind == KindRedis {
		acfg.Topic = "netlab:chat:demo:" + randomHex()
	}
	for i := range 3 {
		s := &server{id: "s" + strconv.Itoa(i+1)}
		c := acfg
		c.ServerID = s.id
		ad, err := OpenAdapter(ctx, c)
		if err != nil {
			r.shutdown()
			return nil, fmt.Errorf("cluster demo: %s: %w", s.id, err)
		}
		sctx, stop := context.WithCancel(ctx)
		hub := chat.Config{ServerID: s.id, Adapter: ad}
		if r.replaying {
			s.replay = &replayer{}
			hub.Events = map[string]func(context.Context, *chat.Socket, transport.Message){replayEvent: s.replay.ask}
		}
		scfg := chat.ServerConfig{Lines: "127.0.0.1:0", Hub: hub}
		if doors != nil {
			scfg.Listen, scfg.Doors = "127.0.0.1:0", doors()
		}
		srv, err := chat.Start(sctx, scfg)
		if err != nil {
			stop()
			_ = ad.Close()
			r.shutdown()
			return nil, fmt.Errorf("cluster demo: %s: %w", s.id, err)
		}
		s.srv, s.ad, s.stop, s.addr = srv, ad, stop, srv.LinesAddr.String()
		if srv.HTTPAddr != nil {
			s.httpAddr = srv.HTTPAddr.String()
		}
		s.result = ServerResult{ID: s.id, TCPAddr: s.addr, HTTPAddr: s.httpAddr}
		r.servers = append(r.servers, s)
		if pr, ok := ad.(pubsub.Presence); ok {
			hub := srv.Hub
			err := pr.AnswerMembers(func(ctx context.Context, room string) []pubsub.Member {
				return members(ctx, hub, room)
			})
			if err != nil {
				r.shutdown()
				return nil, fmt.Errorf("cluster demo: %s: %w", s.id, err)
			}
		}
		if s.replay != nil {
			if err := s.replay.start(sctx, srv.Hub, []string{"math", "art"}, &r.bg); err != nil {
				r.shutdown()
				return nil, err
			}
		}
	}
	for _, c := range cast {
		b := &bot{r: r, name: c.name, rooms: c.rooms}
		r.bots = append(r.bots, b)
		if err := b.connect(c.server); err != nil {
			r.shutdown()
			return nil, err
		}
	}
	return r, nil
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func (r *run) bot(name string) *bot {
	for _, b := range r.bots {
		if b.name == name {
			return b
		}
	}
	panic("cluster: no bot " + name)
}

// socketID asks the hub of b's server for b's socket id (the name of its
// own room).
func (r *run) socketID(b *bot) (string, error) {
	b.mu.Lock()
	server := b.server
	b.mu.Unlock()
	ms, err := r.servers[server].srv.Hub.Members(r.ctx, b.current())
	if err != nil {
		return "", fmt.Errorf("cluster demo: %s's socket id: %w", b.name, err)
	}
	for _, m := range ms {
		if m.Name == b.name && m.Door != replayDoor {
			return m.ID, nil
		}
	}
	return "", fmt.Errorf("cluster demo: %s is not in %s on %s", b.name, b.current(), r.servers[server].id)
}

// shutdown closes every bot and stops every server.
func (r *run) shutdown() {
	for _, b := range r.bots {
		b.mu.Lock()
		b.closing = true
		c := b.conn
		b.mu.Unlock()
		if c != nil {
			_ = c.Close()
		}
	}
	for _, s := range r.servers {
		s.stop()
		_ = s.srv.Wait()
	}
	r.readers.Wait()
	r.bg.Wait()
}

// step has from send text to room, waits for deliveries and collects them.
func (r *run) step(from *bot, room, text string) (StepResult, error) {
	seq, err := from.say(room, text, "step")
	if err != nil {
		return StepResult{}, err
	}
	sleep(r.ctx, settleTime)
	r.mu.Lock()
	rec := r.sent[seq]
	r.mu.Unlock()
	res := StepResult{From: from.name, FromServer: r.servers[rec.server].id, Seq: seq, Room: room, Text: text}
	for _, b := range r.bots {
		for _, g := range b.receipts() {
			if g.seq == seq && !g.replay {
				res.Deliveries = append(res.Deliveries, Delivery{Bot: b.name, Server: r.servers[g.server].id,
					Line: g.line, AfterUs: float64(g.at.Sub(rec.at).Nanoseconds()) / 1000})
			}
		}
	}
	return res, nil
}

// load has every bot send cfg.Messages messages to its current room; unless
// cfg.NoKill, s3 is stopped halfway. Then it counts (account) what every bot
// got.
func (r *run) load(cfg DemoConfig) (LoadResult, error) {
	var res LoadResult
	start := time.Now()
	var killAt time.Time
	var wg sync.WaitGroup
	errs := make(chan error, len(r.bots))
	for i, b := range r.bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the bots so they do not all speak at once.
			sleep(r.ctx, time.Duration(i)*cfg.Interval/time.Duration(len(r.bots)))
			for range cfg.Messages {
				if _, err := b.say(b.current(), "load from "+b.name, "load"); err != nil {
					errs <- err
					return
				}
				sleep(r.ctx, cfg.Interval)
				if r.ctx.Err() != nil {
					return
				}
			}
		}()
	}
	if !cfg.NoKill {
		sleep(r.ctx, time.Duration(cfg.Messages)*cfg.Interval/2)
		killAt = time.Now()
		s := r.servers[2]
		s.mu.Lock()
		s.down = true
		s.mu.Unlock()
		for _, b := range r.bots {
			b.mu.Lock()
			if b.server == 2 {
				b.stopped = killAt
			}
			b.mu.Unlock()
		}
		s.stop()
		_ = s.srv.Wait()
		s.result.Stopped = true
		res.Stopped = s.id
		res.StoppedAtMs = float64(killAt.Sub(start).Microseconds()) / 1000
		res.ReconnectDelayMs = float64(r.reconnectDelay.Microseconds()) / 1000
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	// Wait for the moved bots' replays (one answer per room).
	if r.replaying && !killAt.IsZero() {
		deadline := time.Now().Add(readyTimeout)
		for _, b := range r.bots {
			for time.Now().Before(deadline) && r.ctx.Err() == nil {
				b.mu.Lock()
				done := b.stopped.IsZero() || b.replaysDone >= len(b.rooms)
				b.mu.Unlock()
				if done {
					break
				}
				sleep(r.ctx, 10*time.Millisecond)
			}
		}
	}
	sleep(r.ctx, 2*settleTime)
	if err := r.ctx.Err(); err != nil {
		return res, err
	}
	r.account(&res, start, killAt)
	return res, nil
}
