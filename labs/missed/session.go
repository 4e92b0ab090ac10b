package missed

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
)

// session is the server's side of one client: the socket it is attached to
// (nil while the client is away), and what the strategy keeps for it.
type session struct {
	cfg Config
	st  Strategy

	mu        sync.Mutex
	sock      *event.Socket
	head      int                 // the last event number emitted
	firstEmit map[int]time.Time   // when each event was first emitted
	ring      []int               // Replay: the last Window event numbers, oldest first
	unacked   map[int]*unackedEvt // Ack: events not yet acknowledged
	retryq    []int               // Ack: events whose attempt failed, to resend
	retry     chan struct{}       // wakes retryLoop (capacity 1)

	firstSent  int64 // events sent for the first time (the baseline for extra messages)
	acked      int64
	resent     int64
	replayed   int64
	peakEvents int
	peakBytes  int64
}

type unackedEvt struct {
	inFlight bool // an attempt is waiting for its ack
	attempts int
}

func newSession(cfg Config, st Strategy) *session {
	return &session{
		cfg: cfg, st: st,
		firstEmit: make(map[int]time.Time),
		unacked:   make(map[int]*unackedEvt),
		retry:     make(chan struct{}, 1),
	}
}

// wireSize is the size of event n in wire form, what holding it costs.
func wireSize(n int) int64 {
	return int64(len(transport.Encode(transport.Message{Seq: uint64(n), Event: "tick?", Sent: time.Now(), Data: tickData(n, "")})))
}

// account updates the peak of what is held: the distinct events in the
// replay ring or waiting for an ack. Call with mu held.
func (s *session) account() {
	held := len(s.ring)
	var bytes int64
	for _, n := range s.ring {
		bytes += wireSize(n)
	}
	oldestInRing := s.head - len(s.ring) + 1
	for n := range s.unacked {
		if len(s.ring) == 0 || n < oldestInRing {
			held++
			bytes += wireSize(n)
		}
	}
	if held > s.peakEvents {
		s.peakEvents = held
	}
	s.peakBytes = max(s.peakBytes, bytes)
}

// emit emits event n: to the client if it is attached, into the replay ring
// and the unacked set if the strategy keeps them.
func (s *session) emit(ctx context.Context, n int) {
	s.mu.Lock()
	s.head = n
	s.firstEmit[n] = time.Now()
	if s.st.replays() {
		s.ring = append(s.ring, n)
		if len(s.ring) > s.cfg.Window {
			s.ring = slices.Delete(s.ring, 0, len(s.ring)-s.cfg.Window)
		}
	}
	var u *unackedEvt
	if s.st.acks() {
		u = &unackedEvt{}
		s.unacked[n] = u
	}
	s.account()
	sock := s.sock
	if sock != nil && u != nil {
		u.inFlight, u.attempts = true, 1
	}
	s.mu.Unlock()
	if sock == nil {
		return // nobody to send to: at most once, unless someone keeps it
	}
	var err error
	if u != nil {
		_, err = sock.EmitWithAckFunc(ctx, "tick", tickData(n, ""), 0, s.ackDone(n))
		if err != nil {
			s.sendFailed(n, u, sock)
		}
	} else {
		err = sock.Emit(ctx, "tick", tickData(n, ""))
	}
	if err == nil {
		s.mu.Lock()
		s.firstSent++
		s.mu.Unlock()
	}
}

// ackDone returns the callback of an attempt to deliver event n.
func (s *session) ackDone(n int) func([]byte, error) {
	return func(_ []byte, err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.unacked[n]
		if u == nil {
			return // an earlier attempt was acked
		}
		if err == nil {
			delete(s.unacked, n)
			s.acked++
			return
		}
		u.inFlight = false
		s.queueRetry(n)
	}
}

// retryLoop resends events whose attempt timed out or failed, while the
// client is attached; the others wait for onHello.
func (s *session) retryLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.retry:
		}
		s.mu.Lock()
		q := s.retryq
		s.retryq = nil
		s.mu.Unlock()
		for _, n := range q {
			s.resend(ctx, n)
		}
	}
}

