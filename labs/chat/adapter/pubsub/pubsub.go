// Package pubsub holds what netlab's broker adapters (natsadapter,
// redisadapter) share: the envelope a Broadcast travels in on the broker, the
// per-server sequence numbers that let a receiver see loss and duplicates, and
// the counters an adapter reports.
//
// The envelope is one JSON object, readable with `nats sub` or
// `redis-cli subscribe`:
//
//	{"v":1,"origin":"s1","boot":"6f1c0a9e","seq":7,"pub_ns":1732650000000000000,
//	 "rooms":["lobby"],"except":["c3"],"msg":{"seq":3,"event":"chat","room":"lobby","text":"hi"}}
//
//	v       envelope version (1)
//	origin  id of the publishing server (Broadcast.Origin)
//	boot    random per adapter instance: a restarted server starts a new sequence
//	seq     1, 2, 3... per (origin, boot): a gap is a lost broadcast, a repeat a duplicate
//	pub_ns  publisher's wall clock when it handed the broadcast to the broker
//	rooms   Broadcast.Rooms (empty: everyone)
//	except  Broadcast.Except
//	msg     Broadcast.Msg in netlab's wire form (transport.Encode)
package pubsub

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/transport"
)

// MaxEnvelope is the largest envelope, in bytes, an adapter publishes or
// accepts. NATS refuses payloads over its max_payload (1 MiB by default).
const MaxEnvelope = 1 << 20

// ErrMalformed is returned by Decode for bytes that are not an envelope.
var ErrMalformed = errors.New("pubsub: malformed envelope")

// An Envelope is a Broadcast as it travels on the broker.
type Envelope struct {
	Broadcast adapter.Broadcast
	Boot      string    // random id of the publishing adapter instance
	Seq       uint64    // 1, 2, 3... per (Origin, Boot)
	Published time.Time // publisher's wall clock at Publish
}

type wireEnvelope struct {
	V      int             `json:"v"`
	Origin string          `json:"origin"`
	Boot   string          `json:"boot"`
	Seq    uint64          `json:"seq"`
	PubNs  int64           `json:"pub_ns"`
	Rooms  []string        `json:"rooms,omitempty"`
	Except []string        `json:"except,omitempty"`
	Msg    json.RawMessage `json:"msg"`
}

// Encode returns the wire form of e.
func Encode(e Envelope) []byte {
	w := wireEnvelope{
		V:      1,
		Origin: e.Broadcast.Origin,
		Boot:   e.Boot,
		Seq:    e.Seq,
		PubNs:  e.Published.UnixNano(),
		Rooms:  e.Broadcast.Rooms,
		Except: e.Broadcast.Except,
		Msg:    transport.Encode(e.Broadcast.Msg),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(w) // cannot fail: strings, numbers and a valid JSON object
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// Decode reads an envelope. Anything that is not a version-1 envelope with an
// origin, a sequence number and a message object, or is over MaxEnvelope
// bytes, is an error matching ErrMalformed.
func Decode(b []byte) (Envelope, error) {
	if len(b) > MaxEnvelope {
		return Envelope{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxEnvelope)
	}
	var w wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Envelope{}, fmt.Errorf("%w: text after the JSON object", ErrMalformed)
	}
	switch {
	case w.V != 1:
		return Envelope{}, fmt.Errorf("%w: version %d, want 1", ErrMalformed, w.V)
	case w.Origin == "":
		return Envelope{}, fmt.Errorf("%w: no origin", ErrMalformed)
	case w.Seq == 0:
		return Envelope{}, fmt.Errorf("%w: no seq", ErrMalformed)
	}
	msg := bytes.TrimLeft(w.Msg, " \t\r\n")
	if len(msg) == 0 || msg[0] != '{' {
		return Envelope{}, fmt.Errorf("%w: msg is not a JSON object", ErrMalformed)
	}
	m, err := transport.Decode(msg)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: msg: %v", ErrMalformed, err)
	}
	e := Envelope{
		Broadcast: adapter.Broadcast{Origin: w.Origin, Rooms: w.Rooms, Except: w.Except, Msg: m},
		Boot:      w.Boot,
		Seq:       w.Seq,
	}
	if w.PubNs != 0 {
		e.Published = time.Unix(0, w.PubNs)
	}
	return e, nil
}

// Stats are what an adapter counted since it started. Loss is never hidden:
// a broadcast that did not reach the broker is a PublishError on the
// publishing server; a broadcast a receiver knows it did not get (a gap in the
// publisher's sequence) is Missed on the receiving server.
type Stats struct {
	Published     uint64 // broadcasts handed to the broker
	PublishErrors uint64 // broadcasts that could not be handed to the broker (down, queue full): no other server got them
	Received      uint64 // broadcasts from other servers passed to the hub
	Missed        uint64 // broadcasts from other servers never received: gaps in their sequence numbers
	Duplicates    uint64 // broadcasts received twice and dropped
	Own           uint64 // own broadcasts echoed back by the broker and dropped
	Malformed     uint64 // payloads on the subject/channel that were not envelopes
	Disconnects   uint64 // times the connection to the broker was lost
	Reconnects    uint64 // times it came back (subscription restored)
	Connected     bool   // whether the adapter is connected to the broker now
}

