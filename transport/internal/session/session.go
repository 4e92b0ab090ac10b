// Package session is the session table of the transports that carry one
// connection over many HTTP requests (httppoll and sse): every request
// names its session with ?sid=ID, and the table finds it. New sessions
// wait for Accept in a backlog, like a listening socket's. A session's
// Inbox holds what its client POSTed until Recv takes it, and a Body reads
// a POST's body within its deadline and size limit.
package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/netlab/netlab/transport"
)

// Errors Add returns; the caller answers 503 for each.
var (
	ErrFull    = errors.New("too many sessions open")
	ErrBacklog = errors.New("too many sessions waiting to be accepted")
)

// A Conn is what a Table holds: a transport's server side of one session.
type Conn interface {
	comparable
	transport.Conn
}

// A Table maps session ids to sessions and hands new ones to Accept. It is
// safe for concurrent use.
type Table[C Conn] struct {
	name   string // prefixes errors: "sse", "httppoll"
	accept chan C

	mu       sync.Mutex
	sessions map[string]C
	closed   bool

	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Table whose Accept backlog holds backlog sessions; name
// prefixes its errors.
func New[C Conn](name string, backlog int) *Table[C] {
	return &Table[C]{
		name:     name,
		accept:   make(chan C, backlog),
		sessions: make(map[string]C),
		done:     make(chan struct{}),
	}
}

// NewID returns a fresh random session id: 24 hex digits.
func NewID() string {
	var raw [12]byte
	rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// Accept waits for the next session. It returns an error matching
// transport.ErrClosed after Close.
func (t *Table[C]) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-t.accept:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.done:
		return nil, fmt.Errorf("%s: accept: %w", t.name, transport.ErrClosed)
	}
}

// Add puts c in the table under id and offers it to Accept. It fails with
// transport.ErrClosed after Close, ErrFull when max > 0 sessions are open
// already, and ErrBacklog when Accept has that many waiting (then c is
// taken out again).
func (t *Table[C]) Add(id string, c C, max int) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transport.ErrClosed
	}
	if max > 0 && len(t.sessions) >= max {
		t.mu.Unlock()
		return ErrFull
	}
	t.sessions[id] = c
	t.mu.Unlock()
	select {
	case t.accept <- c:
		return nil
	default:
		t.Remove(id, c)
		return ErrBacklog
	}
}

// Lookup returns the session id names, if it is open.
func (t *Table[C]) Lookup(id string) (C, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.sessions[id]
	return c, ok
}

// Remove takes c out of the table, if id still names it.
func (t *Table[C]) Remove(id string, c C) {
	t.mu.Lock()
	if t.sessions[id] == c {
		delete(t.sessions, id)
	}
	t.mu.Unlock()
}

// Close refuses new sessions and ends the open ones: abandon ends each one
// still waiting for Accept, then every session is closed (all at once, each
// given its Close's short time to deliver what was queued). It is
// idempotent.
func (t *Table[C]) Close(abandon func(C)) {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		var conns []C
		for _, c := range t.sessions {
			conns = append(conns, c)
		}
		t.mu.Unlock()
		close(t.done)
	drain:
		for {
			select {
			case c := <-t.accept:
				abandon(c)
			default:
				break drain
			}
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	})
}

// HTTPError answers with status and a one-line reason, prefixed with name.
func HTTPError(w http.ResponseWriter, name string, status int, format string, a ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, name+": "+format+"\n", a...)
}
