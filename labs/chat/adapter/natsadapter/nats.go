// Package natsadapter carries chat broadcasts between servers through NATS
// (nats.go), against an external nats-server or one embedded in the process
// (StartServer). Every server publishes each broadcast on one subject and
// subscribes to it; the broker fans it out to the other servers, whose hubs
// deliver it to their own sockets in the target rooms.
//
// NATS core pub/sub is at-most-once: a broadcast published while a server is
// cut off from the broker is lost for it. The adapter does not hide that: the
// publisher counts PublishErrors, receivers count Missed from gaps in each
// publisher's sequence numbers (see pubsub.Stats).
package natsadapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
)

// DefaultSubject is the subject broadcasts travel on unless Config.Subject
// names another (servers on different subjects form different clusters).
const DefaultSubject = "netlab.chat.broadcast"

// Reconnection settings: retry forever, quickly, so a restarted broker is
// found again within a fraction of a second.
const (
	reconnectWait   = 100 * time.Millisecond
	reconnectJitter = 100 * time.Millisecond
	connectTimeout  = 2 * time.Second
	// pendingMsgs bounds the broadcasts received but not yet handled; over
	// it NATS drops them (a slow consumer) and receivers count them Missed.
	pendingMsgs = 65536
)

// Config says where to connect and as whom.
type Config struct {
	URL     string // e.g. nats://127.0.0.1:4222 (nats.DefaultURL when empty)
	ID      string // this server's id (Broadcast.Origin); random when empty
	Subject string // DefaultSubject when empty
}

// Adapter is an adapter.Adapter over NATS. It is safe for use by multiple
// goroutines.
type Adapter struct {
	core    *pubsub.Core
	nc      *nats.Conn
	subject string

	mu       sync.Mutex
	sub      *nats.Subscription
	presence *nats.Subscription
	closed   bool
}

var (
	_ adapter.Adapter      = (*Adapter)(nil)
	_ pubsub.StatsReporter = (*Adapter)(nil)
)

// New connects to the NATS server at cfg.URL. The connection reconnects by
// itself, forever, after the broker goes away, and restores the
// subscription.
func New(cfg Config) (*Adapter, error) {
	if cfg.URL == "" {
		cfg.URL = nats.DefaultURL
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	a := &Adapter{core: pubsub.NewCore(cfg.ID), subject: cfg.Subject}
	nc, err := nats.Connect(cfg.URL,
		nats.Name("netlab chat "+a.core.ID()),
		nats.NoEcho(), // the broker does not send our own broadcasts back
		nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitter),
		// No buffering while disconnected: Publish fails at once and the
		// loss is counted, instead of piling up and arriving late (or
		// never, if subscribers are not back yet).
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { a.core.Disconnected() }),
		nats.ReconnectHandler(func(*nats.Conn) { a.core.Reconnected() }),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}), // slow consumer drops show up as Missed
		nats.NoCallbacksAfterClientClose(),
	)
	if err != nil {
		return nil, fmt.Errorf("natsadapter: connect %s: %w (is a nats-server running there?)", cfg.URL, err)
	}
	a.nc = nc
	return a, nil
}

// ID is the server id this adapter publishes as.
func (a *Adapter) ID() string { return a.core.ID() }

// Publish sends b to the other servers. It does not wait for them: NATS
// delivers at most once. While the broker is unreachable it fails at once
// and the broadcast is counted in Stats().PublishErrors.
func (a *Adapter) Publish(ctx context.Context, b adapter.Broadcast) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := a.core.Seal(b)
	if err != nil {
		return fmt.Errorf("natsadapter: publish: %w", err)
	}
	if err := a.nc.Publish(a.subject, data); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return adapter.ErrClosed
		}
		a.core.PublishFailed()
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			return fmt.Errorf("natsadapter: publish: broker unreachable, broadcast lost: %w", err)
		}
		return fmt.Errorf("natsadapter: publish: %w", err)
	}
	a.core.Published()
	return nil
}

// Subscribe passes every broadcast published by the other servers to
// handler, in the order each server published them, from one goroutine. It
// may be called once.
func (a *Adapter) Subscribe(handler func(adapter.Broadcast)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return adapter.ErrClosed
	}
	if err := a.core.SetHandler(handler); err != nil {
		return fmt.Errorf("natsadapter: %w", err)
	}
	sub, err := a.nc.Subscribe(a.subject, func(m *nats.Msg) { a.core.Deliver(m.Data) })
	if err != nil {
		return fmt.Errorf("natsadapter: subscribe %s: %w", a.subject, err)
	}
	if err := sub.SetPendingLimits(pendingMsgs, pubsub.MaxEnvelope*64); err != nil {
		return fmt.Errorf("natsadapter: subscribe %s: %w", a.subject, err)
	}
	// Make sure the server has the subscription before returning, so a
	// broadcast published right after Subscribe returns is not missed.
	if err := a.nc.FlushTimeout(connectTimeout); err != nil {
		return fmt.Errorf("natsadapter: subscribe %s: %w", a.subject, err)
	}
	a.sub = sub
	return nil
}

// Stats returns what the adapter counted: published, received, lost.
func (a *Adapter) Stats() pubsub.Stats {
	s := a.core.Stats()
	s.Connected = a.nc.IsConnected()
	return s
}

// Close stops delivery and closes the connection. It is idempotent.
func (a *Adapter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	a.core.Close()
	a.nc.Close() // does not wait for a handler call in progress
	return nil
}
