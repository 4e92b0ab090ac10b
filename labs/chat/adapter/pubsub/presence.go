package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A Member is one socket somewhere in the cluster.
type Member struct {
	Server string `json:"server"` // id of the server it is connected to
	ID     string `json:"id"`     // socket id (its own room)
	Name   string `json:"name"`
	Door   string `json:"door"` // "ws", "poll", "tcp", ...
}

// A Presence adapter can ask the other servers who is in a room, as
// Socket.IO's fetchSockets does across a cluster.
type Presence interface {
	// AnswerMembers installs the function that tells other servers who
	// is in a room on this server. It is called on the adapter's own
	// goroutine, with a deadline in ctx.
	AnswerMembers(f func(ctx context.Context, room string) []Member) error
	// RoomMembers asks every other server who is in room and returns
	// their answers, waiting until ctx is done or wait has passed (Redis
	// knows how many servers listen and returns as soon as all have
	// answered). Servers that do not answer in time are left out; answered
	// tells how many did.
	RoomMembers(ctx context.Context, room string, wait time.Duration) (members []Member, answered int, err error)
}

// MaxMembers bounds the members one server lists in an answer.
const MaxMembers = 10000

// A PresenceRequest asks the servers who is in Room; answers go to Reply.
type PresenceRequest struct {
	V      int    `json:"v"`
	Origin string `json:"origin"`
	Room   string `json:"room"`
	Reply  string `json:"reply"`
}

// A PresenceAnswer is one server's members of the room asked about.
type PresenceAnswer struct {
	V       int      `json:"v"`
	Origin  string   `json:"origin"`
	Members []Member `json:"members"`
}

// EncodeJSON is json.Marshal without HTML escaping.
func EncodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // only strings, numbers and slices of them
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// DecodePresence decodes a request or an answer from the broker, refusing
// anything over MaxEnvelope bytes, of another version, or without origin.
func DecodePresence(b []byte, v any) error {
	if len(b) > MaxEnvelope {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxEnvelope)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var ver int
	var origin string
	switch p := v.(type) {
	case *PresenceRequest:
		ver, origin = p.V, p.Origin
		if p.Reply == "" {
			return fmt.Errorf("%w: presence request without reply", ErrMalformed)
		}
	case *PresenceAnswer:
		ver, origin = p.V, p.Origin
		if len(p.Members) > MaxMembers {
			return fmt.Errorf("%w: %d members, limit %d", ErrMalformed, len(p.Members), MaxMembers)
		}
	}
	if ver != 1 || origin == "" {
		return fmt.Errorf("%w: presence version %d origin %q", ErrMalformed, ver, origin)
	}
	return nil
}

// AnswerTimeout bounds how long a server spends listing its members for
// another server's question.
const AnswerTimeout = time.Second

// Answer builds this server's answer to a request with f, capped at
// MaxMembers, each member stamped with this server's id.
func (c *Core) Answer(ctx context.Context, f func(ctx context.Context, room string) []Member, req PresenceRequest) []byte {
	ctx, cancel := context.WithTimeout(ctx, AnswerTimeout)
	defer cancel()
	ms := f(ctx, req.Room)
	if len(ms) > MaxMembers {
		ms = ms[:MaxMembers]
	}
	for i := range ms {
		ms[i].Server = c.id
	}
	return EncodeJSON(PresenceAnswer{V: 1, Origin: c.id, Members: ms})
}

// Request builds a request for room's members, answered at reply.
func (c *Core) Request(room, reply string) []byte {
	return EncodeJSON(PresenceRequest{V: 1, Origin: c.id, Room: room, Reply: reply})
}

// NewReplyName returns a fresh name for a reply subject or channel under
// prefix.
func NewReplyName(prefix string) string { return prefix + "." + randomID() + randomID() }
