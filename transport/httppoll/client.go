package httppoll

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/queue"
)

// A Conn is the client side of a polling session: one goroutine polls with
// GET (short or long), one sends what is queued with POST, several queued
// messages in one POST. Its methods are safe for concurrent use.
type Conn struct {
	opts Options
	base string // http://host:port/poll
	sid  string
	hc   *http.Client
	tr   *http.Transport

	counter  countconn.Counter
	requests atomic.Int64
	empty    atomic.Int64

	q *queue.Queue // Send and Recv

	pollCtx   context.Context // cancelled by Close to stop the poller
	stopPoll  context.CancelFunc
	closeOnce sync.Once
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

// Dial opens a session at addr: "host:port" (Options.Prefix is used) or an
// http:// URL of the endpoint ("http://host:port/poll").
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	base := addr
	if !strings.Contains(addr, "://") {
		base = "http://" + addr + opts.Prefix
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("httppoll: dial %q: %w", addr, err)
	}
	c := &Conn{
		opts: opts,
		base: strings.TrimSuffix(base, "/"),
		q:    queue.New("httppoll", opts.MaxMessage, opts.Queue, 64),
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			nc, err := d.DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			return countconn.New(nc, &c.counter), nil
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	c.hc = &http.Client{Transport: c.tr}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/session", nil)
	if err != nil {
		return nil, fmt.Errorf("httppoll: dial: %w", err)
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.tr.CloseIdleConnections()
		return nil, fmt.Errorf("httppoll: dial: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		c.tr.CloseIdleConnections()
		return nil, fmt.Errorf("httppoll: dial: POST %s/session: %s: %s", c.base, resp.Status, bytes.TrimSpace(body))
	}
	c.sid = string(bytes.TrimSpace(body))
	c.pollCtx, c.stopPoll = context.WithCancel(context.Background())
	go c.pollPump()
	go c.postPump()
	return c, nil
}

// pollAnswerTimeout is how long a GET may go unanswered beyond the hold.
const pollAnswerTimeout = 15 * time.Second

// Session returns the session id.
func (c *Conn) Session() string { return c.sid }

// Send queues m; the sender POSTs it with whatever else is queued.
func (c *Conn) Send(ctx context.Context, m transport.Message) error { return c.q.Send(ctx, m) }

// Recv returns the next message polled from the server; io.EOF once the
// server closed the session.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) { return c.q.Recv(ctx) }

// Close POSTs what is queued (within about two seconds), closes the session
// with DELETE and stops polling.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.q.StartClose()
		<-c.q.WriteEnded()
		select {
		case <-c.q.ReadEnded(): // the server already ended the session
		default:
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.base+"?sid="+url.QueryEscape(c.sid), nil); err == nil {
				c.requests.Add(1)
				if resp, err := c.hc.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			cancel()
		}
		c.stopPoll()
		<-c.q.ReadEnded()
		c.tr.CloseIdleConnections()
	})
	return nil
}

// WireStats reports what this client's connections carried, every request
// it made and the polls answered empty.
func (c *Conn) WireStats() transport.WireStats {
	r, w := c.counter.Load()
	return transport.WireStats{BytesReceived: r, BytesSent: w, Requests: c.requests.Load(), EmptyPolls: c.empty.Load()}
}

// pollPump is the only reader: it polls until the session ends or Close.
func (c *Conn) pollPump() {
	var err error // what Recv reports when the poller has stopped
	defer func() { c.q.ReadDone(err) }()
	var after uint64
	var timer *time.Timer
	if c.opts.Mode == Short {
		timer = time.NewTimer(0)
		defer timer.Stop()
	}
	for {
		if timer != nil { // short polling: one GET every PollInterval
			select {
			case <-timer.C:
			case <-c.pollCtx.Done():
				err = fmt.Errorf("httppoll: recv: %w", transport.ErrClosed)
				return
			}
			timer.Reset(c.opts.PollInterval)
		}
		u := c.base + "?sid=" + url.QueryEscape(c.sid) + "&after=" + strconv.FormatUint(after, 10)
		if c.opts.Mode == Long {
			u += "&wait=" + c.opts.Hold.String()
		}
		after, err = c.pollOnce(u, after)
		if err != nil {
			if c.pollCtx.Err() != nil {
				err = fmt.Errorf("httppoll: recv: %w", transport.ErrClosed)
			}
			return
		}
	}
}

