package event

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
)

// MaxNameLen is the longest event name, in bytes.
const MaxNameLen = 128

// DefaultAckTimeout is how long EmitWithAck waits for the peer's answer when
// Options.AckTimeout is zero and ctx has no earlier deadline.
const DefaultAckTimeout = 5 * time.Second

// Reserved names and marks on the wire (see the package doc).
const (
	ackName      = "$ack"    // Message.Event of an ack
	askSuffix    = "?"       // appended to an event name to ask for an ack
	messageEvent = "message" // the event a message with no name is delivered as
)

var (
	// ErrAckTimeout is returned by EmitWithAck (and passed to an
	// EmitWithAckFunc callback) when no answer came in time.
	ErrAckTimeout = errors.New("event: ack timed out")
	// ErrBadName is returned for an empty, reserved or too long event name.
	ErrBadName = errors.New("event: bad event name")
)

// CheckName reports why name cannot be used as an event name, or nil.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrBadName, len(name), MaxNameLen)
	case strings.HasPrefix(name, "$"):
		return fmt.Errorf("%w: %q starts with \"$\" (reserved for the event layer)", ErrBadName, name)
	case strings.HasSuffix(name, askSuffix):
		return fmt.Errorf("%w: %q ends with %q (reserved: it asks for an ack)", ErrBadName, name, askSuffix)
	}
	return nil
}

// An Event is one event as its handler receives it.
type Event struct {
	Name   string    // the event name, without the ack mark
	ID     uint64    // the sender's message id (transport.Message.Seq)
	Room   string    // transport.Message.Room, passed through
	Sent   time.Time // the sender's clock when it was sent (zero if unknown)
	Data   []byte    // the payload
	Socket *Socket   // the socket it arrived on: answer or relay through it
	ack    *acker    // nil when the sender asked for no ack
}

// WantsAck reports whether the sender asked for an acknowledgement.
func (e Event) WantsAck() bool { return e.ack != nil }

// Ack answers the event with reply. Only the first call sends anything; it
// does nothing when the sender asked for no ack. It may be called after the
// handler returned, from any goroutine (Socket.IO's ack callback).
func (e Event) Ack(ctx context.Context, reply []byte) error {
	if e.ack == nil {
		return nil
	}
	return e.ack.send(ctx, reply)
}

type acker struct {
	s    *Socket
	id   uint64
	once sync.Once
}

func (a *acker) send(ctx context.Context, reply []byte) error {
	err := errAlreadyAcked
	a.once.Do(func() {
		err = a.s.send(ctx, transport.Message{Seq: a.id, Event: ackName, Data: reply})
		if err == nil {
			a.s.stats.acksSent.Add(1)
		}
	})
	if err == errAlreadyAcked {
		return nil
	}
	if err != nil {
		return fmt.Errorf("event: ack %d: %w", a.id, err)
	}
	return nil
}

var errAlreadyAcked = errors.New("already acked")

// A Handler handles one named event. ctx is the socket's context: it is
// cancelled when the socket closes. Handlers run one at a time on the
// socket's reader goroutine.
type Handler func(ctx context.Context, e Event)

// Options configure a Socket (or every socket of a Server).
type Options struct {
	// AckTimeout bounds the wait of EmitWithAck; zero means
	// DefaultAckTimeout.
	AckTimeout time.Duration
	// Handlers are installed before the socket starts reading, so no event
	// can arrive before them. Used by NewSocket; a Server uses Server.On.
	Handlers map[string]Handler
	// ID names the socket (Socket.ID); a Server numbers its sockets itself.
	ID string
}

// Stats counts what one socket (or a server's sockets) sent and received.
type Stats struct {
	Sent         int64 // messages sent: events and acks
	Received     int64 // messages received: events and acks
	Handled      int64 // events given to a handler
	Unhandled    int64 // events dropped because no handler had their name
	AcksSent     int64 // acks sent by Event.Ack
	AcksReceived int64 // acks that answered a waiting EmitWithAck
	AckTimeouts  int64 // EmitWithAck calls that gave up waiting
	LateAcks     int64 // acks that came after their EmitWithAck gave up, or for no known id
}

func (s Stats) add(o Stats) Stats {
	return Stats{
		Sent: s.Sent + o.Sent, Received: s.Received + o.Received,
		Handled: s.Handled + o.Handled, Unhandled: s.Unhandled + o.Unhandled,
		AcksSent: s.AcksSent + o.AcksSent, AcksReceived: s.AcksReceived + o.AcksReceived,
		AckTimeouts: s.AckTimeouts + o.AckTimeouts, LateAcks: s.LateAcks + o.LateAcks,
	}
}

