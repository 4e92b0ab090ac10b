// Package events is the event layer's walkthrough lab: one server and a few
// clients over one transport show who receives an emit (a client's reaches
// the server only; the server's reaches one socket or all; other clients
// see a client's event only if the server relays it), that an event with no
// handler is dropped and its ack never comes, and how long ack round trips
// take each way.
package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
)

// Defaults.
const (
	DefaultClients    = 3
	DefaultRoundTrips = 200
	DefaultAckTimeout = 200 * time.Millisecond
	// DefaultRoundTripTime bounds the round trips of each direction: short
	// polling needs a poll per leg, so 200 of them would take most of a
	// minute; the table's count says how many fit.
	DefaultRoundTripTime = 2 * time.Second
	// measureAckTimeout is how long the acks that are measured (sync and the
	// round trips) may take: a short-polling round trip needs two polls, so
	// the demo's AckTimeout, meant for the event nobody handles, is too short
	// for them on a loaded machine.
	measureAckTimeout = 10 * time.Second
)

// Config describes a run over one transport.
type Config struct {
	Transport  transport.Transport
	Clients    int           // clients connected to the server (>= 2)
	RoundTrips int           // EmitWithAck round trips measured each way
	AckTimeout time.Duration // how long an EmitWithAck to an unhandled event waits
	// RoundTripTime bounds each direction's round trips: it stops at
	// RoundTrips or after this long (DefaultRoundTripTime when 0).
	RoundTripTime time.Duration
}

// Step is one action and how many copies each party's handlers got.
type Step struct {
	Action    string
	Server    int   // events the server's handlers got
	Clients   []int // events each client's handlers got, client 1 first
	Unhandled int64 // events the server dropped for want of a handler
}

// Result is what a run measured.
type Result struct {
	Transport   string
	Steps       []Step
	AckTimeout  time.Duration // the timeout asked for
	TimedOutIn  time.Duration // how long the unanswered EmitWithAck really waited
	TimeoutErr  string        // the error it returned
	ClientToSrv stats.Summary // ack round trips, client emits, server acks
	SrvToClient stats.Summary // ack round trips, server emits, client acks
	// ClientToSrvRTTs and SrvToClientRTTs are those round trips, one by
	// one (for the charts).
	ClientToSrvRTTs, SrvToClientRTTs []time.Duration
	Interrupted                      bool // Ctrl-C ended the run: what was measured so far
}

// counts are the handler calls of one party, by event name.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(name string) {
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
}

func (c *counts) total(names ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range names {
		t += c.n[n]
	}
	return t
}

