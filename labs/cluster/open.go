package cluster

import (
	"context"
	"fmt"
	"os"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
	"github.com/netlab/netlab/labs/chat/adapter/redisadapter"
)

// Adapter kinds, as --adapter takes them.
const (
	KindNone  = "none"  // nothing leaves the server (adapter.Local)
	KindNATS  = "nats"  // NATS core pub/sub
	KindRedis = "redis" // Redis pub/sub
)

// Kinds lists the adapter kinds, for help texts and errors.
var Kinds = []string{KindNone, KindNATS, KindRedis}

// CheckKind returns an error for an unknown adapter kind ("local" is
// accepted as another name for "none").
func CheckKind(kind string) error {
	switch kind {
	case KindNone, "local", KindNATS, KindRedis:
		return nil
	}
	return fmt.Errorf("unknown adapter %q: want none, nats or redis", kind)
}

// An AdapterConfig says which adapter a chat server uses and where its
// broker is.
type AdapterConfig struct {
	Kind     string // none (or local), nats, redis
	NATSURL  string // nats://host:4222 (nats://127.0.0.1:4222 when empty)
	RedisURL string // redis://host:6379 (redis://127.0.0.1:6379 when empty)
	// ServerID is the server's id (Broadcast.Origin); give the hub the same
	// one (chat.Config.ServerID). Random when empty.
	ServerID string
	// Topic is the NATS subject or Redis channel broadcasts travel on
	// (natsadapter.DefaultSubject or redisadapter.DefaultChannel when
	// empty). Servers on different topics form different clusters.
	Topic string
}

// OpenAdapter connects the adapter cfg names. It is what
// 'netlab chat serve --adapter nats|redis' calls:
//
//	ad, err := cluster.OpenAdapter(ctx, cluster.AdapterConfig{Kind: kind, NATSURL: natsURL, RedisURL: redisURL, ServerID: id})
//	srv, err := chat.Start(ctx, chat.ServerConfig{..., Hub: chat.Config{ServerID: id, Adapter: ad}})
//
// The hub closes the adapter when it stops.
func OpenAdapter(ctx context.Context, cfg AdapterConfig) (adapter.Adapter, error) {
	switch cfg.Kind {
	case KindNone, "local", "":
		return &adapter.Local{}, nil
	case KindNATS:
		return natsadapter.New(natsadapter.Config{URL: cfg.NATSURL, ID: cfg.ServerID, Subject: cfg.Topic})
	case KindRedis:
		return redisadapter.New(ctx, redisadapter.Config{URL: cfg.RedisURL, ID: cfg.ServerID, Channel: cfg.Topic})
	}
	return nil, CheckKind(cfg.Kind)
}

// AdapterStats returns what ad counted, and false for an adapter that does
// not count (adapter.Local).
func AdapterStats(ad adapter.Adapter) (pubsub.Stats, bool) {
	if r, ok := ad.(pubsub.StatsReporter); ok {
		return r.Stats(), true
	}
	return pubsub.Stats{}, false
}

// NewServerID returns a name for a chat server that is unique in a cluster:
// the host name and a random suffix ("laptop-3f9a1c07"). Two servers with
// the same id would drop each other's broadcasts as their own.
func NewServerID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "server"
	}
	return h + "-" + randomHex()
}
