package socketio

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// A RecoveryPair is a Server with connection state recovery and one Client
// connected to it over WebSocket, for watching recovery at work (the
// missed-events lab): the server emits numbered "tick" events to a room
// the client is in, the client can be cut off and held away, and the server
// counts the "up" events the client emits. It is safe for concurrent use.
type RecoveryPair struct {
	Server *Server
	Client *Client
	hs     *http.Server

	mu      sync.Mutex
	sock    *socket.Socket // the client's socket on the server, the latest
	up      map[int]bool
	held    chan struct{} // open while the client is kept away
	release func()
}

// NewRecoveryPair starts the server on 127.0.0.1:0 with maxDisconnectionDuration
// window and connects the client.
func NewRecoveryPair(ctx context.Context, window time.Duration) (*RecoveryPair, error) {
	p := &RecoveryPair{up: map[int]bool{}}
	p.Server = NewServer(ServerOptions{RecoveryWindow: window})
	p.Server.IO.On("connection", func(a ...any) {
		s := a[0].(*socket.Socket)
		// As an application does, put a new socket in the room the ticks
		// go to; a recovered one is back in its rooms already.
		if !s.Recovered() {
			s.Join(tickRoom)
		}
		p.mu.Lock()
		p.sock = s
		p.mu.Unlock()
		s.On("up", func(args ...any) {
			if f, ok := args[0].(float64); ok {
				p.mu.Lock()
				p.up[int(f)] = true
				p.mu.Unlock()
			}
		})
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", p.Server)
	p.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go p.hs.Serve(ln)
	p.Client, err = Connect(ctx, ln.Addr().String(), ClientOptions{
		Transports:        []string{WebSocket},
		Reconnection:      true,
		ReconnectionDelay: 20 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
		ReconnectGate: func(ctx context.Context) error {
			p.mu.Lock()
			held := p.held
			p.mu.Unlock()
			if held == nil {
				return nil
			}
			select {
			case <-held:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// tickRoom is the room the server broadcasts the ticks to.
const tickRoom socket.Room = "ticks"

// Emit broadcasts "tick" n to the room "ticks", which the client's socket
// joins when it connects (a recovered socket is still in it): kept for
// recovery unless volatile or with an ack (the server keeps neither).
func (p *RecoveryPair) Emit(n int, volatile, withAck bool) error {
	op := p.Server.IO.To(tickRoom)
	switch {
	case volatile:
		return op.Volatile().Emit("tick", n)
	case withAck:
		// An emit with an ack is never kept. (To the socket itself: the
		// library's broadcast-with-ack races with its own timer.)
		p.mu.Lock()
		s := p.sock
		p.mu.Unlock()
		if s != nil {
			s.EmitWithAck("tick", n)(func([]any, error) {})
		}
		return nil
	}
	return op.Emit("tick", n)
}

// A PairEvent is a tick the client got (Tick > 0) or its connect or
// disconnect.
type PairEvent struct {
	Tick                int
	Connect, Disconnect bool
	Recovered           bool
	ID, Reason          string
}

// Next returns what the client sees next. Acks the server asked for are
// sent.
func (p *RecoveryPair) Next(ctx context.Context) (PairEvent, error) {
	for {
		ev, err := p.Client.Next(ctx)
		if err != nil {
			return PairEvent{}, err
		}
		switch ev.Name {
		case "connect":
			return PairEvent{Connect: true, Recovered: ev.Recovered, ID: p.Client.ID()}, nil
		case "disconnect":
			return PairEvent{Disconnect: true, Reason: ev.Reason}, nil
		case "tick":
			var n int
			if len(ev.Args) > 0 {
				n, _ = strconv.Atoi(string(ev.Args[0]))
			}
			if ev.WantsAck() {
				ev.Ack()
			}
			return PairEvent{Tick: n}, nil
		}
	}
}

// Drop cuts the client's transport and keeps it away until Resume.
func (p *RecoveryPair) Drop() {
	p.mu.Lock()
	if p.held == nil {
		ch := make(chan struct{})
		p.held = ch
		p.release = sync.OnceFunc(func() { close(ch) })
	}
	p.mu.Unlock()
	p.Client.DropTransport()
}

// Resume lets the client reconnect.
func (p *RecoveryPair) Resume() {
	p.mu.Lock()
	release := p.release
	p.held, p.release = nil, nil
	p.mu.Unlock()
	if release != nil {
		release()
	}
}

// ClientEmit has the client emit "up" n (buffered while disconnected).
func (p *RecoveryPair) ClientEmit(n int) error {
	return p.Client.Emit(context.Background(), "up", n)
}

// Buffered is how many client emits wait in its send buffer.
func (p *RecoveryPair) Buffered() int { return p.Client.Buffered() }

// ServerGot is how many distinct "up" events the server received.
func (p *RecoveryPair) ServerGot() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.up)
}

// Close stops the client and the server.
func (p *RecoveryPair) Close() error {
	p.Resume()
	if p.Client != nil {
		p.Client.Close()
	}
	p.Server.Close()
	return p.hs.Close()
}
