package missed

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transports are what the lab tests run over: the in-memory transport (the
// command's tests run the lab over real TCP).
func transports() []transport.Transport {
	return []transport.Transport{&transporttest.Mem{}}
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
	r := RunOne(context.Background(), cfg, Offline, Replay, &transporttest.Mem{})
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
			r := RunOne(context.Background(), cfg, LateHandler, st, &transporttest.Mem{})
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
	r := RunOne(context.Background(), cfg, Offline, Ack, &transporttest.Mem{})
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
			r := RunOne(context.Background(), cfg, SlowConsumer, st, &transporttest.Mem{})
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

// lossyAcks is an in-memory transport that loses every third ack a client
// sends, so the server resends and the client sees duplicates.
func lossyAcks() transport.Transport {
	var mu sync.Mutex
	acks := 0
	return &transporttest.Mem{Copies: func(m transport.Message) int {
		if m.Event != "$ack" {
			return 1
		}
		mu.Lock()
		defer mu.Unlock()
		acks++
		if acks%3 == 0 {
			return 0 // lost on the way, as far as the server can tell
		}
		return 1
	}}
}

func TestAckDuplicatesNeverReachTheApplication(t *testing.T) {
	for _, st := range []Strategy{Ack, All} {
		t.Run(st.String(), func(t *testing.T) {
			cfg := fast()
			r := RunOne(context.Background(), cfg, Offline, st, lossyAcks())
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
	tr := &transporttest.Mem{}
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

// TestOfflineCutModeMeasuresWhatTheLinkDid runs the cut mode through a link
// that never goes dark: the lab must measure that nothing was held, not
// assume that a cut made events late (the command's tests cut real TCP).
func TestOfflineCutModeMeasuresWhatTheLinkDid(t *testing.T) {
	var calls []time.Duration
	cfg := fast()
	cfg.OfflineMode = Cut
	cfg.CutLink = func(at, d time.Duration) (transport.Via, error) {
		calls = append(calls, at, d)
		return func(ctx context.Context, network, upstream string) (string, error) { return upstream, nil }, nil
	}
	r := RunOne(context.Background(), cfg, Offline, None, &transporttest.Mem{})
	t.Logf("%+v", r)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if len(calls) != 2 || calls[1] != cfg.Offline || calls[0] < cutLead {
		t.Errorf("CutLink got %v; want [at >= %v, %v]", calls, cutLead, cfg.Offline)
	}
	if r.OfflineMode != "cut" || r.Missed != 0 || r.ConnLost != 0 || r.Late != 0 || r.CatchUp != 0 {
		t.Errorf("mode %q, missed %d, conn lost %d, late %d, catch-up %v; want cut and all 0 over a link that never went dark",
			r.OfflineMode, r.Missed, r.ConnLost, r.Late, r.CatchUp)
	}
}

func TestOfflineCutModeNeedsALink(t *testing.T) {
	cfg := fast()
	cfg.OfflineMode = Cut
	r := RunOne(context.Background(), cfg, Offline, None, &transporttest.Mem{})
	if !strings.Contains(r.Err, "CutLink") {
		t.Errorf("err %q; want one naming Config.CutLink", r.Err)
	}
	if m, err := ParseOfflineMode("cut"); err != nil || m != Cut {
		t.Errorf("ParseOfflineMode(cut) = %v, %v", m, err)
	}
	if _, err := ParseOfflineMode("unplug"); err == nil {
		t.Error("ParseOfflineMode(unplug): no error")
	}
}
