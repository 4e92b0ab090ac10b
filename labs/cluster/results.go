package cluster

import (
	"io"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/report"
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
	// Dialer connects a bot to a server (required): the bots talk in
	// transport.Message form (events, rooms, numbers), through a door of the
	// server (netlab cluster demo uses the WebSocket door) or an in-process
	// connection to its hub (the tests).
	Dialer chat.Dialer
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
	ID      string `json:"id"`
	TCPAddr string `json:"tcp_addr"`
	// HTTPAddr is its HTTP address (page, doors); "" without doors.
	HTTPAddr string       `json:"http_addr"`
	Stopped  bool         `json:"stopped_mid_run"`
	Adapter  *AdapterJSON `json:"adapter,omitempty"` // nil for none
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
	Seq        uint64     `json:"seq"`  // the number the bot gave the message
	Room       string     `json:"room"` // where it went: a room, rooms (math,art), or a socket's id room
	Text       string     `json:"text"`
	Deliveries []Delivery `json:"deliveries"`
}

// Delivery is one bot receiving one message.
type Delivery struct {
	Bot     string  `json:"bot"`
	Server  string  `json:"server"`
	Line    string  `json:"line"` // the message as a line client shows it
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
	// SameServerSamples and CrossServerSamples are those latencies, one
	// by one (for the charts); the ...Us fields are them in the JSON.
	SameServerSamples    []time.Duration `json:"-"`
	CrossServerSamples   []time.Duration `json:"-"`
	SameServerSamplesUs  []float64       `json:"same_server_latency_samples_us"`
	CrossServerSamplesUs []float64       `json:"cross_server_latency_samples_us"`
	Stopped              string          `json:"stopped_server,omitempty"`
	StoppedAtMs          float64         `json:"stopped_at_ms,omitempty"`
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
	// messages the bot already had (its own among them), which it drops.
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
