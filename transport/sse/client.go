package sse

import (
	"bytes"
	"context"
	"errors"
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

	gosse "github.com/tmaxmax/go-sse"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/internal/queue"
)

// A Conn is the client side of an SSE session: one goroutine holds the
// event stream open (go-sse's Connection: it honours retry: and reconnects
// with Last-Event-ID) and hands each message to Recv through a channel; one
// goroutine POSTs what Send queued, several messages in one POST. Its
// methods are safe for concurrent use.
type Conn struct {
	opts Options
	base string // http://host:port/sse
	sid  string
	hc   *http.Client
	tr   *http.Transport

	counter    countconn.Counter
	requests   atomic.Int64
	reconnects atomic.Int64

	q *queue.Queue // Send and Recv

	streamCtx  context.Context // cancelled to stop the stream
	stopStream context.CancelFunc
	ended      atomic.Bool // the server said event: end, or 204/404 on a reconnect
	badData    error       // set by the stream callback before it stops the stream
	closeOnce  sync.Once
}

var (
	_ transport.Conn  = (*Conn)(nil)
	_ transport.Meter = (*Conn)(nil)
)

// Dial opens a session at addr: "host:port" (Options.Prefix is used) or an
// http:// URL of the endpoint ("http://host:port/sse"), and starts its
// stream.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	base := addr
	if !strings.Contains(addr, "://") {
		base = "http://" + addr + opts.Prefix
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("sse: dial %q: %w", addr, err)
	}
	c := &Conn{
		opts: opts,
		base: strings.TrimSuffix(base, "/"),
		q:    queue.New("sse", opts.MaxMessage, opts.Queue, 64),
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
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opts.WriteTimeout,
		DisableCompression:    true,
	}
	c.hc = &http.Client{Transport: roundTripper{c}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/session", nil)
	if err != nil {
		return nil, fmt.Errorf("sse: dial: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.tr.CloseIdleConnections()
		return nil, fmt.Errorf("sse: dial: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		c.tr.CloseIdleConnections()
		return nil, fmt.Errorf("sse: dial: POST %s/session: %s: %s", c.base, resp.Status, bytes.TrimSpace(body))
	}
	c.sid = string(bytes.TrimSpace(body))

	c.streamCtx, c.stopStream = context.WithCancel(context.Background())
	sreq, err := http.NewRequestWithContext(c.streamCtx, http.MethodGet, c.base+"?sid="+url.QueryEscape(c.sid), nil)
	if err != nil {
		c.stopStream()
		return nil, fmt.Errorf("sse: dial: %w", err)
	}
	client := &gosse.Client{
		HTTPClient:        c.hc,
		ResponseValidator: c.validate,
		OnRetry:           func(error, time.Duration) { c.reconnects.Add(1) },
		Backoff: gosse.Backoff{
			InitialInterval: opts.Reconnect, // until the server says retry:
			Multiplier:      1,              // then exactly retry: each time
			Jitter:          1e-9,           // go-sse takes 0 for "default"; this is none
			MaxElapsedTime:  opts.SessionIdle,
		},
	}
	conn := client.NewConnection(sreq)
	conn.Buffer(nil, opts.wireLimit()+64)
	conn.SubscribeToAll(c.onEvent)
	go c.streamPump(conn)
	go c.postPump()
	return c, nil
}

// errEnded is what the validator returns when the server refuses to stream
// the session again: it has ended.
var errEnded = errors.New("session ended")

// validate checks a stream's answer: 200 text/event-stream streams; 204
// (the spec's "stop reconnecting") or 404 (unknown session) end the session.
func (c *Conn) validate(r *http.Response) error {
	if r.StatusCode == http.StatusNoContent || r.StatusCode == http.StatusNotFound {
		c.ended.Store(true)
		return errEnded
	}
	return gosse.DefaultValidator(r)
}

// onEvent is called by the stream for every event, one at a time.
func (c *Conn) onEvent(ev gosse.Event) {
	if ev.Type == "end" && ev.Data != "" {
		c.ended.Store(true)
		c.stopStream()
		return
	}
	m, ok, err := c.opts.messageOf(ev)
	if err != nil {
		c.badData = fmt.Errorf("sse: recv: event %s: %w", ev.LastEventID, err)
		c.stopStream()
		return
	}
	if !ok {
		return
	}
	select {
	case c.q.In <- m:
	case <-c.streamCtx.Done():
	}
}

// messageOf reads the message an event carries, if it carries one: a
// "message" event (the default type) with a data buffer. A message larger
// than MaxMessage is an error, as it is for the server reading a POST: the
// stream's buffer (wireLimit) is sized for base64 inside JSON, about four
// times MaxMessage, so the buffer alone would let a larger one through.
func (o Options) messageOf(ev gosse.Event) (m transport.Message, ok bool, err error) {
	if ev.Data == "" {
		// The spec dispatches no event with an empty data buffer (go-sse
		// yields one for a block holding only retry:).
		return m, false, nil
	}
	if ev.Type != "" && ev.Type != "message" { // "session", "end" and events this client does not know
		return m, false, nil
	}
	m, err = transport.Decode([]byte(ev.Data))
	if err != nil {
		return m, false, err
	}
	if len(m.Data) > o.MaxMessage {
		return m, false, fmt.Errorf("%d-byte message: %w (limit %d)", len(m.Data), transport.ErrTooLarge, o.MaxMessage)
	}
	return m, true, nil
}

// streamPump is the only reader: go-sse's Connect holds the stream and
// reconnects until the session ends or Close.
func (c *Conn) streamPump(conn *gosse.Connection) {
	err := conn.Connect()
	switch {
	case c.q.Closed():
		err = fmt.Errorf("sse: recv: %w", transport.ErrClosed)
	case c.badData != nil:
		err = c.badData
	case c.ended.Load():
		err = io.EOF
	default:
		err = fmt.Errorf("sse: stream: %w", err)
	}
	c.q.ReadDone(err)
}

// roundTripper counts requests and gives a stream a read deadline: a stream
// silent for three heartbeats is cut, so go-sse reconnects.
type roundTripper struct{ c *Conn }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.c.requests.Add(1)
	if req.Method != http.MethodGet {
		return rt.c.tr.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	resp, err := rt.c.tr.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	limit := 3 * rt.c.opts.Heartbeat
	resp.Body = &idleBody{ReadCloser: resp.Body, limit: limit, cancel: cancel, t: time.AfterFunc(limit, cancel)}
	return resp, nil
}

// idleBody cancels its request when no byte arrived for limit.
type idleBody struct {
	io.ReadCloser
	limit  time.Duration
	cancel context.CancelFunc
	t      *time.Timer
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.t.Reset(b.limit)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.t.Stop()
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Session returns the session id.
func (c *Conn) Session() string { return c.sid }

// Reconnects returns how many times the stream was opened again.
func (c *Conn) Reconnects() int64 { return c.reconnects.Load() }

// Send queues m; the sender POSTs it with whatever else is queued.
func (c *Conn) Send(ctx context.Context, m transport.Message) error { return c.q.Send(ctx, m) }

// Recv returns the next message the server pushed; io.EOF once the server
// closed the session.
func (c *Conn) Recv(ctx context.Context) (transport.Message, error) { return c.q.Recv(ctx) }

// Close POSTs what is queued (within about two seconds), closes the session
// with DELETE and stops the stream.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.q.StartClose()
		<-c.q.WriteEnded()
		if !c.ended.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.base+"?sid="+url.QueryEscape(c.sid), nil); err == nil {
				if resp, err := c.hc.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			cancel()
		}
		c.stopStream()
		<-c.q.ReadEnded()
		c.tr.CloseIdleConnections()
	})
	return nil
}

// WireStats reports what this client's connections carried and every
// request it made (streams, reconnects and POSTs).
func (c *Conn) WireStats() transport.WireStats {
	r, w := c.counter.Load()
	return transport.WireStats{BytesReceived: r, BytesSent: w, Requests: c.requests.Load()}
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
		return 0, fmt.Errorf("sse: send: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sse: send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		switch resp.StatusCode {
		case http.StatusGone, http.StatusNotFound:
			return 0, fmt.Errorf("sse: send: %s: %w", bytes.TrimSpace(msg), transport.ErrClosed)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
				return max(time.Duration(secs)*time.Second, time.Millisecond),
					fmt.Errorf("sse: send: %s: %s", resp.Status, bytes.TrimSpace(msg))
			}
		}
		return 0, fmt.Errorf("sse: send: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	io.Copy(io.Discard, resp.Body)
	return 0, nil
}
