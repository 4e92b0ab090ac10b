package sse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gosse "github.com/tmaxmax/go-sse"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/session"
)

// A Server is the SSE endpoint: an http.Handler serving Prefix and
// Prefix+"/session" that hands out each new session as a transport.Conn
// through Accept. Mount it on any mux (both paths), or use Transport.Listen.
// On an http.Server of your own, set ReadHeaderTimeout, leave WriteTimeout
// zero (streams are long; the server sets a deadline per write), and see
// CountingListener for bytes on the wire. It is safe for concurrent use.
type Server struct {
	opts     Options
	sessions *session.Table[*ServerConn]
}

// backlog is how many new sessions wait for Accept before a new one is
// answered 503.
const backlog = 128

// NewServer returns a Server with opts (zero fields take the defaults).
func NewServer(opts Options) *Server {
	return &Server{opts: opts.withDefaults(), sessions: session.New[*ServerConn]("sse", backlog)}
}

// Accept waits for the next session. It returns an error matching
// transport.ErrClosed after Close.
func (s *Server) Accept(ctx context.Context) (transport.Conn, error) {
	return s.sessions.Accept(ctx)
}

// Close refuses new sessions (503) and closes every session, giving each
// client a short time to read what was queued for it. It is idempotent.
func (s *Server) Close() error {
	s.sessions.Close(func(c *ServerConn) { c.end(transport.ErrClosed) })
	return nil
}

// httpError answers with status and a one-line reason.
func httpError(w http.ResponseWriter, status int, format string, a ...any) {
	session.HTTPError(w, "sse", status, format, a...)
}

// ServeHTTP serves the endpoints listed in the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body := session.WatchBody(w, r, "sse", s.opts.BodyTimeout) // a slow body is cut off (session.Body)
	defer body.Done()
	switch r.URL.Path {
	case s.opts.Prefix + "/session":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			httpError(w, http.StatusMethodNotAllowed, "open a session with POST %s/session (or GET %s to stream a new one)", s.opts.Prefix, s.opts.Prefix)
			return
		}
		c, ok := s.open(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, c.id+"\n")
	case s.opts.Prefix, s.opts.Prefix + "/":
		sid := r.URL.Query().Get("sid")
		if sid == "" {
			if r.Method != http.MethodGet {
				httpError(w, http.StatusBadRequest, "missing sid: GET %s opens a session and its first event says its id; then %s %s?sid=ID", s.opts.Prefix, r.Method, s.opts.Prefix)
				return
			}
			if _, has, _ := lastEventID(r); has {
				httpError(w, http.StatusBadRequest, "Last-Event-ID resumes a session: name it with %s?sid=ID", s.opts.Prefix)
				return
			}
			c, ok := s.open(w, r)
			if !ok {
				return
			}
			c.stream(w, r, true)
			return
		}
		c, ok := s.sessions.Lookup(sid)
		if !ok {
			httpError(w, http.StatusNotFound, "unknown session %q (closed, expired or never opened): GET %s opens a new one", sid, s.opts.Prefix)
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
			c.stream(w, r, false)
		case http.MethodPost:
			c.receive(w, r, body)
		case http.MethodDelete:
			c.end(io.EOF)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "%s is not used: GET streams, POST sends, DELETE closes", r.Method)
		}
	default:
		httpError(w, http.StatusNotFound, "no such endpoint %q: use %s and %s?sid=ID", r.URL.Path, s.opts.Prefix, s.opts.Prefix)
	}
}

// open creates a session and hands it to Accept; on failure it has answered.
func (s *Server) open(w http.ResponseWriter, r *http.Request) (*ServerConn, bool) {
	c := newServerConn(s, session.NewID())
	if cc := countconn.FromContext(r.Context()); cc != nil {
		cc.SetOwner(&c.counter)
	}
	c.requests.Add(1)
	switch err := s.sessions.Add(c.id, c, s.opts.MaxSessions); {
	case errors.Is(err, transport.ErrClosed):
		c.end(err)
		httpError(w, http.StatusServiceUnavailable, "server closed")
		return nil, false
	case errors.Is(err, session.ErrFull):
		c.end(err)
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "server full: %d sessions open, try again later", s.opts.MaxSessions)
		return nil, false
	case err != nil:
		c.end(err)
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "%v, try again later", err)
		return nil, false
	}
	c.touch()
	w.Header().Set("X-Netlab-Session", c.id)
	return c, true
}