func (s *session) resend(ctx context.Context, n int) {
	s.mu.Lock()
	u := s.unacked[n]
	sock := s.sock
	if u == nil || u.inFlight || sock == nil {
		s.mu.Unlock()
		return
	}
	u.inFlight = true
	u.attempts++
	how := "resend " + itoa(u.attempts-1)
	if u.attempts == 1 {
		how = "kept" // never sent: the client was away when it was emitted
	}
	s.mu.Unlock()
	_, err := sock.EmitWithAckFunc(ctx, "tick", tickData(n, how), 0, s.ackDone(n))
	if err != nil {
		s.sendFailed(n, u, sock)
		return
	}
	s.mu.Lock()
	s.resent++
	s.mu.Unlock()
}

// sendFailed handles an attempt that could not be sent on sock: the event
// waits for the client's next hello, or is queued for a resend if a new
// socket was attached meanwhile (its hello may have passed it over).
func (s *session) sendFailed(n int, u *unackedEvt, sock *event.Socket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.inFlight = false
	if s.sock != nil && s.sock != sock {
		s.queueRetry(n)
	}
}

// queueRetry queues event n for retryLoop. Call with mu held.
func (s *session) queueRetry(n int) {
	s.retryq = append(s.retryq, n)
	select {
	case s.retry <- struct{}{}:
	default:
	}
}

// rangeReply answers hello and replay: the oldest event the server still
// has (for a replay; head+1 when it keeps nothing) and the newest emitted.
type rangeReply struct {
	Oldest int `json:"oldest"`
	Head   int `json:"head"`
}

// hello is what a client sends each time it connects: the first event
// number it lacks (its offset).
type hello struct {
	From int `json:"from"`
}

// replayReq asks for events From..To again.
type replayReq struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// onHello attaches the socket to the session, replays what the client lacks
// (Replay) and resends what it never acknowledged (Ack), then answers.
func (s *session) onHello(ctx context.Context, e event.Event) {
	var h hello
	json.Unmarshal(e.Data, &h)
	s.mu.Lock()
	s.sock = e.Socket
	var replay []int
	if s.st.replays() {
		for _, n := range s.ring {
			if n >= h.From {
				replay = append(replay, n)
			}
		}
	}
	reply := s.rangeLocked()
	s.mu.Unlock()
	s.sendReplay(ctx, e.Socket, replay)
	s.mu.Lock()
	var resend []int
	for n, u := range s.unacked {
		if !u.inFlight {
			resend = append(resend, n)
		}
	}
	s.mu.Unlock()
	slices.Sort(resend)
	for _, n := range resend {
		s.resend(ctx, n)
	}
	b, _ := json.Marshal(reply)
	e.Ack(ctx, b)
}

func (s *session) rangeLocked() rangeReply {
	r := rangeReply{Oldest: s.head + 1, Head: s.head}
	if len(s.ring) > 0 {
		r.Oldest = s.ring[0]
	}
	return r
}

// onReplay sends the events asked for that are still in the ring.
func (s *session) onReplay(ctx context.Context, e event.Event) {
	var q replayReq
	json.Unmarshal(e.Data, &q)
	s.mu.Lock()
	var replay []int
	for _, n := range s.ring {
		if n >= q.From && n <= q.To {
			replay = append(replay, n)
		}
	}
	reply := s.rangeLocked()
	s.mu.Unlock()
	s.sendReplay(ctx, e.Socket, replay)
	b, _ := json.Marshal(reply)
	e.Ack(ctx, b)
}

func (s *session) sendReplay(ctx context.Context, sock *event.Socket, ns []int) {
	for _, n := range ns {
		// With All, a replayed event still waiting for its ack asks for one,
		// so the ack clears it and no resend follows.
		s.mu.Lock()
		u := s.unacked[n]
		if u != nil && !u.inFlight {
			u.inFlight = true
			u.attempts++
		} else {
			u = nil
		}
		s.mu.Unlock()
		var err error
		if u != nil {
			_, err = sock.EmitWithAckFunc(ctx, "tick", tickData(n, "replay"), 0, s.ackDone(n))
			if err != nil {
				s.sendFailed(n, u, sock)
			}
		} else {
			err = sock.Emit(ctx, "tick", tickData(n, "replay"))
		}
		if err != nil {
			return
		}
		s.mu.Lock()
		s.replayed++
		s.mu.Unlock()
	}
}

// detach is the server's OnDisconnect: the client is away.
func (s *session) detach(sock *event.Socket) {
	s.mu.Lock()
	if s.sock == sock {
		s.sock = nil
	}
	s.mu.Unlock()
}

// detached reports whether no client is attached.
func (s *session) detached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock == nil
}
