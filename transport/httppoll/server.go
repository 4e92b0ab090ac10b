package httppoll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/session"
)

// A Server is the polling endpoint: an http.Handler serving Prefix and
// Prefix+"/session" that hands out each new session as a transport.Conn
// through Accept. Mount it on any mux (both paths), or use Transport.Listen.
// On an http.Server of your own, set ReadHeaderTimeout (slowloris) and an
// IdleTimeout above MaxHold, and see CountingListener for bytes on the wire.
// It is safe for concurrent use.
type Server struct {
	opts     Options
	sessions *session.Table[*ServerConn]
}

// backlog is how many new sessions wait for Accept before POST /session is
// answered 503.
const backlog = 128

// NewServer returns a Server with opts (zero fields take the defaults).
func NewServer(opts Options) *Server {
	return &Server{opts: opts.withDefaults(), sessions: session.New[*ServerConn]("httppoll", backlog)}
}

// Accept waits for the next session. It returns an error matching
// transport.ErrClosed after Close.
func (s *Server) Accept(ctx context.Context) (transport.Conn, error) {
	return s.sessions.Accept(ctx)
}

// Close refuses new sessions (503) and closes every session, giving each
// client a short time to collect what was queued for it. It is idempotent.
func (s *Server) Close() error {
	s.sessions.Close(func(c *ServerConn) { c.end(transport.ErrClosed) })
	return nil
}

// httpError answers with status and a one-line reason.
func httpError(w http.ResponseWriter, status int, format string, a ...any) {
	session.HTTPError(w, "httppoll", status, format, a...)
}

// ServeHTTP serves the endpoints listed in the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body := session.WatchBody(w, r, "httppoll", s.opts.BodyTimeout) // a slow body is cut off (session.Body)
	defer body.Done()
	switch r.URL.Path {
	case s.opts.Prefix + "/session":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			httpError(w, http.StatusMethodNotAllowed, "open a session with POST %s/session", s.opts.Prefix)
			return
		}
		s.open(w, r)
	case s.opts.Prefix, s.opts.Prefix + "/":
		sid := r.URL.Query().Get("sid")
		if sid == "" {
			httpError(w, http.StatusBadRequest, "missing sid: open a session with POST %s/session and pass ?sid=ID", s.opts.Prefix)
			return
		}
		c, ok := s.sessions.Lookup(sid)
		if !ok {
			httpError(w, http.StatusNotFound, "unknown session %q (expired or never opened): open one with POST %s/session", sid, s.opts.Prefix)
			return
		}
		if cc := countconn.FromContext(r.Context()); cc != nil {
			cc.SetOwner(&c.counter)
		}
		c.requests.Add(1)
		c.touch()
		defer c.touch()
		switch r.Method {
		case http.MethodGet:
			c.poll(w, r)
		case http.MethodPost:
			c.receive(w, r, body)
		case http.MethodDelete:
			c.peerClose(nil)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "%s is not used: GET receives, POST sends, DELETE closes", r.Method)
		}
	default:
		httpError(w, http.StatusNotFound, "no such endpoint %q: use %s/session and %s?sid=ID", r.URL.Path, s.opts.Prefix, s.opts.Prefix)
	}
}

// open creates a session and waits for Accept to take it.
func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	c := newServerConn(s, session.NewID())
	if cc := countconn.FromContext(r.Context()); cc != nil {
		cc.SetOwner(&c.counter)
	}
	c.requests.Add(1)
	switch err := s.sessions.Add(c.id, c, s.opts.MaxSessions); {
	case errors.Is(err, transport.ErrClosed):
		c.end(err)
		httpError(w, http.StatusServiceUnavailable, "server closed")
		return
	case errors.Is(err, session.ErrFull):
		c.end(err)
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "server full: %d sessions open, try again later", s.opts.MaxSessions)
		return
	case err != nil:
		c.end(err)
		httpError(w, http.StatusServiceUnavailable, "%v, try again later", err)
		return
	}
	c.touch()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Netlab-Session", c.id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, c.id+"\n")
}