// Stats counts what a session's streams did.
type Stats struct {
	Streams  int64  // GETs that streamed this session (the first and every reconnect)
	Replayed int64  // messages written again because a reconnect's Last-Event-ID was behind
	Gap      int64  // messages a reconnect asked for that had left the replay buffer (lost)
	Queued   int    // messages waiting to be written now
	Resumed  uint64 // the Last-Event-ID of the latest reconnect that sent one
}

// A ServerConn is the server's side of one SSE session. Send queues a
// message for the session's stream; Recv returns what the client POSTed.
// Its methods are safe for concurrent use.
type ServerConn struct {
	id  string
	srv *Server

	counter  countconn.Counter
	requests atomic.Int64
	posting  atomic.Int32 // POSTs in progress

	mu        sync.Mutex
	log       [][]byte // data of messages first.. (written ones kept for replay)
	first     uint64   // number of log[0]
	written   uint64   // the last number written to a stream
	changed   chan struct{}
	gen       uint64 // the current stream; an older one stops writing
	streaming bool
	live      *liveStream // the current stream, once it can be written to
	blocked   int         // Sends waiting for room in the queue
	closing   bool        // Close was called: write the rest, then event: end
	told      bool        // event: end was written
	stats     Stats
	idle      *time.Timer

	in      *session.Inbox
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
		id:      id,
		srv:     s,
		first:   1,
		changed: make(chan struct{}),
		in:      session.NewInbox(s.opts.Queue),
		gone:    make(chan struct{}),
	}
	c.idle = time.AfterFunc(s.opts.SessionIdle, c.expire)
	return c
}

// ID returns the session id.
func (c *ServerConn) ID() string { return c.id }

// Stats returns what the session's streams did so far.
func (c *ServerConn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Queued = int(c.last() - c.written)
	return st
}

// DropStream ends the stream being written, as a lost connection would
// (the client reconnects after retry: with Last-Event-ID). It reports
// whether there was one.
func (c *ServerConn) DropStream() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.streaming {
		return false
	}
	c.gen++
	c.notify()
	return true
}

func (c *ServerConn) touch() { c.idle.Reset(c.srv.opts.SessionIdle) }

func (c *ServerConn) last() uint64 { return c.first + uint64(len(c.log)) - 1 }

// expire ends the session when it had no stream and no request for
// SessionIdle.
func (c *ServerConn) expire() {
	c.mu.Lock()
	busy := c.streaming
	c.mu.Unlock()
	if busy {
		c.touch()
		return
	}
	c.end(fmt.Errorf("sse: session %s expired: no stream or request for %v", c.id, c.srv.opts.SessionIdle))
}

// notify wakes the stream and a blocked Send. Call with mu held.
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

// trim drops written messages beyond the replay buffer. Call with mu held.
func (c *ServerConn) trim() {
	kept := c.written - (c.first - 1) // written messages still in log
	if kept <= uint64(c.srv.opts.Replay) {
		return
	}
	drop := int(kept - uint64(c.srv.opts.Replay))
	clear(c.log[:drop])
	c.log = c.log[drop:]
	c.first += uint64(drop)
}

// lastEventID reads where a GET resumes: the Last-Event-ID header (what
// EventSource sends), else ?lastEventId= (for curl), else ok=false.
func lastEventID(r *http.Request) (uint64, bool, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bad Last-Event-ID %q: want the number of the last message received", v)
	}
	return n, true, nil
}

// batchBytes bounds the messages one flush carries.
const batchBytes = 64 << 10

// A liveStream is one held GET being written to. Two goroutines write it:
// the GET's handler (a backlog, a replay, heartbeats, event: end) and Send,
// which writes its message itself when the stream has nothing else to
// write, as TCP's Send does: handing it to the handler's goroutine was the
// one step SSE push had beyond WebSocket push (BenchmarkPushVsWebSocket).
// wmu serializes the two; it is taken before the session's mu, never after.
type liveStream struct {
	wmu         sync.Mutex
	w           http.ResponseWriter
	sess        *gosse.Session
	rc          *http.ResponseController
	gen         uint64
	timeout     time.Duration
	deadlineSet time.Time // guarded by wmu
	out         []byte    // guarded by wmu
	broken      bool      // a write failed; guarded by the session's mu
}