// pollOnce makes one GET and queues what it brings; it returns the new
// after.
func (c *Conn) pollOnce(u string, after uint64) (uint64, error) {
	// A server that vanished without closing the connection must not hang
	// the poller: give up on an answer well after the server's hold.
	limit := pollAnswerTimeout
	if c.opts.Mode == Long {
		limit += c.opts.Hold
	}
	ctx, cancel := context.WithTimeout(c.pollCtx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return after, fmt.Errorf("httppoll: poll: %w", err)
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return after, fmt.Errorf("httppoll: poll: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNoContent:
		c.empty.Add(1)
		io.Copy(io.Discard, resp.Body)
		return after, nil
	case http.StatusGone:
		io.Copy(io.Discard, resp.Body)
		return after, io.EOF
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return after, fmt.Errorf("httppoll: poll: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return readAnswer(resp.Body, resp.Header.Get("X-Netlab-Last"), after, c.opts, func(m transport.Message) error {
		select {
		case c.q.In <- m:
			return nil
		case <-c.pollCtx.Done():
			return transport.ErrClosed
		}
	})
}

// readAnswer reads a poll answer's body, one message per line, handing each
// to deliver, and checks that it carried the messages after after up to the
// X-Netlab-Last header's number; it returns that number.
func readAnswer(body io.Reader, lastHeader string, after uint64, o Options, deliver func(transport.Message) error) (uint64, error) {
	last, err := strconv.ParseUint(lastHeader, 10, 64)
	if err != nil {
		return after, fmt.Errorf("httppoll: poll: bad X-Netlab-Last %q", clip(lastHeader))
	}
	sc := bufio.NewScanner(io.LimitReader(body, o.MaxBody+int64(o.wireLimit())))
	sc.Buffer(make([]byte, 0, 4096), o.wireLimit()+1)
	n := uint64(0)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		m, err := transport.Decode(sc.Bytes())
		if err != nil {
			return after, fmt.Errorf("httppoll: poll: %w", err)
		}
		n++
		if err := deliver(m); err != nil {
			return after, err
		}
	}
	if err := sc.Err(); err != nil {
		return after, fmt.Errorf("httppoll: poll: reading answer: %w", err)
	}
	if last != after+n {
		return after, fmt.Errorf("httppoll: poll: answer carried %d messages after %d but says the last is %d", n, after, last)
	}
	return last, nil
}

// postPump is the only sender: it POSTs every message queued, as many as
// fit in one body, until Close has flushed the queue.
func (c *Conn) postPump() {
	c.q.Drain(int(c.opts.MaxBody)-c.opts.wireLimit(), queue.AppendLine, func(body []byte, late bool) error {
		if late {
			return c.post(body, closeTimeout)
		}
		return c.post(body, c.opts.WriteTimeout)
	})
}

func (c *Conn) post(body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// A full inbox on the server takes nothing: send the same body again.
	return queue.SendAgain(ctx, func(ctx context.Context) (time.Duration, error) { return c.postOnce(ctx, body) })
}

// postOnce makes one POST. When the server asks to try again later it
// returns how much later, with the error to report if there is no time left.
func (c *Conn) postOnce(ctx context.Context, body []byte) (retry time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"?sid="+url.QueryEscape(c.sid), bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("httppoll: send: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("httppoll: send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		switch resp.StatusCode {
		case http.StatusGone:
			return 0, fmt.Errorf("httppoll: send: %s: %w", bytes.TrimSpace(msg), transport.ErrClosed)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
				return max(time.Duration(secs)*time.Second, time.Millisecond),
					fmt.Errorf("httppoll: send: %s: %s", resp.Status, bytes.TrimSpace(msg))
			}
		}
		return 0, fmt.Errorf("httppoll: send: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	io.Copy(io.Discard, resp.Body)
	return 0, nil
}