// A StatsReporter is an Adapter that counts what it published, received and
// lost. The hub and the cluster lab find it by type assertion.
type StatsReporter interface {
	Stats() Stats
}

// Core is the part of an adapter that does not depend on the broker: it
// stamps outgoing broadcasts with origin, boot and sequence number, and
// checks incoming ones for own echoes, gaps and duplicates before passing
// them to the handler. It is safe for use by multiple goroutines.
type Core struct {
	id   string
	boot string
	seq  atomic.Uint64

	mu      sync.Mutex
	handler func(adapter.Broadcast)
	last    map[string]lastSeen // by origin

	published, publishErrors, received, missed atomic.Uint64
	duplicates, own, malformed                 atomic.Uint64
	disconnects, reconnects                    atomic.Uint64
	connected                                  atomic.Bool
	inHandler                                  atomic.Bool
	closed                                     atomic.Bool
}

type lastSeen struct {
	boot string
	seq  uint64
}

// NewCore returns a Core for the server with the given id (an empty id gets
// a random one).
func NewCore(id string) *Core {
	boot := randomID()
	if id == "" {
		id = "server-" + boot
	}
	c := &Core{id: id, boot: boot, last: make(map[string]lastSeen)}
	c.connected.Store(true)
	return c
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// ID is the server id this adapter publishes as.
func (c *Core) ID() string { return c.id }

// Seal stamps b (Origin set to this server's id when empty) with the next
// sequence number and returns the envelope bytes. Over MaxEnvelope it counts
// a publish error and returns an error matching transport.ErrTooLarge.
func (c *Core) Seal(b adapter.Broadcast) ([]byte, error) {
	if b.Origin == "" {
		b.Origin = c.id
	}
	e := Envelope{Broadcast: b, Boot: c.boot, Published: time.Now()}
	e.Seq = c.seq.Add(1)
	data := Encode(e)
	if len(data) > MaxEnvelope {
		c.publishErrors.Add(1)
		return nil, fmt.Errorf("pubsub: broadcast of %d bytes over the %d-byte limit: %w", len(data), MaxEnvelope, transport.ErrTooLarge)
	}
	return data, nil
}

// Published counts a broadcast handed to the broker.
func (c *Core) Published() { c.published.Add(1) }

// PublishFailed counts a broadcast that did not reach the broker.
func (c *Core) PublishFailed() { c.publishErrors.Add(1) }

// SetHandler installs the handler Deliver calls. It fails when one is
// already installed.
func (c *Core) SetHandler(h func(adapter.Broadcast)) error {
	if h == nil {
		return errors.New("pubsub: nil handler")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handler != nil {
		return errors.New("pubsub: already subscribed")
	}
	c.handler = h
	return nil
}

// Deliver decodes a payload received from the broker and, unless it is this
// server's own, a duplicate or malformed, passes it to the handler. Deliver
// must not be called concurrently with itself (brokers deliver one
// subscription's messages in order on one goroutine).
func (c *Core) Deliver(data []byte) {
	e, err := Decode(data)
	if err != nil {
		c.malformed.Add(1)
		return
	}
	if e.Broadcast.Origin == c.id {
		c.own.Add(1)
		return
	}
	c.mu.Lock()
	h := c.handler
	l, ok := c.last[e.Broadcast.Origin]
	switch {
	case !ok || l.boot != e.Boot:
		// First broadcast seen from this server instance: earlier ones
		// were published before we subscribed, not lost.
	case e.Seq <= l.seq:
		c.mu.Unlock()
		c.duplicates.Add(1)
		return
	case e.Seq > l.seq+1:
		c.missed.Add(e.Seq - l.seq - 1)
	}
	c.last[e.Broadcast.Origin] = lastSeen{boot: e.Boot, seq: e.Seq}
	c.mu.Unlock()
	if h == nil || c.closed.Load() {
		return
	}
	c.received.Add(1)
	c.inHandler.Store(true)
	defer c.inHandler.Store(false)
	h(e.Broadcast)
}

// Close makes Deliver stop calling the handler (a call in progress goes on).
func (c *Core) Close() { c.closed.Store(true) }

// InHandler reports whether a handler call is in progress. An adapter's
// Close must not wait for one: the handler may be waiting for the very
// hub that is closing the adapter.
func (c *Core) InHandler() bool { return c.inHandler.Load() }

// Disconnected records that the connection to the broker was lost.
func (c *Core) Disconnected() {
	if c.connected.Swap(false) {
		c.disconnects.Add(1)
	}
}

// Reconnected records that the connection (and the subscription) is back.
func (c *Core) Reconnected() {
	if !c.connected.Swap(true) {
		c.reconnects.Add(1)
	}
}

// Stats returns the counters.
func (c *Core) Stats() Stats {
	return Stats{
		Published:     c.published.Load(),
		PublishErrors: c.publishErrors.Load(),
		Received:      c.received.Load(),
		Missed:        c.missed.Load(),
		Duplicates:    c.duplicates.Load(),
		Own:           c.own.Load(),
		Malformed:     c.malformed.Load(),
		Disconnects:   c.disconnects.Load(),
		Reconnects:    c.reconnects.Load(),
		Connected:     c.connected.Load(),
	}
}
