package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// Demo defaults.
const (
	DefaultMessages = 20
	DefaultInterval = 50 * time.Millisecond
	// DefaultReconnectDelay is how long a bot waits before reconnecting.
	DefaultReconnectDelay = 250 * time.Millisecond
	// presenceWait bounds how long "who is in the room" waits for the
	// other servers (NATS cannot say how many there are: it waits it out).
	presenceWait = 300 * time.Millisecond
	// settleTime is how long a step waits for deliveries to arrive.
	settleTime = 300 * time.Millisecond
	// readyTimeout bounds a bot's connect-and-join.
	readyTimeout = 5 * time.Second
	sendTimeout  = 2 * time.Second
)

// DemoConfig configures Demo.
type DemoConfig struct {
	// Adapters are the adapter kinds to run the script with, in order
	// (default: nats, then none).
	Adapters []string
	NATSURL  string // an external NATS server; empty starts an embedded one
	RedisURL string // the Redis server, for the redis adapter
	// Messages is how many messages each bot sends in the load phase
	// (DefaultMessages when 0), one every Interval (DefaultInterval).
	Messages int
	Interval time.Duration
	// NoKill keeps every server up during the load phase; by default s3 is
	// stopped halfway through.
	NoKill bool
	// ReconnectDelay is how long a bot whose server went away waits before
	// it connects to another (DefaultReconnectDelay when 0), as real
	// clients back off (Socket.IO's client waits about a second).
	ReconnectDelay time.Duration
	// Doors, when set, gives each server its HTTP doors (called once per
	// server). With a long-polling door at PollPath the demo shows, with
	// real requests, why long polling needs sticky sessions.
	Doors    func() []chat.HTTPDoor
	PollPath string
	// Out receives the human-readable account (nil: none).
	Out io.Writer
}

// DemoResult is what Demo measured, for --json.
type DemoResult struct {
	Broker string      `json:"broker"`
	Runs   []RunResult `json:"runs"`
}

// RunResult is one run of the script with one adapter.
type RunResult struct {
	Adapter string         `json:"adapter"`
	Servers []ServerResult `json:"servers"`
	Bots    []BotInfo      `json:"bots"`
	Steps   []StepResult   `json:"steps"`
	Load    LoadResult     `json:"load"`
	Sticky  []StickyProbe  `json:"sticky_probe,omitempty"`
	Who     *WhoResult     `json:"who,omitempty"`
}

// WhoResult is the answer to "who is in math?" asked of s1 and, through the
// adapter, of the other servers.
type WhoResult struct {
	Room     string      `json:"room"`
	Members  []WhoMember `json:"members"`
	Answered int         `json:"servers_answered"`
	WaitMs   float64     `json:"wait_ms"`
}

// WhoMember is one member of the room and its server.
type WhoMember struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Door   string `json:"door"`
}

// StickyProbe is one HTTP request of the sticky-session probe.
type StickyProbe struct {
	Request string `json:"request"`
	Server  string `json:"server"`
	Status  int    `json:"status"`
	Answer  string `json:"answer"`
}

// ServerResult is one chat server and what its adapter counted.
type ServerResult struct {
	ID      string       `json:"id"`
	TCPAddr string       `json:"tcp_addr"`
	Stopped bool         `json:"stopped_mid_run"`
	Adapter *AdapterJSON `json:"adapter,omitempty"` // nil for none
}

// AdapterJSON is pubsub.Stats for --json.
type AdapterJSON struct {
	Published     uint64 `json:"published"`
	PublishErrors uint64 `json:"publish_errors"`
	Received      uint64 `json:"received"`
	Missed        uint64 `json:"missed"`
	Duplicates    uint64 `json:"duplicates_dropped"`
	Disconnects   uint64 `json:"disconnects"`
	Reconnects    uint64 `json:"reconnects"`
}

// BotInfo is one bot: where it connected and its rooms.
type BotInfo struct {
	Name   string   `json:"name"`
	Server string   `json:"server"`
	Rooms  []string `json:"rooms"`
}

// StepResult is one scripted message and who received it.
type StepResult struct {
	Title      string     `json:"title"`
	From       string     `json:"from"`
	FromServer string     `json:"from_server"`
	Typed      string     `json:"typed"`
	Deliveries []Delivery `json:"deliveries"`
}

