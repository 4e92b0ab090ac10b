package missed

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
)

// client is the lab's client: an event socket (a new one after each
// reconnect), a "tick" handler that feeds a queue, and the application that
// drains it.
type client struct {
	cfg   Config
	sc    Scenario
	st    Strategy
	tr    transport.Transport
	addr  string
	total int

	seen     atomic.Int64 // the highest event number read off the wire and dispatched
	progress atomic.Int64 // bumps on every arrival and delivery, to see when things stop moving
	queue    chan item
	every    time.Duration // how long the application takes per event

	mu          sync.Mutex
	sock        *event.Socket
	socks       []*event.Socket // every socket, for their counters
	installed   bool            // the "tick" handler is (to be) installed
	accepted    map[int]bool    // taken into the queue
	gone        map[int]bool    // the server said it no longer has them
	next        int             // the lowest number neither accepted nor gone: the offset
	maxArrived  int
	dups        int
	overflow    int
	deliveredAt map[int]time.Time
	deliveries  map[int]int  // how often the application got each event (tests: never > 1 with dedup)
	recovered   map[int]bool // the delivered copy was a resend or replay
	back        time.Time    // when the trouble ended
	lastPull    time.Time
	connecting  bool   // a hello is on its way: its answer may mark holes as gone
	lost        int    // connections lost to a timeout and dialed again (OfflineMode Cut)
	lostErr     string // why the first of them died
}

type item struct {
	n     int
	again bool // a resend or a replay
}

func newClient(cfg Config, sc Scenario, st Strategy, tr transport.Transport, addr string, total int) *client {
	qcap := 4*total + 64 // no real bound: only the slow consumer's queue is small
	var every time.Duration
	if sc == SlowConsumer {
		qcap = cfg.Queue
		every = time.Duration(float64(time.Second) / cfg.ConsumeRate)
	}
	return &client{
		cfg: cfg, sc: sc, st: st, tr: tr, addr: addr, total: total,
		queue: make(chan item, qcap), every: every,
		installed:   sc != LateHandler,
		accepted:    make(map[int]bool),
		gone:        make(map[int]bool),
		next:        1,
		deliveredAt: make(map[int]time.Time),
		deliveries:  make(map[int]int),
		recovered:   make(map[int]bool),
	}
}

// connect dials, starts a socket and says hello with the client's offset.
func (c *client) connect(ctx context.Context) error {
	conn, err := c.tr.Dial(ctx, c.addr)
	if err != nil {
		return err
	}
	oc := &observedConn{Conn: conn, seen: &c.seen}
	c.mu.Lock()
	// The client's own requests (hello, replay) are answered by the server
	// at once; the generous timeout only keeps a loaded machine (tests under
	// -race on two cores) from failing a run that is merely slow.
	opts := event.Options{AckTimeout: c.cfg.AckTimeout + 5*time.Second}
	if c.installed {
		opts.Handlers = map[string]event.Handler{"tick": c.onTick}
	}
	from := c.next
	c.connecting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.connecting = false
		c.mu.Unlock()
	}()
	sock, err := event.NewSocket(oc, opts)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.sock = sock
	c.socks = append(c.socks, sock)
	c.mu.Unlock()
	b, _ := json.Marshal(hello{From: from})
	reply, err := sock.EmitWithAck(ctx, "hello", b)
	if err != nil {
		return err
	}
	c.applyRange(from, reply)
	return nil
}

// cut closes the client's connection as a broken link would.
func (c *client) cut() {
	c.mu.Lock()
	s := c.sock
	c.sock = nil
	c.mu.Unlock()
	if s != nil {
		s.Close()
		<-s.Done()
	}
}

func (c *client) close() { c.cut() }

// keepConnected is a client that notices when its connection dies (a
// heartbeat or request timeout during a cut) and dials again, as a
// Socket.IO client does, until ctx is done.
func (c *client) keepConnected(ctx context.Context) {
	for {
		c.mu.Lock()
		s := c.sock
		c.mu.Unlock()
		if s == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.Done():
		}
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		if c.sock == s {
			c.lost++
			if c.lostErr == "" && s.Err() != nil {
				c.lostErr = s.Err().Error()
			}
		}
		c.mu.Unlock()
		for {
			if err := c.connect(ctx); err == nil {
				break
			}
			c.cut()
			if !sleepUntil(ctx, time.Now().Add(100*time.Millisecond)) {
				return
			}
		}
	}
}

// install installs the late "tick" handler.
func (c *client) install() {
	c.mu.Lock()
	c.installed = true
	s := c.sock
	c.mu.Unlock()
	if s != nil {
		s.On("tick", c.onTick)
	}
}

func (c *client) setBack(t time.Time) {
	c.mu.Lock()
	c.back = t
	c.mu.Unlock()
}

