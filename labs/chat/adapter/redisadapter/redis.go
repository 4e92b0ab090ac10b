// Package redisadapter carries chat broadcasts between servers through Redis
// pub/sub (go-redis), as Socket.IO's Redis adapter does: every server
// PUBLISHes each broadcast on one channel and SUBSCRIBEs to it; Redis fans it
// out to the other servers, whose hubs deliver it to their own sockets.
//
// Redis pub/sub is at-most-once: a server that is disconnected when a
// broadcast is published never gets it. The adapter does not hide that: the
// publisher counts PublishErrors, receivers count Missed from gaps in each
// publisher's sequence numbers (see pubsub.Stats).
package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
)

// DefaultChannel is the channel broadcasts travel on unless Config.Channel
// names another.
const DefaultChannel = "netlab:chat:broadcast"

const (
	dialTimeout = 2 * time.Second
	// opTimeout bounds one PUBLISH (and the SUBSCRIBE confirmation).
	opTimeout = 2 * time.Second
	// healthEvery is how long the subscriber waits for a message before it
	// PINGs Redis to check the connection is alive.
	healthEvery = 5 * time.Second
	// Backoff between attempts to reach Redis again after losing it.
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
	// queueLen bounds the broadcasts waiting to be published; Publish
	// refuses (and counts) more rather than blocking the hub.
	queueLen = 4096
)

// Config says where to connect and as whom.
type Config struct {
	URL     string // redis://[user:password@]host:port[/db]; redis://127.0.0.1:6379 when empty
	ID      string // this server's id (Broadcast.Origin); random when empty
	Channel string // DefaultChannel when empty
}

// quiet discards go-redis's own log lines (dial failures while Redis is
// down), which would garble netlab's output; the adapter counts those
// failures in its Stats instead.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

// Adapter is an adapter.Adapter over Redis pub/sub. It is safe for use by
// multiple goroutines.
type Adapter struct {
	core    *pubsub.Core
	client  *redis.Client
	channel string
	queue   chan []byte

	ctx      context.Context // canceled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the writer
	readDone chan struct{}  // closed when the reader has returned (nil: no reader)

	mu       sync.Mutex
	ps       *redis.PubSub
	closed   bool
	answerer func(ctx context.Context, room string) []pubsub.Member // nil: not answering presence
}

var (
	_ adapter.Adapter      = (*Adapter)(nil)
	_ pubsub.StatsReporter = (*Adapter)(nil)
)

// New connects to Redis at cfg.URL and checks it answers PING. After that,
// losing Redis is not fatal: publishing fails (counted) until it is back, and
// the subscription is restored by itself.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	if cfg.URL == "" {
		cfg.URL = "redis://127.0.0.1:6379"
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisadapter: %w", err)
	}
	opt.DialTimeout = dialTimeout
	opt.ReadTimeout = opTimeout
	opt.WriteTimeout = opTimeout
	// Fail fast while Redis is down, so the loss is counted now rather
	// than hidden behind retries: one retry (a pooled connection may be
	// stale after a restart), one dial attempt.
	opt.MaxRetries = 1
	opt.MinRetryBackoff = minBackoff
	opt.MaxRetryBackoff = minBackoff
	opt.DialerRetries = 1
	opt.DisableIdentity = true // no CLIENT SETINFO: older Redis versions reject it
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	client := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redisadapter: connect %s: %w (is redis-server running there?)", opt.Addr, err)
	}
	a := &Adapter{
		core:    pubsub.NewCore(cfg.ID),
		client:  client,
		channel: cfg.Channel,
		queue:   make(chan []byte, queueLen),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.writeLoop()
	return a, nil
}

// ID is the server id this adapter publishes as.
func (a *Adapter) ID() string { return a.core.ID() }