// Delivery is one bot receiving one message.
type Delivery struct {
	Bot     string  `json:"bot"`
	Server  string  `json:"server"`
	Line    string  `json:"line"`
	AfterUs float64 `json:"after_us"`
}

// LoadResult is the load phase: every bot sends Messages messages to its
// room while (by default) s3 is stopped halfway.
type LoadResult struct {
	Sent        int                `json:"sent"`
	Expected    int                `json:"expected_deliveries"`
	Received    int                `json:"received"`
	Lost        int                `json:"lost"`
	Duplicates  int                `json:"duplicates"`
	WrongRoom   int                `json:"wrong_room"`
	Recovered   int                `json:"recovered"`
	SameServer  report.LatencyJSON `json:"same_server_latency"`
	CrossServer report.LatencyJSON `json:"cross_server_latency"`
	Stopped     string             `json:"stopped_server,omitempty"`
	StoppedAtMs float64            `json:"stopped_at_ms,omitempty"`
	// ReconnectDelayMs is how long a bot waits before reconnecting.
	ReconnectDelayMs float64   `json:"reconnect_delay_ms,omitempty"`
	Bots             []BotLoad `json:"bots"`
}

// BotLoad is what one bot should have received in the load phase and did.
type BotLoad struct {
	Name     string   `json:"name"`
	Servers  []string `json:"servers"` // the server it started on, then the one it moved to
	Sent     int      `json:"sent"`
	Expected int      `json:"expected"`
	Received int      `json:"received"`
	Lost     int      `json:"lost"`
	// LostFromMs and LostToMs say when the lost messages were sent,
	// relative to the server stop (negative: before it).
	LostFromMs float64 `json:"lost_sent_from_ms,omitempty"`
	LostToMs   float64 `json:"lost_sent_to_ms,omitempty"`
	Duplicates int     `json:"duplicates"`
	WrongRoom  int     `json:"wrong_room"`
	// Recovered counts messages received only through a replay buffer
	// (included in Received); ReplayCopies counts replayed copies of
	// messages the bot already had, which it drops.
	Recovered    int     `json:"recovered"`
	ReplayCopies int     `json:"replay_copies_dropped"`
	ReplayGone   bool    `json:"replay_gone,omitempty"` // the buffer no longer had the bot's last message
	SwitchMs     float64 `json:"switch_ms,omitempty"`   // from the stop to rejoined on another server
}

// The cast: two bots per server, in rooms that span servers.
var cast = []struct {
	name   string
	server int
	rooms  []string // the last one is the bot's current room
}{
	{"alice", 0, []string{"math"}},
	{"dave", 0, []string{"art", "math"}},
	{"bob", 1, []string{"math"}},
	{"erin", 1, []string{"art"}},
	{"carol", 2, []string{"art"}},
	{"frank", 2, []string{"math"}},
}

// Demo starts three chat servers on 127.0.0.1 that share rooms through an
// adapter, connects two bots to each over TCP, and shows who receives what
// from where; then the same with each other adapter in cfg.Adapters (by
// default none, where a broadcast reaches only its sender's server). Each
// run ends with a load phase that stops one server halfway: its bots
// reconnect to another server, and what they missed is counted.
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
	w := cfg.Out
	if w == nil {
		w = io.Discard
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
		fmt.Fprintf(w, "broker: %s\n", res.Broker)
	}
	if slices.Contains(cfg.Adapters, KindRedis) {
		fmt.Fprintf(w, "broker: redis-server at %s\n", cfg.RedisURL)
		if res.Broker != "" {
			res.Broker += "; "
		}
		res.Broker += "redis-server at " + cfg.RedisURL
	}
	for i, k := range cfg.Adapters {
		if i > 0 {
			fmt.Fprintln(w)
		}
		r, err := runScript(ctx, cfg, AdapterConfig{Kind: k, NATSURL: natsURL, RedisURL: cfg.RedisURL}, w)
		if r != nil {
			res.Runs = append(res.Runs, *r)
		}
		if err != nil {
			return res, err
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, stickyNote)
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
	addr string // TCP line door
	// httpAddr is the HTTP address (page, doors), empty without doors.
	httpAddr string
	mu       sync.Mutex
	down     bool
	result   ServerResult
}

