package httppoll

import (
	"fmt"
	"time"
)

// Mode is how a client receives: short or long polling.
type Mode int

const (
	// Short polling: a GET every PollInterval, answered at once.
	Short Mode = iota
	// Long polling: a GET the server holds until a message or Hold.
	Long
)

// String returns "short" or "long".
func (m Mode) String() string {
	if m == Long {
		return "long"
	}
	return "short"
}

// ParseMode reads "short" or "long" (also "poll" and "longpoll").
func ParseMode(s string) (Mode, error) {
	switch s {
	case "short", "poll":
		return Short, nil
	case "long", "longpoll":
		return Long, nil
	}
	return Short, fmt.Errorf("httppoll: unknown mode %q: want short or long", s)
}

// Defaults for Options fields left zero.
const (
	DefaultPrefix       = "/poll"
	DefaultPollInterval = 100 * time.Millisecond
	DefaultHold         = 25 * time.Second
	// DefaultMaxHold caps the wait a client may ask the server for.
	DefaultMaxHold = 60 * time.Second
	// DefaultMaxMessage is the largest Message.Data.
	DefaultMaxMessage = 64 << 10
	// DefaultMaxBody is the largest request body the server reads (413
	// above it) and the most message bytes one poll answer carries.
	DefaultMaxBody = 1 << 20
	// DefaultSessionIdle: a session without any request for this long expires.
	DefaultSessionIdle = 60 * time.Second
	// DefaultQueue is how many messages wait for a client before Send blocks.
	DefaultQueue = 1024
	// DefaultReadHeaderTimeout cuts off slowloris clients in Listen's server.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultWriteTimeout bounds each client POST.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds reading one POST body: a client sending
	// it a byte a second is answered 408 and cut off.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultMaxPosts is how many POSTs one session may have in progress
	// at once; more are answered 429 at once.
	DefaultMaxPosts = 2
	// DefaultMaxSessions bounds the sessions open at once; POST /session
	// beyond it is answered 503.
	DefaultMaxSessions = 10000

	// closeTimeout bounds how long Close waits for the client to collect
	// what was queued and be told 410 Gone.
	closeTimeout = 2 * time.Second
	// pollGrace is how much later than its usual gap between GETs a
	// client's next GET may come before Close stops waiting for it.
	pollGrace = 250 * time.Millisecond
)

// Options configure the polling server and client. Zero fields take the
// defaults above; the server ignores Mode, PollInterval and Hold.
type Options struct {
	Mode              Mode
	PollInterval      time.Duration // short polling: time between GETs
	Hold              time.Duration // long polling: wait the client asks for
	MaxHold           time.Duration
	MaxMessage        int
	MaxBody           int64
	SessionIdle       time.Duration
	Queue             int
	ReadHeaderTimeout time.Duration
	WriteTimeout      time.Duration
	BodyTimeout       time.Duration
	MaxPosts          int
	MaxSessions       int
	// MaxConns bounds the connections Listen's server keeps open; the
	// excess is answered 503 and closed. 0 means a default below the file
	// descriptor limit (see transport/accept).
	MaxConns int
	// Logf, when set, hears Listen's accept errors (once, not per retry).
	Logf func(format string, args ...any)
	// Prefix is the path of the endpoints (DefaultPrefix).
	Prefix string
}

func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Hold <= 0 {
		o.Hold = DefaultHold
	}
	if o.MaxHold <= 0 {
		o.MaxHold = DefaultMaxHold
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.MaxPosts <= 0 {
		o.MaxPosts = DefaultMaxPosts
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return o
}

// wireLimit is the longest line (one encoded message) accepted: room for
// MaxMessage bytes in base64 inside the JSON wire form.
func (o Options) wireLimit() int { return 4*o.MaxMessage + 1024 }