type counters struct {
	sent, received, handled, unhandled            atomic.Int64
	acksSent, acksReceived, ackTimeouts, lateAcks atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Sent: c.sent.Load(), Received: c.received.Load(),
		Handled: c.handled.Load(), Unhandled: c.unhandled.Load(),
		AcksSent: c.acksSent.Load(), AcksReceived: c.acksReceived.Load(),
		AckTimeouts: c.ackTimeouts.Load(), LateAcks: c.lateAcks.Load(),
	}
}

// A Socket is one end of an event connection over a transport.Conn. It is
// safe for concurrent use.
type Socket struct {
	conn       transport.Conn
	id         string
	ackTimeout time.Duration
	server     *Server // nil for a client socket

	nextID atomic.Uint64
	stats  counters

	mu       sync.Mutex
	handlers map[string]Handler
	pending  map[uint64]*pendingAck
	err      error // why the reader ended; set before done is closed

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type pendingAck struct {
	name  string
	timer *time.Timer
	f     func(reply []byte, err error)
}

// NewSocket wraps conn, installs opts.Handlers and starts the socket's reader
// goroutine. The socket owns conn from now on: Close closes it.
func NewSocket(conn transport.Conn, opts Options) (*Socket, error) {
	s := newSocket(conn, opts, nil)
	for name, h := range opts.Handlers {
		if err := s.On(name, h); err != nil {
			conn.Close()
			return nil, err
		}
	}
	s.start()
	return s, nil
}

func newSocket(conn transport.Conn, opts Options, srv *Server) *Socket {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Socket{
		conn: conn, id: opts.ID, ackTimeout: opts.AckTimeout, server: srv,
		handlers: make(map[string]Handler),
		pending:  make(map[uint64]*pendingAck),
		ctx:      ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	if s.ackTimeout <= 0 {
		s.ackTimeout = DefaultAckTimeout
	}
	return s
}

func (s *Socket) start() { go s.readLoop() }

// ID returns the socket's id (given by Options.ID, or by the Server).
func (s *Socket) ID() string { return s.id }

// Conn returns the connection under the socket (to read its WireStats, say).
func (s *Socket) Conn() transport.Conn { return s.conn }

// On installs h as the handler of the named event, replacing any before it;
// a nil h removes it. Events that arrived before are not replayed: they were
// counted as unhandled and dropped.
func (s *Socket) On(name string, h Handler) error {
	if err := CheckName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, name)
	} else {
		s.handlers[name] = h
	}
	return nil
}

func (s *Socket) handler(name string) Handler {
	s.mu.Lock()
	h := s.handlers[name]
	s.mu.Unlock()
	if h == nil && s.server != nil {
		h = s.server.handler(name)
	}
	return h
}

// Emit sends the named event to the peer, at most once: it returns when the
// transport has taken the message, which says nothing about whether the peer
// got it or had a handler for it.
func (s *Socket) Emit(ctx context.Context, name string, data []byte) error {
	return s.EmitMessage(ctx, transport.Message{Event: name, Data: data})
}

// EmitMessage is Emit with the room (and any other field) set by the caller:
// m.Event is the event name; the socket sets m.Seq to the next message id
// and m.Sent to now.
func (s *Socket) EmitMessage(ctx context.Context, m transport.Message) error {
	if err := CheckName(m.Event); err != nil {
		return err
	}
	m.Seq = s.nextID.Add(1)
	if err := s.send(ctx, m); err != nil {
		return fmt.Errorf("event: emit %q: %w", m.Event, err)
	}
	return nil
}

// EmitWithAck sends the named event asking for an acknowledgement and waits
// for the peer's answer. It returns an error matching ErrAckTimeout when no
// answer came within the socket's ack timeout or before ctx's deadline, and
// one matching transport.ErrClosed when the socket closed first. A timeout
// says nothing about whether the event arrived: the peer may have had no
// handler, or its answer may still be on its way.
func (s *Socket) EmitWithAck(ctx context.Context, name string, data []byte) ([]byte, error) {
	type result struct {
		reply []byte
		err   error
	}
	ch := make(chan result, 1)
	id, err := s.EmitWithAckFunc(ctx, name, data, 0, func(reply []byte, err error) { ch <- result{reply, err} })
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.reply, r.err
	case <-ctx.Done():
		if !s.forget(id) {
			r := <-ch // the answer (or the timeout) won the race
			return r.reply, r.err
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.stats.ackTimeouts.Add(1)
			return nil, fmt.Errorf("%w: %q id %d: %w", ErrAckTimeout, name, id, ctx.Err())
		}
		return nil, ctx.Err()
	}
}