func (s *server) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down
}

// run is one run of the script.
type run struct {
	ctx     context.Context
	servers []*server
	bots    []*bot
	readers sync.WaitGroup
	// replayers are the replay buffers, one per server (none without an
	// adapter); bg waits for them.
	replayers []*replayer
	bg        sync.WaitGroup
	// reconnectDelay is how long a bot waits before moving to another server.
	reconnectDelay time.Duration

	mu    sync.Mutex
	tok   int
	sent  map[int]sentRec
	phase string // "step" or "load": which messages are being sent
}

type sentRec struct {
	from   *bot
	room   string
	server int
	at     time.Time
	phase  string
}

type receipt struct {
	tok    int
	room   string
	server int
	at     time.Time
	line   string
	replay bool // sent again by a replay buffer, not live
}

type bot struct {
	r     *run
	name  string
	rooms []string

	mu       sync.Mutex
	conn     *chat.LineConn
	server   int
	id       string
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

var (
	chatLine = regexp.MustCompile(`^\[([^\]]+)\] [^:]+: m(\d+) `)
	whoLine  = regexp.MustCompile(`^\d+ in (\S+):`)
)

func runScript(ctx context.Context, cfg DemoConfig, acfg AdapterConfig, w io.Writer) (*RunResult, error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := startRun(rctx, acfg, cfg.ReconnectDelay, cfg.Doors)
	if err != nil {
		return nil, err
	}
	defer r.shutdown()
	res := &RunResult{Adapter: acfg.Kind}
	for _, b := range r.bots {
		res.Bots = append(res.Bots, BotInfo{Name: b.name, Server: r.servers[b.server].id, Rooms: b.rooms})
	}
	what := map[string]string{
		KindNATS:  "through NATS",
		KindRedis: "through Redis pub/sub",
		KindNone:  "with --adapter none: no adapter, each server alone",
		"local":   "with --adapter none: no adapter, each server alone",
	}[acfg.Kind]
	fmt.Fprintf(w, "== 3 chat servers %s\n", what)
	for _, s := range r.servers {
		if s.httpAddr != "" {
			fmt.Fprintf(w, "   %s  tcp %s  http %s\n", s.id, s.addr, s.httpAddr)
		} else {
			fmt.Fprintf(w, "   %s  tcp %s\n", s.id, s.addr)
		}
	}
	t := &report.Table{Header: []string{"bot", "server", "rooms"}}
	for _, b := range r.bots {
		t.Row(b.name, r.servers[b.server].id, strings.Join(b.rooms, ", "))
	}
	fmt.Fprintln(w)
	_ = t.Write(w)
	sleep(rctx, settleTime) // let every join reach every server

	bob := r.bot("bob")
	steps := []struct {
		title, from, text, note, alone string
	}{
		{"A room that spans servers", "alice", "anyone done with exercise 3?",
			"math has members on all three servers; every one of them gets it",
			"math has members on all three servers, but only dave shares alice's server"},
		{"A room with nobody else on the sender's server", "erin", "who has the blue paint?",
			"erin is the only member of art on s2; the others are on s1 and s3",
			"erin is the only member of art on s2: nobody hears her"},
		{"Union broadcast to two rooms", "carol", "/to math,art class starts in 5 minutes",
			"dave is in math and art: he gets it once",
			"only frank shares carol's server"},
		{"A socket's own id room", "frank", "/msg " + bob.socketID() + " can I borrow your notes?",
			"bob's id room exists only on s2: the broadcast finds it there",
			"bob's id room is on s2; s3 has no such room"},
	}
	for i, st := range steps {
		from := r.bot(st.from)
		step, err := r.step(from, st.text)
		if err != nil {
			return res, err
		}
		step.Title = st.title
		res.Steps = append(res.Steps, step)
		fmt.Fprintf(w, "\n%d. %s: %s@%s types %q\n", i+1, st.title, step.From, step.FromServer, step.Typed)
		t := &report.Table{Header: []string{"   who", "server", "received", "after"}}
		for _, d := range step.Deliveries {
			t.Row("   "+d.Bot, d.Server, d.Line, report.Duration(time.Duration(d.AfterUs*1000)))
		}
		if len(step.Deliveries) == 0 {
			t.Row("   nobody", "", "", "")
		}
		note := st.note
		if acfg.Kind == KindNone || acfg.Kind == "local" {
			note = st.alone
		}
		t.Notes = []string{"   (" + note + ")"}
		_ = t.Write(w)
		if err := rctx.Err(); err != nil {
			return res, err
		}
	}

	if cfg.Doors != nil && cfg.PollPath != "" && acfg.Kind != KindNone && acfg.Kind != "local" {
		probe, err := r.stickyProbe(cfg.PollPath)
		if err != nil {
			return res, err
		}
		res.Sticky = probe
		fmt.Fprintf(w, "\n%d. Sticky sessions: a long-polling client opens a session on s1; a load balancer\n", len(steps)+1)
		fmt.Fprintf(w, "   without stickiness sends its next poll to s2\n")
		t := &report.Table{Header: []string{"   request", "server", "answer"}}
		for _, p := range probe {
			t.Row("   "+p.Request, p.Server, p.Answer)
		}
		t.Notes = []string{"   (the session lives in s1's memory; the adapter shares broadcasts, not sessions)"}
		_ = t.Write(w)
	}

	if _, ok := r.servers[0].ad.(pubsub.Presence); ok {
		ms, answered, took, err := r.whoIs("math")
		if err != nil {
			return res, err
		}
		res.Who = &WhoResult{Room: "math", Members: ms, Answered: answered, WaitMs: float64(took.Microseconds()) / 1000}
		n := len(res.Steps) + len(res.Sticky)/3 + 1
		fmt.Fprintf(w, "\n%d. Who is in math? s1 lists its own members and asks the others through the adapter\n", n)
		t := &report.Table{Header: []string{"   member", "server", "door"}}
		for _, m := range ms {
			t.Row("   "+m.Name, m.Server, m.Door)
		}
		t.Notes = []string{fmt.Sprintf("   (%d other servers answered within %s)", answered, report.Duration(took))}
		_ = t.Write(w)
	}

	load, err := r.load(cfg, w)
	res.Load = load
	for _, s := range r.servers {
		if st, ok := AdapterStats(s.ad); ok {
			s.result.Adapter = &AdapterJSON{Published: st.Published, PublishErrors: st.PublishErrors, Received: st.Received,
				Missed: st.Missed, Duplicates: st.Duplicates, Disconnects: st.Disconnects, Reconnects: st.Reconnects}
		}
		res.Servers = append(res.Servers, s.result)
	}
	if err != nil {
		return res, err
	}
	printLoad(w, res)
	return res, rctx.Err()
}

// startRun starts three chat servers with the adapter acfg names, on a
// topic of their own, and connects the cast of bots. On error what was
// started is stopped.
func startRun(ctx context.Context, acfg AdapterConfig, reconnectDelay time.Duration, doors func() []chat.HTTPDoor) (*run, error) {
	r := &run{ctx: ctx, sent: map[int]sentRec{}, reconnectDelay: reconnectDelay}
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
		scfg := chat.ServerConfig{Lines: "127.0.0.1:0", Hub: chat.Config{ServerID: s.id, Adapter: ad}}
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
		s.result = ServerResult{ID: s.id, TCPAddr: s.addr}
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
		if acfg.Kind == KindNATS || acfg.Kind == KindRedis {
			p, err := startReplayer(sctx, srv.Hub, []string{"math", "art"}, &r.bg)
			if err != nil {
				r.shutdown()
				return nil, err
			}
			r.replayers = append(r.replayers, p)
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

// step has from type text, waits for deliveries and collects them.
func (r *run) step(from *bot, text string) (StepResult, error) {
	tok, err := from.say(text, "step")
	if err != nil {
		return StepResult{}, err
	}
	sleep(r.ctx, settleTime)
	r.mu.Lock()
	rec := r.sent[tok]
	r.mu.Unlock()
	res := StepResult{From: from.name, FromServer: r.servers[rec.server].id, Typed: displayText(text, tok)}
	for _, b := range r.bots {
		for _, g := range b.receipts() {
			if g.tok == tok {
				res.Deliveries = append(res.Deliveries, Delivery{Bot: b.name, Server: r.servers[g.server].id,
					Line: g.line, AfterUs: report.Micros(g.at.Sub(rec.at))})
			}
		}
	}
	return res, nil
}

// members lists who is in room on hub, leaving out the demo's replay
// buffers (they are in every room).
func members(ctx context.Context, hub *chat.Hub, room string) []pubsub.Member {
	ms, err := hub.Members(ctx, room)
	if err != nil {
		return nil
	}
	var out []pubsub.Member
	for _, m := range ms {
		if m.Door != replayDoor {
			out = append(out, pubsub.Member{ID: m.ID, Name: m.Name, Door: m.Door})
		}
	}
	return out
}

// whoIs asks, from server 0, who is in room across the cluster: its own
// hub, then the other servers through the adapter.
func (r *run) whoIs(room string) ([]WhoMember, int, time.Duration, error) {
	s := r.servers[0]
	var out []WhoMember
	for _, m := range members(r.ctx, s.srv.Hub, room) {
		out = append(out, WhoMember{Name: m.Name, Server: s.id, Door: m.Door})
	}
	pr, ok := s.ad.(pubsub.Presence)
	if !ok {
		return out, 0, 0, nil
	}
	start := time.Now()
	remote, answered, err := pr.RoomMembers(r.ctx, room, presenceWait)
	took := time.Since(start)
	if err != nil {
		return out, answered, took, err
	}
	for _, m := range remote {
		out = append(out, WhoMember{Name: m.Name, Server: m.Server, Door: m.Door})
	}
	slices.SortFunc(out, func(a, b WhoMember) int {
		return cmp.Or(strings.Compare(a.Server, b.Server), strings.Compare(a.Name, b.Name))
	})
	return out, answered, took, nil
}

// stickyProbe opens a long-polling session on s1 and polls it on s1, then
// on s2, as a load balancer without sticky sessions might route it.
func (r *run) stickyProbe(pollPath string) ([]StickyProbe, error) {
	client := &http.Client{Timeout: sendTimeout}
	defer client.CloseIdleConnections()
	do := func(method string, s *server, path string) (StickyProbe, string, error) {
		req, err := http.NewRequestWithContext(r.ctx, method, "http://"+s.httpAddr+path, nil)
		if err != nil {
			return StickyProbe{}, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return StickyProbe{}, "", fmt.Errorf("cluster demo: sticky probe: %w", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		text := strings.TrimSpace(string(body))
		p := StickyProbe{Request: method + " " + path, Server: s.id, Status: resp.StatusCode, Answer: resp.Status}
		return p, text, nil
	}
	s1, s2 := r.servers[0], r.servers[1]
	open, sid, err := do(http.MethodPost, s1, pollPath+"/session")
	if err != nil {
		return nil, err
	}
	if open.Status != http.StatusCreated {
		return nil, fmt.Errorf("cluster demo: sticky probe: POST %s/session: %s", pollPath, open.Answer)
	}
	open.Answer += ": session " + sid
	out := []StickyProbe{open}
	short := sid
	if len(short) > 8 {
		short = short[:8] + "…"
	}
	for _, s := range []*server{s1, s2} {
		p, body, err := do(http.MethodGet, s, pollPath+"?sid="+sid+"&after=0")
		if err != nil {
			return nil, err
		}
		p.Request = "GET " + pollPath + "?sid=" + short + "&after=0"
		switch {
		case p.Status == http.StatusOK:
			n := strings.Count(body, "\n") + 1
			p.Answer += fmt.Sprintf(": %d message%s queued for it", n, map[bool]string{true: "s"}[n != 1])
		case strings.Contains(body, "unknown session"):
			p.Answer += ": unknown session"
		case body != "":
			first, _, _ := strings.Cut(body, "\n")
			p.Answer += ": " + first
		}
		out = append(out, p)
	}
	_, _, _ = do(http.MethodDelete, s1, pollPath+"?sid="+sid)
	return out, nil
}

// displayText is what the bot typed, token included.
func displayText(text string, tok int) string {
	cmd, rest := "", text
	if strings.HasPrefix(text, "/") {
		f := strings.SplitN(text, " ", 3)
		cmd, rest = f[0]+" "+f[1]+" ", f[2]
	}
	return fmt.Sprintf("%sm%d %s", cmd, tok, rest)
}

// load has every bot send cfg.Messages messages to its current room; unless
// cfg.NoKill, s3 is stopped halfway.
func (r *run) load(cfg DemoConfig, w io.Writer) (LoadResult, error) {
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
				if _, err := b.say(fmt.Sprintf("load from %s", b.name), "load"); err != nil {
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
	if len(r.replayers) > 0 && !killAt.IsZero() {
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

	// Account: every load message should reach every other bot in its room,
	// once, and no one else.
	r.mu.Lock()
	sent := make(map[int]sentRec, len(r.sent))
	for tok, s := range r.sent {
		if s.phase == "load" {
			sent[tok] = s
		}
	}
	r.mu.Unlock()
	var same, cross []time.Duration
	for _, b := range r.bots {
		bl := BotLoad{Name: b.name}
		b.mu.Lock()
		for _, p := range b.path {
			bl.Servers = append(bl.Servers, r.servers[p].id)
		}
		bl.SwitchMs = float64(b.switched.Microseconds()) / 1000
		bl.ReplayGone = b.replayGone
		got := slices.Clone(b.got)
		b.mu.Unlock()
		count := map[int]int{} // live copies
		first := map[int]receipt{}
		for _, g := range got {
			s, ok := sent[g.tok]
			if !ok {
				continue
			}
			if _, had := first[g.tok]; had && g.replay {
				bl.ReplayCopies++ // the client drops a replayed copy it already has
				continue
			}
			if !g.replay {
				count[g.tok]++
			}
			if _, had := first[g.tok]; !had {
				first[g.tok] = g
			}
			if !slices.Contains(b.rooms, s.room) || s.from == b {
				bl.WrongRoom++
			}
		}
		for tok, s := range sent {
			if s.from == b {
				bl.Sent++
				continue
			}
			if !slices.Contains(b.rooms, s.room) {
				continue
			}
			bl.Expected++
			n := count[tok]
			g, got := first[tok]
			if !got {
				bl.Lost++
				ref := killAt
				if ref.IsZero() {
					ref = start
				}
				ms := float64(s.at.Sub(ref).Microseconds()) / 1000
				if bl.Lost == 1 || ms < bl.LostFromMs {
					bl.LostFromMs = ms
				}
				if bl.Lost == 1 || ms > bl.LostToMs {
					bl.LostToMs = ms
				}
				continue
			}
			bl.Received++
			if g.replay {
				bl.Recovered++
				continue
			}
			bl.Duplicates += n - 1
			d := g.at.Sub(s.at)
			if g.server == s.server {
				same = append(same, d)
			} else {
				cross = append(cross, d)
			}
		}
		res.Sent += bl.Sent
		res.Expected += bl.Expected
		res.Received += bl.Received
		res.Lost += bl.Lost
		res.Duplicates += bl.Duplicates
		res.WrongRoom += bl.WrongRoom
		res.Recovered += bl.Recovered
		res.Bots = append(res.Bots, bl)
	}
	res.SameServer = report.Latency(stats.Summarize(same))
	res.CrossServer = report.Latency(stats.Summarize(cross))
	return res, nil
}

func printLoad(w io.Writer, res *RunResult) {
	l := res.Load
	n := len(res.Steps) + 1
	if len(res.Sticky) > 0 {
		n++
	}
	if res.Who != nil {
		n++
	}
	fmt.Fprintf(w, "\n%d. Load: every bot sends %d messages to its room", n, l.Sent/len(res.Bots))
	if l.Stopped != "" {
		fmt.Fprintf(w, ";\n   %s is stopped after %s and its bots, after waiting %s as clients back off,\n   reconnect to another server", l.Stopped,
			report.Duration(time.Duration(l.StoppedAtMs*float64(time.Millisecond))), report.Duration(time.Duration(l.ReconnectDelayMs*float64(time.Millisecond))))
	}
	fmt.Fprintln(w)
	ms := func(v float64) string { return report.Duration(time.Duration(v * float64(time.Millisecond))) }
	t := &report.Table{Header: []string{"   bot", "servers", "switch took", "sent", "expected", "received", "recovered", "lost", "dup", "wrong room", "lost ones sent"}}
	for _, b := range l.Bots {
		sw, when := "", ""
		if b.SwitchMs > 0 {
			sw = ms(b.SwitchMs)
		}
		if b.Lost > 0 && l.Stopped != "" && res.Adapter != KindNone && res.Adapter != "local" {
			when = fmt.Sprintf("%+.1fms..%+.1fms", b.LostFromMs, b.LostToMs)
		}
		t.Row("   "+b.Name, strings.Join(b.Servers, "→"), sw, strconv.Itoa(b.Sent), strconv.Itoa(b.Expected), strconv.Itoa(b.Received),
			strconv.Itoa(b.Recovered), strconv.Itoa(b.Lost), strconv.Itoa(b.Duplicates), strconv.Itoa(b.WrongRoom), when)
	}
	t.Row("   total", "", "", strconv.Itoa(l.Sent), strconv.Itoa(l.Expected), strconv.Itoa(l.Received), strconv.Itoa(l.Recovered),
		strconv.Itoa(l.Lost), strconv.Itoa(l.Duplicates), strconv.Itoa(l.WrongRoom), "")
	if l.Stopped != "" && l.Lost > 0 && res.Adapter != KindNone && res.Adapter != "local" {
		t.Notes = []string{"   (lost ones sent: when the lost messages were sent, relative to the stop of " + l.Stopped + ")"}
	}
	_ = t.Write(w)

	fmt.Fprintln(w)
	lt := &report.Table{Header: []string{"   delivery (bot to bot)", "count", "p50", "p90", "p99", "max"}}
	row := func(name string, s report.LatencyJSON) {
		if s.Count == 0 {
			lt.Row(name, "0", "-", "-", "-", "-")
			return
		}
		us := func(v float64) string { return report.Duration(time.Duration(v * 1000)) }
		lt.Row(name, strconv.Itoa(s.Count), us(s.P50Us), us(s.P90Us), us(s.P99Us), us(s.MaxUs))
	}
	row("   same server", l.SameServer)
	row("   across servers", l.CrossServer)
	lt.Notes = []string{"   (one-way, sender's write to receiver's read, same process and clock)"}
	_ = lt.Write(w)

	if res.Adapter != KindNone && res.Adapter != "local" {
		fmt.Fprintln(w)
		at := &report.Table{Header: []string{"   adapter", "published", "publish errors", "received", "missed (gaps)", "dup dropped"}}
		for _, s := range res.Servers {
			if s.Adapter == nil {
				continue
			}
			a := s.Adapter
			name := "   " + s.ID
			if s.Stopped {
				name += " (stopped)"
			}
			at.Row(name, strconv.FormatUint(a.Published, 10), strconv.FormatUint(a.PublishErrors, 10),
				strconv.FormatUint(a.Received, 10), strconv.FormatUint(a.Missed, 10), strconv.FormatUint(a.Duplicates, 10))
		}
		_ = at.Write(w)
	}
	fmt.Fprintln(w)
	switch {
	case res.Adapter == KindNone || res.Adapter == "local":
		fmt.Fprintf(w, "   without an adapter only bots on the sender's server get its messages: %d of %d delivered\n", l.Received, l.Expected)
	case l.Lost == 0 && l.Recovered == 0:
		fmt.Fprintf(w, "   every message reached every bot in its room once, across servers\n")
	default:
		fmt.Fprintf(w, "   %d of %d deliveries missed live while bots switched servers: %d recovered from\n", l.Lost+l.Recovered, l.Expected, l.Recovered)
		fmt.Fprintf(w, "   the new server's replay buffer (it got every room's messages through the adapter),\n")
		fmt.Fprintf(w, "   %d lost. NATS and Redis pub/sub keep nothing for a client that was away.\n", l.Lost)
	}
}

// socketID returns the bot's socket id on its current server.
func (b *bot) socketID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id
}

func (b *bot) receipts() []receipt {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// connect connects the bot to server i, names it, joins its rooms and waits
// until the server confirms.
func (b *bot) connect(i int) error {
	r := b.r
	s := r.servers[i]
	ctx, cancel := context.WithTimeout(r.ctx, readyTimeout)
	defer cancel()
	c, err := chat.DialLines(ctx, s.addr)
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
	cmds := []string{"/nick " + b.name}
	for _, room := range b.rooms {
		cmds = append(cmds, "/join "+room)
	}
	if !slices.Contains(b.rooms, chat.DefaultRoom) {
		cmds = append(cmds, "/leave "+chat.DefaultRoom)
	}
	cmds = append(cmds, "/who "+b.rooms[len(b.rooms)-1])
	for _, cmd := range cmds {
		if err := c.Send(ctx, transport.Message{Data: []byte(cmd)}); err != nil {
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
func (b *bot) read(c *chat.LineConn, server int) {
	defer b.r.readers.Done()
	for {
		m, err := c.Recv(b.r.ctx)
		if err != nil {
			break
		}
		now := time.Now()
		line := string(m.Data)
		b.mu.Lock()
		switch {
		case strings.HasPrefix(line, "welcome "):
			if _, id, ok := strings.Cut(line, "your id is "); ok {
				b.id = strings.Fields(id)[0]
			}
		case whoLine.MatchString(line):
			if !b.joined {
				b.joined = true
				close(b.ready)
			}
		default:
			if sm := chatLine.FindStringSubmatch(line); sm != nil {
				tok, _ := strconv.Atoi(sm[2])
				room, replayed := strings.CutPrefix(sm[1], "replay:")
				b.got = append(b.got, receipt{tok: tok, room: room, server: server, at: now, line: line, replay: replayed})
			} else if sm := replayedMsg.FindStringSubmatch(line); sm != nil {
				if sm[3] == "gone" {
					b.replayGone = true
				}
				b.replaysDone++
			}
		}
		b.mu.Unlock()
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
			b.askReplay(i)
			b.mu.Lock()
			if !b.stopped.IsZero() {
				b.switched = time.Since(b.stopped)
			}
			b.mu.Unlock()
			return
		}
	}
}

// askReplay asks the replay buffer of server i, if there is one, for what
// each of the bot's rooms had after the last message the bot got there.
func (b *bot) askReplay(i int) {
	r := b.r
	if len(r.replayers) == 0 {
		return
	}
	b.mu.Lock()
	c, id := b.conn, b.id
	var asks []string
	for _, room := range b.rooms {
		last := 0
		for _, g := range b.got {
			if slices.Contains(strings.Split(g.room, ","), room) {
				last = g.tok
			}
		}
		asks = append(asks, fmt.Sprintf("/msg %s replay %s %s after %d", r.replayers[i].id(), id, room, last))
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.ctx, sendTimeout)
	defer cancel()
	for _, a := range asks {
		if err := c.Send(ctx, transport.Message{Data: []byte(a)}); err != nil {
			return
		}
	}
}

// say sends one line: a chat text (or a /to, /msg command) numbered with a
// fresh token. While the bot is between servers it waits to be reconnected.
func (b *bot) say(text, phase string) (int, error) {
	r := b.r
	r.mu.Lock()
	r.tok++
	tok := r.tok
	r.mu.Unlock()
	line := displayText(text, tok)
	room := b.rooms[len(b.rooms)-1]
	if strings.HasPrefix(text, "/") {
		room = strings.Fields(text)[1] // the /to rooms or the /msg id
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		b.mu.Lock()
		c, server, ready := b.conn, b.server, b.ready
		joined := b.joined
		b.mu.Unlock()
		if joined && r.servers[server].alive() {
			at := time.Now()
			r.mu.Lock()
			r.sent[tok] = sentRec{from: b, room: room, server: server, at: at, phase: phase}
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(r.ctx, sendTimeout)
			err := c.Send(ctx, transport.Message{Data: []byte(line)})
			cancel()
			if err == nil {
				return tok, nil
			}
			r.mu.Lock()
			delete(r.sent, tok) // never left the bot
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
