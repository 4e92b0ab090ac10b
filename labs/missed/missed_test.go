package missed

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memTransport is an in-memory transport made of transporttest.Pipe pairs,
// for runs that must not depend on the machine's network stack.
type memTransport struct {
	mu   sync.Mutex
	ls   map[string]*memListener
	next int
}

func (t *memTransport) Info() transport.Info {
	return transport.Info{Name: "pipe", Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: true, MaxMessage: 1 << 20}
}

func (t *memTransport) Listen(ctx context.Context, addr string) (transport.Listener, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ls == nil {
		t.ls = make(map[string]*memListener)
	}
	t.next++
	l := &memListener{name: fmt.Sprintf("pipe-%d", t.next), conns: make(chan transport.Conn, 16), closed: make(chan struct{})}
	t.ls[l.name] = l
	return l, nil
}

func (t *memTransport) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	t.mu.Lock()
	l := t.ls[addr]
	t.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("pipe: no listener %q", addr)
	}
	a, b := transporttest.Pipe()
	select {
	case l.conns <- b:
		return a, nil
	case <-l.closed:
		return nil, transport.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memListener struct {
	name   string
	conns  chan transport.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *memListener) Accept(ctx context.Context) (transport.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, transport.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *memListener) Addr() net.Addr { return memAddr(l.name) }
func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

type memAddr string

func (a memAddr) Network() string { return "pipe" }
func (a memAddr) String() string  { return string(a) }

// transports are what the lab tests run over: the in-memory pipe and real
// TCP on 127.0.0.1.
func transports() []transport.Transport {
	return []transport.Transport{&memTransport{}, tcp.New(tcp.Options{})}
}

// fast is a small config: 20 events before a cut, 50 during, 20 after.
func fast() Config {
	return Config{
		Rate:       500,
		Around:     40 * time.Millisecond,
		Offline:    100 * time.Millisecond,
		Late:       60 * time.Millisecond,
		SlowFor:    100 * time.Millisecond,
		AckTimeout: 100 * time.Millisecond,
		Window:     1000,
	}
}

func TestOfflineNoneLosesExactlyTheCut(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.Info().Name, func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, Offline, None, tr)
			t.Logf("%+v", r)
			if r.Err != "" {
				t.Fatal(r.Err)
			}
			p := cfg.withDefaults().plan(Offline)
			cut := p.backAfter - p.cutAfter
			if r.Emitted != p.total || r.Missed != cut || r.Delivered != p.total-cut {
				t.Errorf("emitted %d, delivered %d, missed %d; want %d, %d, %d (the %d events of the cut)",
					r.Emitted, r.Delivered, r.Missed, p.total, p.total-cut, cut, cut)
			}
			if r.Recovered != 0 || r.Duplicated != 0 || r.HeldPeakEvents != 0 {
				t.Errorf("recovered %d, duplicated %d, held %d; want 0, 0, 0 with none", r.Recovered, r.Duplicated, r.HeldPeakEvents)
			}
		})
	}
}

func TestOfflineReplayInsideWindowLosesNothing(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.Info().Name, func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, Offline, Replay, tr)
			t.Logf("%+v", r)
			p := cfg.withDefaults().plan(Offline)
			cut := p.backAfter - p.cutAfter
			if r.Err != "" || r.Missed != 0 || r.Recovered != cut || r.Unrecoverable != 0 || r.Replayed != int64(cut) {
				t.Errorf("missed %d, recovered %d, unrecoverable %d, replayed %d (err %q); want 0, %d, 0, %d",
					r.Missed, r.Recovered, r.Unrecoverable, r.Replayed, r.Err, cut, cut)
			}
		})
	}
}

func TestOfflineReplayBeyondWindowReportsTheGap(t *testing.T) {
	cfg := fast()
	cfg.Window = 20
	r := RunOne(context.Background(), cfg, Offline, Replay, tcp.New(tcp.Options{}))
	t.Logf("%+v", r)
	p := cfg.withDefaults().plan(Offline)
	cut := p.backAfter - p.cutAfter
	// The ring holds the last 20 events emitted when the client comes back:
	// all from the cut. The 30 before them are gone, and the client is told.
	if r.Err != "" || r.Unrecoverable != cut-20 || r.Missed != cut-20 || r.Recovered != 20 || r.HeldPeakEvents != 20 {
		t.Errorf("unrecoverable %d, missed %d, recovered %d, held %d (err %q); want %d, %d, 20, 20",
			r.Unrecoverable, r.Missed, r.Recovered, r.HeldPeakEvents, r.Err, cut-20, cut-20)
	}
}

func TestLateHandlerNoneDropsExactlyTheUnhandled(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.Info().Name, func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, LateHandler, None, tr)
			t.Logf("%+v", r)
			p := cfg.withDefaults().plan(LateHandler)
			if r.Err != "" || r.DroppedUnhandled != p.cutAfter || r.Missed != p.cutAfter || r.Delivered != p.total-p.cutAfter {
				t.Errorf("unhandled %d, missed %d, delivered %d (err %q); want %d, %d, %d",
					r.DroppedUnhandled, r.Missed, r.Delivered, r.Err, p.cutAfter, p.cutAfter, p.total-p.cutAfter)
			}
		})
	}
}

func TestLateHandlerMitigationsRecoverEverything(t *testing.T) {
	for _, st := range []Strategy{Ack, Replay, All} {
		t.Run(st.String(), func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, LateHandler, st, tcp.New(tcp.Options{}))
			t.Logf("%+v", r)
			p := cfg.withDefaults().plan(LateHandler)
			if r.Err != "" || r.Missed != 0 || r.Recovered < p.cutAfter || r.DroppedUnhandled < p.cutAfter {
				t.Errorf("missed %d, recovered %d, unhandled %d (err %q); want 0, >= %d, >= %d",
					r.Missed, r.Recovered, r.DroppedUnhandled, r.Err, p.cutAfter, p.cutAfter)
			}
		})
	}
}