// A ServerConn is the server's side of one polling session. Send queues
// messages for the client's next GET; Recv returns what the client POSTed.
// Its methods are safe for concurrent use.
type ServerConn struct {
	id  string
	srv *Server

	counter  countconn.Counter
	requests atomic.Int64
	empty    atomic.Int64

	mu       sync.Mutex
	out      [][]byte      // encoded messages not yet acknowledged
	outFirst uint64        // number of out[0]
	changed  chan struct{} // closed and replaced when out or the state changes
	polling  bool          // a GET is in progress
	closing  bool          // Close was called: deliver the rest, then 410
	told     bool          // a GET was answered 410 Gone
	idle     *time.Timer
	// lastPoll is when the last GET ended (when the session was made,
	// before the first); pollGap the longest the client took from one
	// GET's end to its next; polls how many GETs it sent.
	lastPoll time.Time
	pollGap  time.Duration
	polls    int

	// plainPeer reports whether the client has POSTed plain text (curl):
	// messages that are only text go back to it as plain lines.
	plainPeer atomic.Bool

	in      *session.Inbox
	posting atomic.Int32  // POSTs in progress
	gone    chan struct{} // closed when the session ends
	goneErr error         // why, set before gone is closed
	endOnce sync.Once
}

var (
	_ transport.Conn  = (*ServerConn)(nil)
	_ transport.Meter = (*ServerConn)(nil)
)

func newServerConn(s *Server, id string) *ServerConn {
	c := &ServerConn{
		id:       id,
		srv:      s,
		outFirst: 1,
		changed:  make(chan struct{}),
		in:       session.NewInbox(s.opts.Queue),
		gone:     make(chan struct{}),
		lastPoll: time.Now(),
	}
	c.idle = time.AfterFunc(s.opts.SessionIdle, c.expire)
	return c
}

// ID returns the session id.
func (c *ServerConn) ID() string { return c.id }

func (c *ServerConn) touch() { c.idle.Reset(c.srv.opts.SessionIdle) }

// expire ends the session when no request came for SessionIdle.
func (c *ServerConn) expire() {
	c.mu.Lock()
	busy := c.polling
	c.mu.Unlock()
	if busy {
		c.touch()
		return
	}
	c.end(fmt.Errorf("httppoll: session %s expired: no request for %v", c.id, c.srv.opts.SessionIdle))
}

// notify wakes a held GET and a blocked Send. Call with mu held.
func (c *ServerConn) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// end finishes the session for good: err is what Recv and Send report.
func (c *ServerConn) end(err error) {
	c.endOnce.Do(func() {
		c.idle.Stop()
		c.goneErr = err
		c.srv.sessions.Remove(c.id, c) // first, so that no request finds an ended session
		close(c.gone)
		c.mu.Lock()
		c.notify()
		c.mu.Unlock()
	})
}

// peerClose ends the session because the client closed it.
func (c *ServerConn) peerClose(error) { c.end(io.EOF) }

// poll answers a GET: the messages after ?after=N, at once or when one
// arrives within ?wait=.
func (c *ServerConn) poll(w http.ResponseWriter, r *http.Request) {
	after, wait, err := parsePollQuery(r.URL.Query(), c.srv.opts.MaxHold)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}

	c.mu.Lock()
	if c.polling {
		c.mu.Unlock()
		httpError(w, http.StatusConflict, "another GET is already waiting for session %s; poll again when it returns", c.id)
		return
	}
	last := c.outFirst + uint64(len(c.out)) - 1
	if after > last {
		c.mu.Unlock()
		httpError(w, http.StatusBadRequest, "after=%d is beyond the last message queued (%d)", after, last)
		return
	}
	if after >= c.outFirst { // acknowledge 1..after
		drop := int(after - c.outFirst + 1)
		clear(c.out[:drop])
		c.out = c.out[drop:]
		c.outFirst = after + 1
		c.notify()
	}
	c.polling = true
	if c.polls > 0 {
		c.pollGap = max(c.pollGap, time.Since(c.lastPoll))
	}
	c.polls++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.polling = false
		c.lastPoll = time.Now()
		c.mu.Unlock()
	}()

	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		c.mu.Lock()
		if len(c.out) > 0 {
			var body bytes.Buffer
			n := 0
			for _, b := range c.out {
				if n > 0 && int64(body.Len()+len(b)+1) > c.srv.opts.MaxBody {
					break
				}
				body.Write(b)
				body.WriteByte('\n')
				n++
			}
			lastSent := c.outFirst + uint64(n) - 1
			c.mu.Unlock()
			h := w.Header()
			h.Set("Content-Type", "application/x-ndjson")
			h.Set("Content-Length", strconv.Itoa(body.Len()))
			h.Set("X-Netlab-Last", strconv.FormatUint(lastSent, 10))
			w.WriteHeader(http.StatusOK)
			w.Write(body.Bytes())
			return
		}
		closing, changed := c.closing, c.changed
		if closing {
			c.told = true
			c.notify()
		}
		c.mu.Unlock()
		select {
		case <-c.gone:
			if !errors.Is(c.goneErr, transport.ErrClosed) { // expired or deleted
				reason := "closed by the client"
				if !errors.Is(c.goneErr, io.EOF) {
					reason = c.goneErr.Error()
				}
				httpError(w, http.StatusNotFound, "session %s ended: %s", c.id, reason)
				return
			}
			closing = true
		default:
		}
		if closing {
			httpError(w, http.StatusGone, "session %s closed by the server", c.id)
			return
		}
		if wait == 0 {
			c.empty.Add(1)
			w.Header().Set("X-Netlab-Last", strconv.FormatUint(after, 10))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		select {
		case <-changed:
		case <-timeout:
			wait = 0 // answer empty on the next turn unless a message came
		case <-r.Context().Done():
			return // the client went away
		}
	}
}

