package sse

import "time"

// Defaults for Options fields left zero.
const (
	DefaultPrefix = "/sse"
	// DefaultRetry is sent as retry: at the start of every stream.
	DefaultRetry = time.Second
	// DefaultHeartbeat is the time between comment lines on an idle stream.
	DefaultHeartbeat = 15 * time.Second
	// DefaultMaxMessage is the largest Message.Data.
	DefaultMaxMessage = 64 << 10
	// DefaultMaxBody is the largest POST body the server reads (413 above).
	DefaultMaxBody = 1 << 20
	// DefaultQueue is how many messages wait unwritten before Send blocks.
	DefaultQueue = 1024
	// DefaultReplay is how many written messages the server keeps for a
	// reconnecting client.
	DefaultReplay = 1024
	// DefaultSessionIdle: a session with no stream and no request for this
	// long expires.
	DefaultSessionIdle = 60 * time.Second
	// DefaultReadHeaderTimeout cuts off slowloris clients in Listen's server.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultWriteTimeout bounds each write to a stream and each client POST.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds reading one POST body: a client sending
	// it a byte a second is answered 408 and cut off.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultMaxPosts is how many POSTs one session may have in progress
	// at once; more are answered 429 at once.
	DefaultMaxPosts = 2
	// DefaultMaxSessions bounds the sessions open at once; a new one
	// beyond it is answered 503.
	DefaultMaxSessions = 10000
	// DefaultReconnect is how long the client waits before reconnecting
	// until the server has said retry: (the spec leaves it to the client).
	DefaultReconnect = 3 * time.Second

	closeTimeout = 2 * time.Second
)

// Options configure the SSE server and client. Zero fields take the
// defaults above.
type Options struct {
	Retry             time.Duration // server: the retry: it sends
	Heartbeat         time.Duration // server: comment lines on an idle stream
	MaxMessage        int
	MaxBody           int64
	Queue             int
	Replay            int // server: written messages kept for a reconnect
	SessionIdle       time.Duration
	ReadHeaderTimeout time.Duration
	WriteTimeout      time.Duration
	BodyTimeout       time.Duration // server: a POST body arrives within it, or 408
	MaxPosts          int           // server: POSTs in progress per session, more are 429
	MaxSessions       int           // server: sessions open at once, more are 503
	// MaxConns bounds the connections Listen's server keeps open; the
	// excess is answered 503 and closed. 0 means a default below the file
	// descriptor limit (see transport/accept).
	MaxConns int
	// Logf, when set, hears Listen's accept errors (once, not per retry).
	Logf      func(format string, args ...any)
	Reconnect time.Duration // client: wait before a reconnect until retry: is known
	// Prefix is the path of the endpoints (DefaultPrefix).
	Prefix string
}

func (o Options) withDefaults() Options {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.Retry, DefaultRetry)
	set(&o.Heartbeat, DefaultHeartbeat)
	set(&o.SessionIdle, DefaultSessionIdle)
	set(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&o.WriteTimeout, DefaultWriteTimeout)
	set(&o.Reconnect, DefaultReconnect)
	set(&o.BodyTimeout, DefaultBodyTimeout)
	if o.MaxPosts <= 0 {
		o.MaxPosts = DefaultMaxPosts
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Replay <= 0 {
		o.Replay = DefaultReplay
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return o
}

// wireLimit is the longest data line (one encoded message): room for
// MaxMessage bytes in base64 inside the JSON wire form.
func (o Options) wireLimit() int { return 4*o.MaxMessage + 1024 }