// Publish queues b for the other servers and returns without waiting for
// Redis, so a slow or absent Redis never stalls the hub. A broadcast that
// cannot be published (queue full, Redis unreachable) is counted in
// Stats().PublishErrors; a full queue is also returned as an error.
func (a *Adapter) Publish(ctx context.Context, b adapter.Broadcast) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return adapter.ErrClosed
	}
	data, err := a.core.Seal(b)
	if err != nil {
		return fmt.Errorf("redisadapter: publish: %w", err)
	}
	select {
	case a.queue <- data:
		return nil
	default:
		a.core.PublishFailed()
		return fmt.Errorf("redisadapter: publish: %d broadcasts waiting for redis, broadcast lost", queueLen)
	}
}

// writeLoop does every PUBLISH, in order.
func (a *Adapter) writeLoop() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			// What is still queued will never be published.
			for {
				select {
				case <-a.queue:
					a.core.PublishFailed()
				default:
					return
				}
			}
		case data := <-a.queue:
			ctx, cancel := context.WithTimeout(a.ctx, opTimeout)
			err := a.client.Publish(ctx, a.channel, data).Err()
			cancel()
			if err != nil {
				a.core.PublishFailed()
				continue
			}
			a.core.Published()
		}
	}
}

// Subscribe passes every broadcast published by the other servers to
// handler, in the order each server published them, from one goroutine. It
// returns once Redis has confirmed the subscription. It may be called once.
func (a *Adapter) Subscribe(handler func(adapter.Broadcast)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return adapter.ErrClosed
	}
	if err := a.core.SetHandler(handler); err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	return a.subscribeLocked(a.channel)
}

// subscribeLocked subscribes to channel on the adapter's one subscription
// connection, starting it (and its reader) on first use. a.mu is held.
func (a *Adapter) subscribeLocked(channel string) error {
	if a.ps != nil {
		if err := a.ps.Subscribe(a.ctx, channel); err != nil {
			return fmt.Errorf("redisadapter: subscribe %s: %w", channel, err)
		}
		return nil
	}
	ps := a.client.Subscribe(a.ctx, channel)
	ctx, cancel := context.WithTimeout(a.ctx, opTimeout)
	defer cancel()
	if _, err := ps.ReceiveTimeout(ctx, opTimeout); err != nil {
		_ = ps.Close()
		return fmt.Errorf("redisadapter: subscribe %s: %w", channel, err)
	}
	a.ps = ps
	a.readDone = make(chan struct{})
	go a.readLoop(ps)
	return nil
}

// readLoop does every read on the subscription connection. go-redis redials
// and re-subscribes after an error; Redis confirms with a "subscribe" reply,
// which marks the adapter reconnected.
func (a *Adapter) readLoop(ps *redis.PubSub) {
	defer close(a.readDone)
	backoff := minBackoff
	for {
		msg, err := ps.ReceiveTimeout(a.ctx, healthEvery)
		if a.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel: check the connection is still there.
				// An error here is seen by the next receive.
				_ = ps.Ping(a.ctx)
				continue
			}
			a.core.Disconnected()
			select {
			case <-a.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				a.core.Reconnected()
			}
		case *redis.Message:
			if m.Channel == a.presenceChannel() {
				a.answer([]byte(m.Payload))
				continue
			}
			a.core.Deliver([]byte(m.Payload))
		}
	}
}

// Stats returns what the adapter counted: published, received, lost.
func (a *Adapter) Stats() pubsub.Stats { return a.core.Stats() }

// Close stops delivery, drops what was not yet published (counted as publish
// errors) and closes the connections. It waits for the reader to return,
// except when the reader is inside the handler: the handler may be waiting
// for the hub that is calling Close, and returns once Close has. It is
// idempotent.
func (a *Adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	ps, readDone := a.ps, a.readDone
	a.mu.Unlock()
	a.core.Close()
	a.cancel()
	if ps != nil {
		_ = ps.Close()
	}
	a.wg.Wait()
	for readDone != nil {
		select {
		case <-readDone:
			readDone = nil
		case <-time.After(10 * time.Millisecond):
			if a.core.InHandler() {
				readDone = nil
			}
		}
	}
	return a.client.Close()
}