// parsePollQuery reads a GET's after= (the number of the last message
// received) and wait= (how long to hold the GET, capped at maxHold).
func parsePollQuery(q url.Values, maxHold time.Duration) (after uint64, wait time.Duration, err error) {
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad after=%q: want the number of the last message received (0 at first)", clip(v))
		}
		after = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := parseWait(v)
		if err != nil {
			return 0, 0, fmt.Errorf("bad wait=%q: %v", clip(v), err)
		}
		wait = min(d, maxHold)
	}
	return after, wait, nil
}

// clip shortens a client's value for an error message.
func clip(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

// maxWait is the largest wait= accepted (it is then capped at MaxHold).
const maxWait = time.Hour

// parseWait reads a Go duration ("25s", "500ms") or a number of seconds,
// from 0 to an hour. NaN, infinities, negative and out-of-range values are
// refused: NaN compares false with every bound and would otherwise become a
// negative (endless) wait.
func parseWait(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(n) || n < 0 || n > maxWait.Seconds() {
			return 0, errors.New("want 0 to 3600 seconds")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration such as 25s or 500ms, or seconds from 0 to 3600")
	}
	if d < 0 || d > maxWait {
		return 0, errors.New("want a duration from 0 to 1h")
	}
	return d, nil
}

// receive takes a POST: every line of the body is one message, checked
// before any is delivered, and delivered all together or not at all. A
// session may have MaxPosts POSTs in progress; its body must arrive within
// BodyTimeout; and when the session's queue has no room for every line the
// answer is 429 with Retry-After at once, nothing taken.
func (c *ServerConn) receive(w http.ResponseWriter, r *http.Request, b *session.Body) {
	if n := c.posting.Add(1); n > int32(c.srv.opts.MaxPosts) {
		c.posting.Add(-1)
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusTooManyRequests, "session %s already has %d POSTs in progress; send one at a time", c.id, c.srv.opts.MaxPosts)
		return
	}
	defer c.posting.Add(-1)
	body, ok := b.ReadAll(w, r, c.srv.opts.MaxBody) // within the deadline ServeHTTP set
	if !ok {
		return
	}
	msgs, status, err := decodeLines(body, c.srv.opts)
	if err != nil {
		httpError(w, status, "%v", err)
		return
	}
	if len(msgs) > c.in.Cap() {
		httpError(w, http.StatusRequestEntityTooLarge, "%d messages in one POST; the session queues at most %d", len(msgs), c.in.Cap())
		return
	}
	if len(msgs) > 0 && transport.IsPlainText(bytes.TrimLeft(body, "\r\n")) {
		c.plainPeer.Store(true) // sticky: someone typing, as curl users do
	}
	select {
	case <-c.gone:
		httpError(w, http.StatusGone, "session %s closed", c.id)
		return
	default:
	}
	if room, ok := c.in.PutAll(msgs); !ok {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusTooManyRequests, "session %s: the server has not read what was sent before (room for %d of these %d messages); nothing was taken, send again later",
			c.id, room, len(msgs))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeLines splits a body into messages, one per line; it returns the
// HTTP status to answer with when a line is bad.
func decodeLines(body []byte, o Options) ([]transport.Message, int, error) {
	var msgs []transport.Message
	for i := 1; len(body) > 0; i++ {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if len(line) > o.wireLimit() {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("line %d: %d bytes is over the %d-byte message limit", i, len(line), o.wireLimit())
		}
		m, err := transport.Decode(line)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("line %d: %w", i, err)
		}
		if len(m.Data) > o.MaxMessage {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("line %d: %d-byte message is over the %d-byte limit", i, len(m.Data), o.MaxMessage)
		}
		msgs = append(msgs, m)
	}
	return msgs, 0, nil
}

