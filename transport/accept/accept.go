// Package accept is the accept loop every TCP-based netlab server shares: a
// net.Listener wrapper whose Accept survives running out of file descriptors
// and refuses connections over a cap instead of leaving them hanging.
//
// Accept errors that are temporary (EMFILE and ENFILE: out of file
// descriptors; ECONNABORTED: the client gave up while queued; ENOBUFS and
// ENOMEM) are retried with a backoff of 5 ms doubling to 1 s, as net/http's
// Server.Serve does, and logged once rather than once per retry. Without
// this, a server that runs out of descriptors either exits (its loop returns
// the error) or stops accepting for good, and clients connect (the kernel
// completes the handshake into the backlog) and hang.
//
// A Limit bounds the connections open at once, below the process's file
// descriptor limit (DefaultMax reads RLIMIT_NOFILE). A connection over the
// limit is accepted, sent a short refusal (a "server full" line, an HTTP
// 503) and closed, so its client hears why at once.
package accept

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Backoff bounds, as net/http's Server.Serve uses them.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
	// logEvery: after the first accept error is logged, the next one is
	// logged no sooner than this, with a count of those in between.
	logEvery = time.Minute
	// refuseWait bounds the time spent refusing one connection (writing
	// the refusal, then reading what the client sent so that closing does
	// not reset the connection before the refusal is read).
	refuseWait = 500 * time.Millisecond
	// maxRefusing bounds the refusals in progress; beyond it a connection
	// over the limit is sent the refusal and closed at once, without
	// waiting to read what it sent.
	maxRefusing = 32
	// floodWriteWait bounds the refusal written inline to a connection
	// over maxRefusing.
	floodWriteWait = 10 * time.Millisecond
)

// Refusals for the servers netlab runs.
var (
	// LineFull is the refusal for line-based TCP servers (nc clients).
	LineFull = []byte("server full: too many connections, try again later\n")
	// HTTPFull is the refusal for HTTP servers: 503 with Retry-After.
	HTTPFull = httpRefusal(503, "Service Unavailable", "server full: too many connections, try again later\n")
)

// httpRefusal is a whole HTTP/1.1 response that closes the connection.
func httpRefusal(code int, reason, body string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", code, reason, len(body), body)
}

// A Limit counts open connections against a maximum. Listeners of one
// process may share a Limit, since they share its file descriptors. It is
// safe for concurrent use.
type Limit struct {
	max     int64
	open    atomic.Int64
	refused atomic.Int64
}

// NewLimit returns a Limit of max open connections; max <= 0 means
// DefaultMax().
func NewLimit(max int) *Limit {
	if max <= 0 {
		max = DefaultMax()
	}
	return &Limit{max: int64(max)}
}

// Max returns the limit.
func (l *Limit) Max() int { return int(l.max) }

// Open returns how many connections are open now.
func (l *Limit) Open() int { return int(l.open.Load()) }

// Refused returns how many connections were refused for being over the limit.
func (l *Limit) Refused() int64 { return l.refused.Load() }

func (l *Limit) take() bool {
	if l.open.Add(1) > l.max {
		l.open.Add(-1)
		return false
	}
	return true
}

// DefaultMax is the default connection limit: the soft RLIMIT_NOFILE less a
// reserve (an eighth, at least 32) for listeners, log files, DNS and the
// refusals themselves. With `ulimit -n 1024` it is 896.
func DefaultMax() int { return MaxFor(fileLimit()) }

// MaxFor is DefaultMax under a file descriptor limit of nofile (0 or less:
// unknown, taken as 1<<20).
func MaxFor(nofile int) int {
	n := nofile
	if n <= 0 || n > 1<<20 {
		n = 1 << 20
	}
	reserve := max(32, n/8)
	return max(1, n-reserve)
}

// Config configures a Listener.
type Config struct {
	// Limit bounds open connections; nil means NewLimit(0).
	Limit *Limit
	// Refusal is written to a connection over the limit before it is
	// closed (LineFull, HTTPFull); nil closes it without a word.
	Refusal []byte
	// Logf, when set, is told when accepting fails with a temporary error:
	// once, then at most once a minute with a count.
	Logf func(format string, args ...any)
}

// A Listener is a net.Listener whose Accept retries temporary errors and
// enforces a Limit. Multiple goroutines may invoke its methods
// simultaneously.
type Listener struct {
	net.Listener
	cfg Config

	refusing chan struct{} // a token per refusal in progress

	closeOnce sync.Once
	closed    chan struct{}

	dmu      sync.Mutex
	deadline time.Time
	dchange  chan struct{} // closed and replaced by SetDeadline

	lmu       sync.Mutex
	lastLog   time.Time
	unlogged  int
	errorsAll atomic.Int64
}

// Wrap returns ln with netlab's accept loop.
func Wrap(ln net.Listener, cfg Config) *Listener {
	if cfg.Limit == nil {
		cfg.Limit = NewLimit(0)
	}
	return &Listener{Listener: ln, cfg: cfg, refusing: make(chan struct{}, maxRefusing),
		closed: make(chan struct{}), dchange: make(chan struct{})}
}

