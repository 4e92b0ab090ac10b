// Package adapter connects chat hubs running in several server processes, as
// Socket.IO's adapters do: a hub delivers a broadcast to its own sockets and
// publishes it through an Adapter; every other server's hub receives it and
// delivers it to its own sockets in the target rooms.
//
// Local is the single-process adapter (the default): there are no other
// servers, so Publish sends nowhere. NATS and Redis adapters live in their own
// packages and implement the same interface.
package adapter

import (
	"context"
	"errors"
	"sync"

	"github.com/netlab/netlab/transport"
)

// A Broadcast is one message for a set of rooms, as it travels between
// servers.
type Broadcast struct {
	Origin string   // id of the server that published it; a server ignores its own
	Rooms  []string // target rooms (union: each socket gets it once); empty means everyone
	Except []string // socket ids (each socket's own room) excluded
	Msg    transport.Message
}

// An Adapter carries broadcasts between the hubs of several servers.
//
// Implementations must be safe for use by multiple goroutines. The handler
// given to Subscribe may be called from any goroutine but never concurrently
// with itself; it must not block for long (a hub hands the broadcast to its
// run goroutine and returns).
type Adapter interface {
	// Publish sends b to the other servers. It does not deliver to the
	// publishing server's own sockets: the hub does that itself.
	Publish(ctx context.Context, b Broadcast) error
	// Subscribe registers handler to receive broadcasts published by OTHER
	// servers (those whose Origin differs from this server's id).
	Subscribe(handler func(Broadcast)) error
	// Close stops delivery to the handler and releases resources. It is
	// idempotent.
	Close() error
}

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("adapter: closed")

// Local is the adapter for a single server: there are no other servers, so
// Publish goes nowhere and the subscribed handler is never called.
// The zero value is ready to use; it is safe for use by multiple goroutines.
type Local struct {
	mu     sync.Mutex
	closed bool
}

var _ Adapter = (*Local)(nil)

// Publish does nothing (there are no other servers) unless the adapter is
// closed.
func (l *Local) Publish(ctx context.Context, b Broadcast) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Subscribe records nothing: no other server will ever publish.
func (l *Local) Subscribe(handler func(Broadcast)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return nil
}

// Close marks the adapter closed.
func (l *Local) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}