// deadline gives the write about to be made WriteTimeout to finish; it is
// moved at most once a second (moving it costs a system call's worth of
// time). Call with wmu held.
func (s *liveStream) deadline() {
	if now := time.Now(); now.Sub(s.deadlineSet) > time.Second {
		s.rc.SetWriteDeadline(now.Add(s.timeout))
		s.deadlineSet = now
	}
}

// send writes m and flushes it. Call with wmu held.
func (s *liveStream) send(m *gosse.Message) error {
	s.deadline()
	if err := s.sess.Send(m); err != nil {
		return err
	}
	return s.sess.Flush()
}

// writeQueued writes the messages not yet written to st, up to batchBytes
// of them, and reports whether it wrote any. Call with st.wmu held. When
// there was nothing to write it returns what the handler waits on: the
// changed channel and whether the session is closing, read together with
// the queue. stop means st is no longer the session's stream.
func (c *ServerConn) writeQueued(st *liveStream) (wrote bool, changed chan struct{}, closing, stop bool) {
	c.mu.Lock()
	if c.live != st || c.gen != st.gen || st.broken {
		c.mu.Unlock()
		return false, nil, false, true
	}
	from, to := c.written+1, c.written
	st.out = st.out[:0]
	for n := from; n <= c.last() && (len(st.out) < batchBytes || n == from); n++ {
		st.out = appendEvent(st.out, n, c.log[n-c.first])
		to = n
	}
	closing, changed = c.closing, c.changed
	c.mu.Unlock()
	if to < from {
		return false, changed, closing, false
	}

	st.deadline()
	_, err := st.w.Write(st.out)
	if err == nil {
		err = st.sess.Flush()
	}
	c.mu.Lock()
	if err != nil {
		st.broken = true // the handler returns; the client reconnects
	} else if c.live == st && to > c.written {
		c.written = to
		c.trim()
	}
	if err != nil || c.blocked > 0 {
		c.notify() // the handler sees broken; a blocked Send may go on
	}
	c.mu.Unlock()
	return err == nil, nil, false, err != nil
}