// Send queues m for the client's next poll. It blocks while Queue messages
// wait unacknowledged.
func (c *ServerConn) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > c.srv.opts.MaxMessage {
		return fmt.Errorf("httppoll: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.srv.opts.MaxMessage)
	}
	var b []byte
	if c.plainPeer.Load() && transport.SendsAsPlainText(m, true) {
		b = bytes.Clone(m.Data)
	} else {
		b = transport.Encode(m)
	}
	if len(b) > c.srv.opts.wireLimit() {
		return fmt.Errorf("httppoll: send: %d-byte wire form: %w (limit %d)", len(b), transport.ErrTooLarge, c.srv.opts.wireLimit())
	}
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return fmt.Errorf("httppoll: send: %w", transport.ErrClosed)
		}
		select {
		case <-c.gone:
			c.mu.Unlock()
			return fmt.Errorf("httppoll: send: session ended: %w", transport.ErrClosed)
		default:
		}
		if len(c.out) < c.srv.opts.Queue {
			c.out = append(c.out, b)
			c.notify()
			c.mu.Unlock()
			return nil
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Recv returns the next message the client POSTed; io.EOF after the client
// closed the session (DELETE).
func (c *ServerConn) Recv(ctx context.Context) (transport.Message, error) {
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return transport.Message{}, fmt.Errorf("httppoll: recv: %w", transport.ErrClosed)
	}
	select {
	case m := <-c.in.C:
		return m, nil
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-c.gone:
		select {
		case m := <-c.in.C:
			return m, nil
		default:
		}
		if errors.Is(c.goneErr, io.EOF) {
			return transport.Message{}, io.EOF
		}
		return transport.Message{}, fmt.Errorf("httppoll: recv: %w", c.goneErr)
	}
}

// Close lets the client collect what is queued and learn that the session
// is closed (its next GET gets 410 Gone), waiting at most two seconds, then
// ends the session. It does not wait for a client that is not polling: one
// whose next GET is overdue: later than its longest gap between GETs so
// far, plus a quarter second (a session made over a quarter second ago that
// never sent a GET is not polled).
func (c *ServerConn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.notify()
	c.mu.Unlock()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		told, changed := c.told, c.changed
		due := c.nextPollDue()
		c.mu.Unlock()
		if told {
			break
		}
		// A session nobody is polling cannot be told goodbye: do not wait
		// for a GET that is not coming.
		var overdue *time.Timer
		var overdueC <-chan time.Time
		if !due.IsZero() {
			d := time.Until(due)
			if d <= 0 {
				break
			}
			overdue = time.NewTimer(d)
			overdueC = overdue.C
		}
		again := false
		select {
		case <-changed:
			again = true
		case <-overdueC:
			again = true // look again: a GET may have started
		case <-c.gone:
		case <-t.C:
		}
		if overdue != nil {
			overdue.Stop()
		}
		if !again {
			break
		}
	}
	c.end(transport.ErrClosed)
	return nil
}

// nextPollDue is when the client's next GET is overdue: zero while a GET
// is in progress; otherwise its longest gap between GETs so far plus
// pollGrace after the last one ended (the first is due within pollGrace of
// the session's start). Call with mu held.
func (c *ServerConn) nextPollDue() time.Time {
	if c.polling {
		return time.Time{}
	}
	return c.lastPoll.Add(c.pollGap + pollGrace)
}

// WireStats reports the session's requests, empty polls and bytes on the
// wire (zero bytes when the server's listener does not count).
func (c *ServerConn) WireStats() transport.WireStats {
	r, w := c.counter.Load()
	return transport.WireStats{BytesReceived: r, BytesSent: w, Requests: c.requests.Load(), EmptyPolls: c.empty.Load()}
}

// CountingListener wraps l so that its connections count their bytes; serve
// a Server from an http.Server with this listener and ConnContext set to
// ConnContext to get bytes on the wire per session.
func CountingListener(l net.Listener) net.Listener { return countconn.Listener{Listener: l} }

// ConnContext is the http.Server.ConnContext hook that goes with
// CountingListener.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return countconn.ConnContext(ctx, c)
}
