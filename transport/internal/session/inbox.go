package session

import (
	"sync"

	"github.com/netlab/netlab/transport"
)

// An Inbox holds the messages a session's client POSTed until the server's
// Recv takes them. A POST's messages go in all together or not at all
// (PutAll): a client told to send again later has had none of them taken,
// so sending again duplicates nothing.
type Inbox struct {
	mu sync.Mutex             // one POST puts at a time
	C  chan transport.Message // Recv takes from it
}

// NewInbox returns an Inbox with room for n messages.
func NewInbox(n int) *Inbox { return &Inbox{C: make(chan transport.Message, n)} }

// Cap is how many messages the Inbox holds at most.
func (b *Inbox) Cap() int { return cap(b.C) }

// PutAll puts every one of msgs in the Inbox, or none when there is no room
// for all of them; room is how many there was room for.
func (b *Inbox) PutAll(msgs []transport.Message) (room int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Only PutAll puts, one call at a time, and Recv only takes: the room
	// seen here can only grow until every message is in.
	if room = cap(b.C) - len(b.C); room < len(msgs) {
		return room, false
	}
	for _, m := range msgs {
		b.C <- m
	}
	return room, true
}