// EmitWithAckFunc sends the named event asking for an acknowledgement and
// returns its message id without waiting. f is called exactly once: with the
// answer, or with an error matching ErrAckTimeout after timeout (zero means
// the socket's ack timeout), or matching transport.ErrClosed if the socket
// closes first. f runs on the socket's reader goroutine or a timer's: it must
// not block. When sending fails, f is not called and the error is returned.
func (s *Socket) EmitWithAckFunc(ctx context.Context, name string, data []byte, timeout time.Duration, f func(reply []byte, err error)) (uint64, error) {
	if err := CheckName(name); err != nil {
		return 0, err
	}
	if timeout <= 0 {
		timeout = s.ackTimeout
	}
	id := s.nextID.Add(1)
	p := &pendingAck{name: name, f: f}
	s.mu.Lock()
	if s.isDone() {
		s.mu.Unlock()
		return 0, fmt.Errorf("event: emit %q: %w", name, transport.ErrClosed)
	}
	s.pending[id] = p
	// The timer is armed under the lock so that a fast answer, which looks
	// the entry up under the same lock, always finds the timer set.
	p.timer = time.AfterFunc(timeout, func() {
		if s.forget(id) {
			s.stats.ackTimeouts.Add(1)
			f(nil, fmt.Errorf("%w: %q id %d after %v", ErrAckTimeout, name, id, timeout))
		}
	})
	s.mu.Unlock()
	err := s.send(ctx, transport.Message{Seq: id, Event: name + askSuffix, Data: data})
	if err != nil {
		if s.forget(id) {
			return 0, fmt.Errorf("event: emit %q: %w", name, err)
		}
		// The socket closed (and told f) or the timer fired while sending;
		// f has its answer.
		return id, nil
	}
	return id, nil
}

// forget removes a pending ack and stops its timer; it reports whether the
// entry was still there (so the caller now owns calling f, or not).
func (s *Socket) forget(id uint64) bool {
	s.mu.Lock()
	p, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if ok {
		p.timer.Stop()
	}
	return ok
}

func (s *Socket) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Socket) send(ctx context.Context, m transport.Message) error {
	if s.isDone() {
		return transport.ErrClosed
	}
	if m.Sent.IsZero() {
		m.Sent = time.Now()
	}
	if err := s.conn.Send(ctx, m); err != nil {
		return err
	}
	s.stats.sent.Add(1)
	return nil
}

// Stats returns the socket's counters so far.
func (s *Socket) Stats() Stats { return s.stats.snapshot() }

// Pending returns how many EmitWithAck answers the socket is waiting for.
func (s *Socket) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Done returns a channel that is closed when the socket has ended (Close, the
// peer closing, or a transport error) and its reader goroutine has stopped
// calling handlers.
func (s *Socket) Done() <-chan struct{} { return s.done }

// Err reports why the socket ended: nil while it runs, after Close, or when
// the peer closed cleanly; otherwise the transport's error.
func (s *Socket) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close closes the connection and cancels the handlers' context. It does not
// wait for the reader goroutine (it may be the caller, in a handler); wait on
// Done for that. Waiting EmitWithAck calls return an error matching
// transport.ErrClosed. Close is idempotent.
func (s *Socket) Close() error {
	s.cancel()
	return s.conn.Close()
}

func (s *Socket) readLoop() {
	var err error
	for {
		var m transport.Message
		m, err = s.conn.Recv(s.ctx)
		if err != nil {
			break
		}
		s.stats.received.Add(1)
		s.dispatch(m)
	}
	if s.ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, transport.ErrClosed) {
		err = nil
	}
	s.cancel()
	s.conn.Close()
	s.mu.Lock()
	s.err = err
	pending := s.pending
	s.pending = make(map[uint64]*pendingAck)
	close(s.done)
	s.mu.Unlock()
	for id, p := range pending {
		p.timer.Stop()
		p.f(nil, fmt.Errorf("event: ack for %q id %d: %w", p.name, id, transport.ErrClosed))
	}
	if s.server != nil {
		s.server.remove(s)
	}
}

func (s *Socket) dispatch(m transport.Message) {
	if m.Event == ackName {
		s.mu.Lock()
		p, ok := s.pending[m.Seq]
		delete(s.pending, m.Seq)
		s.mu.Unlock()
		if !ok {
			s.stats.lateAcks.Add(1)
			return
		}
		p.timer.Stop()
		s.stats.acksReceived.Add(1)
		p.f(m.Data, nil)
		return
	}
	name, ask := strings.CutSuffix(m.Event, askSuffix)
	if name == "" {
		name = messageEvent
	}
	var h Handler
	if !strings.HasPrefix(name, "$") {
		h = s.handler(name)
	}
	if h == nil {
		s.stats.unhandled.Add(1)
		return
	}
	e := Event{Name: name, ID: m.Seq, Room: m.Room, Sent: m.Sent, Data: m.Data, Socket: s}
	if ask {
		e.ack = &acker{s: s, id: m.Seq}
	}
	s.stats.handled.Add(1)
	h(s.ctx, e)
}