// onTick is the client's "tick" handler: drop what it already has (with a
// strategy), take the rest into the queue, and ack what it took. An event
// that finds the queue full is dropped and not acked.
func (c *client) onTick(ctx context.Context, e event.Event) {
	n, again, ok := parseTick(e.Data)
	if !ok {
		return
	}
	c.progress.Add(1)
	c.mu.Lock()
	if c.accepted[n] {
		c.dups++
		if c.st.dedups() {
			c.mu.Unlock()
			e.Ack(ctx, nil) // so the server stops resending it
			return
		}
	}
	c.maxArrived = max(c.maxArrived, n)
	select {
	case c.queue <- item{n, again}:
		c.accepted[n] = true
		c.advance()
		c.mu.Unlock()
		e.Ack(ctx, nil)
	default:
		c.overflow++
		c.mu.Unlock()
	}
}

// advance moves the offset past what the client has or will never get.
// Call with mu held.
func (c *client) advance() {
	for c.accepted[c.next] || c.gone[c.next] {
		c.next++
	}
}

// consume is the application: it takes events from the queue, at its pace,
// and with Replay asks for the holes it sees when it has nothing else to do.
func (c *client) consume(ctx context.Context) {
	idle := time.NewTicker(c.cfg.AckTimeout / 4)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-c.queue:
			if c.every > 0 && !sleepUntil(ctx, time.Now().Add(c.every)) {
				return
			}
			c.deliver(it)
		case <-idle.C:
		}
		if c.st.replays() && len(c.queue) == 0 {
			c.pull(ctx)
		}
	}
}

func (c *client) deliver(it item) {
	now := time.Now()
	c.progress.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deliveries[it.n]++
	if _, ok := c.deliveredAt[it.n]; ok {
		return // only without dedup: the application got it twice
	}
	c.deliveredAt[it.n] = now
	if it.again {
		c.recovered[it.n] = true
	}
}

// pull asks the server for the events from the client's offset on, up to
// the highest event seen and at most a queue's worth of missing ones (what
// it already has in that range comes again and is dropped as a duplicate).
// The answer comes after the replayed events, so when it is back they have
// been handled; a short pause keeps an empty-handed client from spinning.
func (c *client) pull(ctx context.Context) {
	c.mu.Lock()
	sock := c.sock
	if sock == nil || c.connecting || c.next > c.maxArrived || time.Since(c.lastPull) < c.cfg.AckTimeout/4 {
		c.mu.Unlock()
		return
	}
	from, to, missing := c.next, c.next, 1
	for to+1 <= c.maxArrived && missing < cap(c.queue) {
		to++
		if !c.accepted[to] && !c.gone[to] {
			missing++
		}
	}
	c.lastPull = time.Now()
	c.mu.Unlock()
	b, _ := json.Marshal(replayReq{From: from, To: to})
	reply, err := sock.EmitWithAck(ctx, "replay", b)
	if err == nil {
		c.applyRange(from, reply)
	}
	c.progress.Add(1)
}

// applyRange marks as gone what the server no longer has: the numbers from
// from up to the oldest it still keeps (Replay only).
func (c *client) applyRange(from int, reply []byte) {
	if !c.st.replays() {
		return
	}
	var r rangeReply
	if json.Unmarshal(reply, &r) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := from; n < r.Oldest && n <= r.Head; n++ {
		if !c.accepted[n] {
			c.gone[n] = true
		}
	}
	c.advance()
}

// complete reports whether every emitted event was delivered or declared
// gone.
func (c *client) complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	done := len(c.deliveredAt)
	for n := range c.gone {
		if !c.accepted[n] {
			done++
		}
	}
	return done >= c.total
}

// observedConn notes the highest event number the client has read off the
// wire and finished dispatching (to a handler or to the unhandled count), so
// the lab can script a cut or a late handler "right after event k". The
// socket's reader calls Recv again only after dispatching what the last call
// returned, so a call's start marks the previous message as done.
type observedConn struct {
	transport.Conn
	seen *atomic.Int64 // the highest event number dispatched
	last atomic.Int64  // the event number the previous Recv returned
}

func (o *observedConn) Recv(ctx context.Context) (transport.Message, error) {
	if n := o.last.Load(); n > 0 {
		for {
			old := o.seen.Load()
			if n <= old || o.seen.CompareAndSwap(old, n) {
				break
			}
		}
	}
	m, err := o.Conn.Recv(ctx)
	o.last.Store(0)
	if err == nil && (m.Event == "tick" || m.Event == "tick?") {
		if n, _, ok := parseTick(m.Data); ok {
			o.last.Store(int64(n))
		}
	}
	return m, err
}

func itoa(n int) string { return strconv.Itoa(n) }