// Limit returns the listener's limit.
func (l *Listener) Limit() *Limit { return l.cfg.Limit }

// AcceptErrors returns how many temporary accept errors were retried.
func (l *Listener) AcceptErrors() int64 { return l.errorsAll.Load() }

// Temporary reports whether an accept error is one to retry after a pause:
// out of file descriptors or buffers, or a connection aborted in the queue.
// A deadline is not temporary here: it is how a caller interrupts Accept.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Accept returns the next connection under the limit. It retries
// temporary errors with backoff until the listener is closed or its
// deadline (SetDeadline) passes.
func (l *Listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if !Temporary(err) {
				return nil, err
			}
			l.errorsAll.Add(1)
			l.logError(err)
			if backoff == 0 {
				backoff = minBackoff
			} else {
				backoff = min(2*backoff, maxBackoff)
			}
			if err := l.sleep(backoff); err != nil {
				return nil, err
			}
			continue
		}
		backoff = 0
		if !l.cfg.Limit.take() {
			l.cfg.Limit.refused.Add(1)
			l.refuse(nc)
			continue
		}
		return &Conn{Conn: nc, lim: l.cfg.Limit}, nil
	}
}

// sleep waits d, or less when the listener is closed (net.ErrClosed) or its
// deadline comes first (os.ErrDeadlineExceeded, as Accept would return).
func (l *Listener) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		l.dmu.Lock()
		dl, changed := l.deadline, l.dchange
		l.dmu.Unlock()
		var expire <-chan time.Time
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: os.ErrDeadlineExceeded}
			}
			dt := time.NewTimer(left)
			expire = dt.C
			defer dt.Stop() // at most a few: the loop turns only when the deadline changes
		}
		select {
		case <-t.C:
			return nil
		case <-l.closed:
			return &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
		case <-changed:
		case <-expire:
		}
	}
}

func (l *Listener) logError(err error) {
	if l.cfg.Logf == nil {
		return
	}
	l.lmu.Lock()
	defer l.lmu.Unlock()
	now := time.Now()
	switch {
	case l.lastLog.IsZero():
		l.cfg.Logf("accept on %s: %v; retrying with backoff up to %v (logged once; open connections %d of %d)",
			l.Addr(), err, maxBackoff, l.cfg.Limit.Open(), l.cfg.Limit.Max())
	case now.Sub(l.lastLog) >= logEvery:
		l.cfg.Logf("accept on %s: %v; %d more accept errors since the last report", l.Addr(), err, l.unlogged)
		l.unlogged = 0
	default:
		l.unlogged++
		return
	}
	l.lastLog = now
}

// refuse tells nc the server is full and closes it, without holding up
// Accept: the refusal runs on its own goroutine, at most maxRefusing at once.
func (l *Listener) refuse(nc net.Conn) {
	if len(l.cfg.Refusal) == 0 {
		nc.Close()
		return
	}
	select {
	case l.refusing <- struct{}{}:
	default:
		// Refusing too many already: no goroutine and no waiting for this
		// one. The refusal still goes into the new socket's empty send
		// buffer (so the write does not block), then the close; a client
		// that had already sent bytes may get a reset instead.
		nc.SetWriteDeadline(time.Now().Add(floodWriteWait))
		nc.Write(l.cfg.Refusal)
		nc.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(refuseWait))
		if _, err := nc.Write(l.cfg.Refusal); err != nil {
			return
		}
		// Close our side for writing, then read what the client sent (an
		// HTTP request) until it closes or refuseWait passes: closing with
		// unread bytes would reset the connection, and the client could
		// lose the refusal.
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		var buf [512]byte
		for {
			if _, err := nc.Read(buf[:]); err != nil {
				return
			}
		}
	}()
}

// SetDeadline sets the deadline of Accept (as net.TCPListener's does); the
// zero time means none. It interrupts a backoff in progress.
func (l *Listener) SetDeadline(t time.Time) error {
	l.dmu.Lock()
	l.deadline = t
	close(l.dchange)
	l.dchange = make(chan struct{})
	l.dmu.Unlock()
	if d, ok := l.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		return d.SetDeadline(t)
	}
	return nil
}

// Close stops listening (and any backoff in progress).
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// A Conn is an accepted connection; closing it frees its place under the
// Limit.
type Conn struct {
	net.Conn
	lim  *Limit
	once sync.Once
}

// Close closes the connection and frees its place.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.lim.open.Add(-1) })
	return err
}

// NetConn returns the connection Accept wrapped (a *net.TCPConn).
func (c *Conn) NetConn() net.Conn { return c.Conn }

// SetNoDelay sets TCP_NODELAY when the connection is TCP.
func (c *Conn) SetNoDelay(on bool) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetNoDelay(on)
	}
	return nil
}

// CloseWrite shuts down the writing side when the connection is TCP.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