// stream holds the GET open and writes the session's messages down it until
// the session ends, a newer stream replaces it, or the client goes away.
// fresh is a session opened by this very GET: its id goes first, as an event.
func (c *ServerConn) stream(w http.ResponseWriter, r *http.Request, fresh bool) {
	resume, has, err := lastEventID(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	sess, err := gosse.Upgrade(w, r)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	st := &liveStream{w: w, sess: sess, rc: http.NewResponseController(w), timeout: c.srv.opts.WriteTimeout}
	st.wmu.Lock() // Send waits for the stream's first lines
	defer st.wmu.Unlock()

	c.mu.Lock()
	if has && resume > c.last() {
		last := c.last()
		c.mu.Unlock()
		httpError(w, http.StatusBadRequest, "Last-Event-ID %d is beyond the last message sent (%d)", resume, last)
		return
	}
	if c.told {
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // the spec's "stop reconnecting"
		return
	}
	if c.stats.Streams > 0 && has {
		c.stats.Resumed = resume
	}
	if c.stats.Streams > 0 && has && resume < c.written {
		from := max(resume, c.first-1)
		c.stats.Replayed += int64(c.written - from)
		if resume < c.first-1 {
			c.stats.Gap += int64(c.first - 1 - resume)
		}
		c.written = from
	}
	c.stats.Streams++
	c.gen++
	st.gen = c.gen
	c.streaming = true
	c.live = st
	c.notify() // an older stream stops
	c.mu.Unlock()
	defer func() { // with wmu held (deferred above): no Send writes after this
		st.rc.SetWriteDeadline(time.Time{})
		c.mu.Lock()
		if c.live == st {
			c.live = nil
		}
		if c.gen == st.gen {
			c.streaming = false
		}
		c.mu.Unlock()
	}()

	h := w.Header()
	h.Set("X-Accel-Buffering", "no") // ask proxies not to buffer the stream
	h.Set("X-Netlab-Session", c.id)
	st.deadline()
	if err := sess.Send(&gosse.Message{Retry: c.srv.opts.Retry}); err != nil {
		return
	}
	if fresh {
		m := &gosse.Message{Type: gosse.Type("session")}
		m.AppendData(c.id)
		if err := sess.Send(m); err != nil {
			return
		}
	}
	if err := sess.Flush(); err != nil {
		return
	}
	st.wmu.Unlock()

	heartbeat := time.NewTicker(c.srv.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		st.wmu.Lock()
		wrote, changed, closing, stop := c.writeQueued(st)
		if stop {
			return // replaced by a reconnect, dropped, or the write failed
		}
		if wrote {
			st.wmu.Unlock()
			continue
		}
		if closing {
			m := &gosse.Message{Type: gosse.Type("end")}
			m.AppendData("closed")
			if st.send(m) == nil {
				c.mu.Lock()
				c.told = true
				c.notify()
				c.mu.Unlock()
			}
			return
		}
		st.wmu.Unlock()
		select {
		case <-changed:
		case <-c.gone:
			if !errors.Is(c.goneErr, transport.ErrClosed) {
				st.wmu.Lock()
				return // the client closed it, or it expired
			}
			c.mu.Lock()
			c.closing = true
			c.mu.Unlock()
		case <-heartbeat.C:
			m := &gosse.Message{}
			m.AppendComment("ping")
			st.wmu.Lock()
			if st.send(m) != nil {
				return
			}
			st.wmu.Unlock()
		case <-r.Context().Done():
			st.wmu.Lock()
			return // the client went away
		}
	}
}

// appendEvent appends message n as an event: "id: n", "data: " and its
// data, an empty line. Data never holds a line break (encodeData), so one
// data: line carries it whole; go-sse's Message.WriteTo would write the
// same bytes, with an allocation per event.
func appendEvent(b []byte, n uint64, data []byte) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
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

// encodeData is a message as one data: line: its text when it is only one
// line of text that reads back as itself, else its JSON wire form (which
// has no newline).
func encodeData(m transport.Message) []byte {
	if m.Seq == 0 && m.Event == "" && m.Room == "" && m.Sent.IsZero() && utf8.Valid(m.Data) &&
		!bytes.ContainsAny(m.Data, "\r\n") && len(bytes.TrimSpace(m.Data)) > 0 &&
		!bytes.HasPrefix(bytes.TrimLeft(m.Data, " \t"), []byte("{")) && m.Data[0] != ' ' {
		return bytes.Clone(m.Data)
	}
	return transport.Encode(m)
}

// Send queues m for the session's stream. It blocks while Queue messages
// wait unwritten (no stream is open, or the client reads slowly).
func (c *ServerConn) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > c.srv.opts.MaxMessage {
		return fmt.Errorf("sse: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, c.srv.opts.MaxMessage)
	}
	b := encodeData(m)
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return fmt.Errorf("sse: send: %w", transport.ErrClosed)
		}
		select {
		case <-c.gone:
			c.mu.Unlock()
			return fmt.Errorf("sse: send: session ended: %w", transport.ErrClosed)
		default:
		}
		if c.last()-c.written < uint64(c.srv.opts.Queue) {
			c.log = append(c.log, b)
			st := c.live
			if st != nil && !st.broken && c.written+1 == c.last() && st.wmu.TryLock() {
				// The stream is idle: write the message now, on this
				// goroutine (see stream).
				c.mu.Unlock()
				c.writeQueued(st)
				st.wmu.Unlock()
				return nil
			}
			c.notify()
			c.mu.Unlock()
			return nil
		}
		changed := c.changed
		c.blocked++
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		c.mu.Lock()
		c.blocked--
		c.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
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
		return transport.Message{}, fmt.Errorf("sse: recv: %w", transport.ErrClosed)
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
		return transport.Message{}, fmt.Errorf("sse: recv: %w", c.goneErr)
	}
}

// Close lets the stream write what is queued and then event: end, waiting
// at most two seconds, then ends the session.
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
		c.mu.Unlock()
		if told {
			break
		}
		select {
		case <-changed:
			continue
		case <-c.gone:
		case <-t.C:
		}
		break
	}
	c.end(transport.ErrClosed)
	return nil
}

// WireStats reports the session's requests and bytes on the wire (zero
// bytes when the server's listener does not count).
func (c *ServerConn) WireStats() transport.WireStats {
	r, w := c.counter.Load()
	return transport.WireStats{BytesReceived: r, BytesSent: w, Requests: c.requests.Load()}
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
