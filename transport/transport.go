package transport

import (
	"context"
	"errors"
	"net"
	"time"
)

// A Message is one whole message, carried intact by every transport.
type Message struct {
	Seq   uint64    // set by the sender; lets the receiver see loss, order and duplicates
	Event string    // named event ("echo", "chat", "join"), as Socket.IO names its events
	Room  string    // optional target room
	Sent  time.Time // sender's wall clock, for one-way delay when both ends share a clock
	Data  []byte    // the payload
}

// A Conn carries whole messages in both directions.
//
// Send and Recv may be called from different goroutines at the same time;
// several goroutines may call Send concurrently. Close may be called at any
// time and more than once. After Close, Send and Recv return an error that
// matches ErrClosed.
type Conn interface {
	// Send queues m for delivery. It blocks while the connection's send
	// queue is full, until ctx is done. A message larger than the
	// transport's limit is refused with an error matching ErrTooLarge and
	// nothing is sent.
	Send(ctx context.Context, m Message) error
	// Recv returns the next message. When the peer closes a connection
	// cleanly Recv returns io.EOF. When ctx is done Recv returns ctx.Err()
	// and the connection stays usable.
	Recv(ctx context.Context) (Message, error)
	// Close flushes what was queued (within a short bound) and closes the
	// connection.
	Close() error
}

// A Listener accepts connections for one transport. Multiple goroutines may
// invoke methods on a Listener simultaneously.
type Listener interface {
	// Accept waits for the next client. It returns an error matching
	// ErrClosed after Close.
	Accept(ctx context.Context) (Conn, error)
	// Addr is the address clients dial, as Transport.Dial takes it.
	Addr() net.Addr
	// Close stops listening and closes every connection accepted so far.
	Close() error
}

// A Transport is one way to talk: it listens and dials.
type Transport interface {
	Info() Info
	Listen(ctx context.Context, addr string) (Listener, error)
	Dial(ctx context.Context, addr string) (Conn, error)
}

// Info describes a transport: its name and what it promises.
type Info struct {
	Name string // short name used on the command line: "tcp", "udp", "poll", "longpoll", "ws"
	// Network is what carries it underneath, "tcp" or "udp": the kind of
	// proxy (impairment, wire tap) that can sit between client and server.
	Network string
	// Reliable reports whether every message sent arrives or an error is
	// reported (TCP and what runs on it); false for UDP.
	Reliable bool
	// Ordered reports whether messages arrive in the order they were sent.
	Ordered bool
	// Connected reports whether there is a connection whose end the peer
	// sees: Recv returns io.EOF after the peer's Close.
	Connected bool
	// Duplex reports whether both sides can send at any moment over one
	// connection, without the client asking first (false for polling).
	Duplex bool
	// MaxMessage is the largest Data, in bytes, one message may carry.
	MaxMessage int
}

// Errors every transport reports the same way, so labs can tell them apart
// with errors.Is.
var (
	// ErrClosed is returned by operations on a closed Conn or Listener.
	ErrClosed = net.ErrClosed
	// ErrTooLarge is returned by Send for a message over the transport's
	// size limit, and by Recv when the peer sent one.
	ErrTooLarge = errors.New("message too large")
)

// WireStats counts what crossed the real connection, headers and framing
// included, as seen by one end.
type WireStats struct {
	BytesSent     int64 // bytes written to the socket
	BytesReceived int64 // bytes read from the socket
	Requests      int64 // HTTP requests made (polling transports; 1 for the WebSocket handshake)
	EmptyPolls    int64 // polls answered with no message
}

// A Meter is a Conn that counts bytes on the wire. Labs find it by type
// assertion; every transport in netlab implements it on both ends.
type Meter interface {
	WireStats() WireStats
}

// A Via puts something between a client and a server (an impaired link, a
// wire tap): given the server's address and the network it runs on ("tcp" or
// "udp"), it returns the address the client should dial instead. What it
// starts stops when ctx is done.
type Via func(ctx context.Context, network, upstream string) (addr string, err error)