func TestOfflineAckRecoversEverything(t *testing.T) {
	cfg := fast()
	r := RunOne(context.Background(), cfg, Offline, Ack, tcp.New(tcp.Options{}))
	t.Logf("%+v", r)
	p := cfg.withDefaults().plan(Offline)
	cut := p.backAfter - p.cutAfter
	if r.Err != "" || r.Missed != 0 || r.Recovered < cut || r.HeldPeakEvents < cut || r.Acks < int64(p.total) {
		t.Errorf("missed %d, recovered %d, held %d, acks %d (err %q); want 0, >= %d, >= %d, >= %d",
			r.Missed, r.Recovered, r.HeldPeakEvents, r.Acks, r.Err, cut, cut, p.total)
	}
}

func TestSlowConsumer(t *testing.T) {
	for _, st := range []Strategy{None, Ack, Replay, All} {
		t.Run(st.String(), func(t *testing.T) {
			cfg := fast()
			cfg.Rate, cfg.ConsumeRate, cfg.Queue = 400, 100, 5
			r := RunOne(context.Background(), cfg, SlowConsumer, st, tcp.New(tcp.Options{}))
			t.Logf("%+v", r)
			if r.Err != "" || r.Delivered+r.Missed != r.Emitted || r.Emitted != 40 {
				t.Fatalf("emitted %d, delivered %d, missed %d (err %q)", r.Emitted, r.Delivered, r.Missed, r.Err)
			}
			// The consumer takes 10ms an event, 4 times slower than they come,
			// behind a queue of 5: many must find it full.
			if r.DroppedQueueFull == 0 {
				t.Errorf("no event found the queue full")
			}
			if st == None && r.Missed != r.DroppedQueueFull {
				t.Errorf("none: missed %d, want the %d dropped", r.Missed, r.DroppedQueueFull)
			}
			if st != None && r.Missed != 0 {
				t.Errorf("%s: missed %d, want 0", st, r.Missed)
			}
		})
	}
}

// lossyAcks is a transport whose client side loses every third ack it
// sends, so the server resends and the client sees duplicates.
type lossyAcks struct{ transport.Transport }

func (l lossyAcks) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	c, err := l.Transport.Dial(ctx, addr)
	return &lossyAckConn{Conn: c}, err
}

type lossyAckConn struct {
	transport.Conn
	mu   sync.Mutex
	acks int
	lost int
}

func (c *lossyAckConn) Send(ctx context.Context, m transport.Message) error {
	if m.Event == "$ack" {
		c.mu.Lock()
		c.acks++
		lose := c.acks%3 == 0
		if lose {
			c.lost++
		}
		c.mu.Unlock()
		if lose {
			return nil // gone on the way, as far as the server can tell
		}
	}
	return c.Conn.Send(ctx, m)
}

func TestAckDuplicatesNeverReachTheApplication(t *testing.T) {
	for _, st := range []Strategy{Ack, All} {
		t.Run(st.String(), func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, Offline, st, lossyAcks{tcp.New(tcp.Options{})})
			t.Logf("%+v", r)
			if r.Err != "" || r.Missed != 0 {
				t.Fatalf("missed %d (err %q), want 0", r.Missed, r.Err)
			}
			if r.Duplicated == 0 || r.Resent == 0 {
				t.Errorf("duplicated %d, resent %d: with a third of the acks lost, want both > 0", r.Duplicated, r.Resent)
			}
			if r.DuplicatesDelivered != 0 {
				t.Errorf("the application got %d events twice, want 0", r.DuplicatesDelivered)
			}
		})
	}
}

func TestHundredReconnectsLeakNothing(t *testing.T) {
	cfg := fast().withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := tcp.New(tcp.Options{})
	l, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv, _ := event.NewServer(event.Options{AckTimeout: cfg.AckTimeout})
	sess := newSession(cfg, All)
	srv.On("hello", sess.onHello)
	srv.OnDisconnect(sess.detach)
	served := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(served) }()
	retried := make(chan struct{})
	go func() { sess.retryLoop(ctx); close(retried) }()
	cl := newClient(cfg, Offline, All, tr, l.Addr().String(), 100)
	for i := 1; i <= 100; i++ {
		if err := cl.connect(ctx); err != nil {
			t.Fatalf("reconnect %d: %v", i, err)
		}
		sess.emit(ctx, i)
		cl.cut()
	}
	if !waitUntil(ctx, 5*time.Second, func() bool { return len(srv.Sockets()) == 0 }) {
		t.Errorf("%d server sockets left after 100 reconnects, want 0", len(srv.Sockets()))
	}
	cancel()
	srv.Close()
	<-served
	<-retried
	if got := len(cl.socks); got != 100 {
		t.Errorf("%d client sockets, want 100", got)
	}
}

func FuzzParseTick(f *testing.F) {
	for _, s := range []string{"1", "42 (resend 3)", "7 (replay)", "", "-1", "0", "99999999999999999999", "1x", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, again, ok := parseTick([]byte(s))
		if !ok {
			return
		}
		if n <= 0 {
			t.Fatalf("parseTick(%q) = %d, ok", s, n)
		}
		// What the server writes reads back the same.
		for _, how := range []string{"", "replay"} {
			if m, a, ok := parseTick(tickData(n, how)); !ok || m != n || a != (how != "") {
				t.Fatalf("tickData(%d, %q) reads back as %d, %v, %v", n, how, m, a, ok)
			}
		}
		_ = again
	})
}
