package natsadapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
)

var _ pubsub.Presence = (*Adapter)(nil)

// presenceSubject is where questions about room members travel.
func (a *Adapter) presenceSubject() string { return a.subject + ".presence" }

// AnswerMembers answers the other servers' questions about who is in a room
// here, with f. It may be called once.
func (a *Adapter) AnswerMembers(f func(ctx context.Context, room string) []pubsub.Member) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return adapter.ErrClosed
	}
	if a.presence != nil {
		return errors.New("natsadapter: already answering presence")
	}
	sub, err := a.nc.Subscribe(a.presenceSubject(), func(m *nats.Msg) {
		var req pubsub.PresenceRequest
		if err := pubsub.DecodePresence(m.Data, &req); err != nil || req.Origin == a.core.ID() {
			return
		}
		_ = a.nc.Publish(req.Reply, a.core.Answer(context.Background(), f, req))
	})
	if err != nil {
		return fmt.Errorf("natsadapter: presence: %w", err)
	}
	if err := a.nc.FlushTimeout(connectTimeout); err != nil {
		return fmt.Errorf("natsadapter: presence: %w", err)
	}
	a.presence = sub
	return nil
}

// RoomMembers asks the other servers who is in room. NATS does not say how
// many servers listen, so it collects answers until wait has passed (or ctx
// is done).
func (a *Adapter) RoomMembers(ctx context.Context, room string, wait time.Duration) ([]pubsub.Member, int, error) {
	inbox := nats.NewInbox()
	sub, err := a.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, fmt.Errorf("natsadapter: presence: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := a.nc.Publish(a.presenceSubject(), a.core.Request(room, inbox)); err != nil {
		return nil, 0, fmt.Errorf("natsadapter: presence: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var out []pubsub.Member
	answered := 0
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return out, answered, nil // the wait is over
		}
		var ans pubsub.PresenceAnswer
		if pubsub.DecodePresence(m.Data, &ans) != nil {
			continue
		}
		answered++
		out = append(out, ans.Members...)
	}
}
