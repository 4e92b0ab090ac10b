package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
)

var _ pubsub.Presence = (*Adapter)(nil)

// presenceChannel is where questions about room members travel.
func (a *Adapter) presenceChannel() string { return a.channel + ":presence" }

// AnswerMembers answers the other servers' questions about who is in a room
// here, with f. It may be called once.
func (a *Adapter) AnswerMembers(f func(ctx context.Context, room string) []pubsub.Member) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return adapter.ErrClosed
	}
	if a.answerer != nil {
		return errors.New("redisadapter: already answering presence")
	}
	a.answerer = f
	return a.subscribeLocked(a.presenceChannel())
}

// answer replies to a presence request, off the reader goroutine.
func (a *Adapter) answer(data []byte) {
	var req pubsub.PresenceRequest
	if err := pubsub.DecodePresence(data, &req); err != nil || req.Origin == a.core.ID() {
		return
	}
	a.mu.Lock()
	f, closed := a.answerer, a.closed
	if f != nil && !closed {
		a.wg.Add(1)
	}
	a.mu.Unlock()
	if f == nil || closed {
		return
	}
	go func() {
		defer a.wg.Done()
		ans := a.core.Answer(a.ctx, f, req)
		ctx, cancel := context.WithTimeout(a.ctx, opTimeout)
		defer cancel()
		_ = a.client.Publish(ctx, req.Reply, ans).Err()
	}()
}

// RoomMembers asks the other servers who is in room. Redis says how many
// subscribers a PUBLISH reached, so it returns as soon as every other
// answering server has answered, or when wait has passed.
func (a *Adapter) RoomMembers(ctx context.Context, room string, wait time.Duration) ([]pubsub.Member, int, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	reply := pubsub.NewReplyName(a.presenceChannel())
	ps := a.client.Subscribe(ctx, reply)
	defer ps.Close()
	if _, err := ps.ReceiveTimeout(ctx, opTimeout); err != nil {
		return nil, 0, fmt.Errorf("redisadapter: presence: %w", err)
	}
	n, err := a.client.Publish(ctx, a.presenceChannel(), a.core.Request(room, reply)).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("redisadapter: presence: %w", err)
	}
	a.mu.Lock()
	if a.answerer != nil {
		n-- // our own subscription got it too, and does not answer itself
	}
	a.mu.Unlock()
	var out []pubsub.Member
	answered := 0
	for int64(answered) < n {
		msg, err := ps.Receive(ctx)
		if err != nil {
			break // the wait is over
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		var ans pubsub.PresenceAnswer
		if pubsub.DecodePresence([]byte(m.Payload), &ans) != nil {
			continue
		}
		answered++
		out = append(out, ans.Members...)
	}
	return out, answered, nil
}