// Run runs the walkthrough over cfg.Transport.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Clients < 2 {
		cfg.Clients = DefaultClients
	}
	if cfg.RoundTrips <= 0 {
		cfg.RoundTrips = DefaultRoundTrips
	}
	if cfg.RoundTripTime <= 0 {
		cfg.RoundTripTime = DefaultRoundTripTime
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	res := Result{Transport: cfg.Transport.Info().Name, AckTimeout: cfg.AckTimeout}
	if !cfg.Transport.Info().Connected {
		return res, fmt.Errorf("events: %s has no connection for a server to push events on; run it over tcp, poll, longpoll or ws", res.Transport)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := cfg.Transport.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("events: %w", err)
	}
	defer l.Close()

	srvGot := &counts{n: map[string]int{}}
	srv, _ := event.NewServer(event.Options{AckTimeout: measureAckTimeout})
	count := func(ctx context.Context, e event.Event) { srvGot.add(e.Name) }
	srv.On("chat", count)
	srv.On("relay", func(ctx context.Context, e event.Event) {
		srvGot.add(e.Name)
		for _, s := range srv.Sockets() {
			if s != e.Socket {
				s.Emit(ctx, "relayed", e.Data)
			}
		}
	})
	ack := func(ctx context.Context, e event.Event) { e.Ack(ctx, e.Data) }
	srv.On("sync", ack)
	srv.On("ping", ack)
	served := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(served) }()
	defer func() { cancel(); srv.Close(); <-served }()

	clients := make([]*event.Socket, cfg.Clients)
	got := make([]*counts, cfg.Clients)
	for i := range clients {
		conn, err := cfg.Transport.Dial(ctx, l.Addr().String())
		if err != nil {
			return res, fmt.Errorf("events: %w", err)
		}
		c := &counts{n: map[string]int{}}
		got[i] = c
		h := func(ctx context.Context, e event.Event) { c.add(e.Name) }
		s, err := event.NewSocket(conn, event.Options{AckTimeout: measureAckTimeout, Handlers: map[string]event.Handler{
			"chat": h, "relayed": h, "direct": h, "news": h, "sync": ack, "ping": ack,
		}})
		if err != nil {
			return res, err
		}
		defer func() { s.Close(); <-s.Done() }()
		clients[i] = s
		// The server numbers sockets in connection order: wait for this one
		// so that socket i+1 is client i+1.
		if _, err := s.EmitWithAck(ctx, "sync", nil); err != nil {
			return res, fmt.Errorf("events: connect client %d: %w", i+1, err)
		}
	}
	sockets := srv.Sockets()
	if len(sockets) != cfg.Clients {
		return res, fmt.Errorf("events: server has %d sockets, want %d", len(sockets), cfg.Clients)
	}

	// settle waits until everything sent so far was handled: client 1's
	// messages by the server (its reader handles them in order, "sync"
	// last), then the server's by every client (likewise).
	settle := func() error {
		if _, err := clients[0].EmitWithAck(ctx, "sync", nil); err != nil {
			return err
		}
		for _, s := range sockets {
			if _, err := s.EmitWithAck(ctx, "sync", nil); err != nil {
				return err
			}
		}
		return nil
	}
	names := []string{"chat", "relay", "relayed", "direct", "news"}
	step := func(action string, do func() error) error {
		srvBefore, unhBefore := srvGot.total(names...), srv.Stats().Unhandled
		before := make([]int, len(got))
		for i, c := range got {
			before[i] = c.total(names...)
		}
		if err := do(); err != nil {
			return err
		}
		if err := settle(); err != nil {
			return err
		}
		st := Step{Action: action, Server: srvGot.total(names...) - srvBefore, Unhandled: srv.Stats().Unhandled - unhBefore}
		for i, c := range got {
			st.Clients = append(st.Clients, c.total(names...)-before[i])
		}
		res.Steps = append(res.Steps, st)
		return nil
	}
	c1 := clients[0]
	steps := []struct {
		action string
		do     func() error
	}{
		{`client 1 emits "chat"`, func() error { return c1.Emit(ctx, "chat", []byte("hi")) }},
		{`client 1 emits "relay"; the server's handler emits "relayed" to the others`, func() error { return c1.Emit(ctx, "relay", []byte("hi all")) }},
		{`the server emits "direct" on client 2's socket`, func() error { return sockets[1].Emit(ctx, "direct", []byte("just you")) }},
		{`the server emits "news" to all (Server.Emit)`, func() error { _, err := srv.Emit(ctx, "news", []byte("everyone")); return err }},
		{`client 1 emits "nobody" (no handler on the server)`, func() error { return c1.Emit(ctx, "nobody", nil) }},
	}
	for _, s := range steps {
		if err := step(s.action, s.do); err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				return res, nil // Ctrl-C: the steps so far
			}
			return res, fmt.Errorf("events: %s: %w", s.action, err)
		}
	}

	start := time.Now()
	_, err = emitWithAckTimeout(ctx, c1, "nobody", cfg.AckTimeout)
	res.TimedOutIn = time.Since(start)
	if ctx.Err() != nil {
		res.Interrupted = true
		return res, nil
	}
	if !errors.Is(err, event.ErrAckTimeout) {
		return res, fmt.Errorf("events: EmitWithAck to an unhandled event returned %v, want a timeout", err)
	}
	res.TimeoutErr = err.Error()

	rtt := func(s *event.Socket, samples *[]time.Duration) (stats.Summary, error) {
		var rec stats.Recorder
		defer func() { *samples = rec.Samples() }()
		end := time.Now().Add(cfg.RoundTripTime)
		for i := 0; i < cfg.RoundTrips && time.Now().Before(end); i++ {
			t0 := time.Now()
			if _, err := s.EmitWithAck(ctx, "ping", []byte("x")); err != nil {
				if ctx.Err() != nil {
					res.Interrupted = true
					return rec.Summary(), nil // Ctrl-C: what was measured
				}
				return rec.Summary(), err
			}
			rec.Add(time.Since(t0))
		}
		return rec.Summary(), nil
	}
	if res.ClientToSrv, err = rtt(c1, &res.ClientToSrvRTTs); err != nil {
		return res, fmt.Errorf("events: round trips: %w", err)
	}
	if res.Interrupted {
		return res, nil
	}
	if res.SrvToClient, err = rtt(sockets[0], &res.SrvToClientRTTs); err != nil {
		return res, fmt.Errorf("events: round trips: %w", err)
	}
	return res, nil
}

// emitWithAckTimeout is EmitWithAck with its own timeout instead of the
// socket's.
func emitWithAckTimeout(ctx context.Context, s *event.Socket, name string, timeout time.Duration) ([]byte, error) {
	type result struct {
		reply []byte
		err   error
	}
	ch := make(chan result, 1)
	if _, err := s.EmitWithAckFunc(ctx, name, nil, timeout, func(reply []byte, err error) { ch <- result{reply, err} }); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
