package missed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/event"
)

// A Scenario is the trouble the client gets into.
type Scenario int

// The scenarios, in the order the lab runs them.
const (
	Offline Scenario = iota
	LateHandler
	SlowConsumer
)

var scenarioNames = []string{"offline", "late-handler", "slow-consumer"}

func (s Scenario) String() string {
	if int(s) < len(scenarioNames) {
		return scenarioNames[s]
	}
	return fmt.Sprintf("scenario(%d)", int(s))
}

// ParseScenario parses "offline", "late-handler" (or "late") and
// "slow-consumer" (or "slow").
func ParseScenario(s string) (Scenario, error) {
	switch s {
	case "late":
		return LateHandler, nil
	case "slow":
		return SlowConsumer, nil
	}
	for i, n := range scenarioNames {
		if s == n {
			return Scenario(i), nil
		}
	}
	return 0, fmt.Errorf("missed: unknown scenario %q (want offline, late-handler or slow-consumer)", s)
}

// A Strategy is how the application mitigates missed events.
type Strategy int

// The strategies.
const (
	None Strategy = iota
	Ack
	Replay
	All
)

// Recovery (recovery.go) and LastEventID (lasteventid.go) follow All.
var strategyNames = []string{"none", "ack", "replay", "all", "recovery", "last-event-id"}

func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("strategy(%d)", int(s))
}

// ParseStrategy parses "none", "ack", "replay" and "all".
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if s == n {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("missed: unknown strategy %q (want none, ack, replay, all, recovery or last-event-id)", s)
}

// An OfflineMode is how the Offline scenario takes the client offline.
type OfflineMode int

// The offline modes.
const (
	// Disconnect: the lab closes the client's connection right after the
	// client got the last event before the window and dials again after
	// it, as a client that notices its link went away would. The server
	// sees the client leave, so the counts are exact.
	Disconnect OfflineMode = iota
	// Cut: the client's link goes dark for the window (Config.CutLink) and
	// the lab leaves the connection alone. Over TCP the bytes wait and are
	// retransmitted when the link is back: the events arrive late, unless a
	// timeout (a heartbeat, a request timeout) closes the connection first,
	// in which case the client dials again and what was in flight is missed
	// unless a strategy keeps it.
	Cut
)

var offlineModeNames = []string{"disconnect", "cut"}

func (m OfflineMode) String() string {
	if int(m) < len(offlineModeNames) {
		return offlineModeNames[m]
	}
	return fmt.Sprintf("offline-mode(%d)", int(m))
}

// ParseOfflineMode parses "disconnect" and "cut".
func ParseOfflineMode(s string) (OfflineMode, error) {
	for i, n := range offlineModeNames {
		if s == n {
			return OfflineMode(i), nil
		}
	}
	return 0, fmt.Errorf("missed: unknown offline mode %q (want disconnect or cut)", s)
}

// cutLead is how long after the impaired link starts the first event is
// emitted (OfflineMode Cut): time for the client to connect through it.
const cutLead = 250 * time.Millisecond

func (s Strategy) acks() bool    { return s == Ack || s == All }
func (s Strategy) replays() bool { return s == Replay || s == All }
func (s Strategy) dedups() bool  { return s != None }

// Defaults: together they run the three scenarios in about ten seconds.
const (
	DefaultRate        = 100.0 // events per second
	DefaultOffline     = 2 * time.Second
	DefaultLate        = time.Second
	DefaultAround      = 500 * time.Millisecond
	DefaultSlowFor     = time.Second
	DefaultConsumeRate = 50.0 // events per second
	DefaultQueue       = 10
	DefaultWindow      = 250 // events
	DefaultAckTimeout  = 200 * time.Millisecond
)

// Config describes a run of the lab. Zero fields take the defaults above.
type Config struct {
	Transports []transport.Transport
	Scenarios  []Scenario // default: all three
	Strategies []Strategy // default: all four

	Rate    float64       // events per second the server emits
	Offline time.Duration // Offline: how long the client's link is down
	Late    time.Duration // LateHandler: how long before the handler is installed
	// Around is how long the stream runs before a cut and after the client
	// is back (Offline), and after the handler is installed (LateHandler).
	Around      time.Duration
	SlowFor     time.Duration // SlowConsumer: how long the server emits
	ConsumeRate float64       // SlowConsumer: events per second the application handles
	Queue       int           // SlowConsumer: the client's queue, in events
	Window      int           // Replay: events the server keeps for replay
	AckTimeout  time.Duration // Ack: how long the server waits for an ack before resending

	// OfflineMode is how the Offline scenario takes the client offline
	// (Disconnect by default).
	OfflineMode OfflineMode
	// CutLink, needed by OfflineMode Cut, returns a fresh Via (one per
	// run) whose link goes dark both ways from at after the Via is called
	// until at+d: an impaired link such as transport/impair's with a Cut.
	CutLink func(at, d time.Duration) (transport.Via, error)

	// RecoveryLink, needed by the Recovery strategy, starts a Socket.IO
	// server with connection state recovery (maxDisconnectionDuration
	// window) and a client connected to it.
	RecoveryLink func(ctx context.Context, window time.Duration) (RecoveryLink, error)
	// RecoveryWindow is the Recovery strategy's maxDisconnectionDuration
	// (DefaultRecoveryWindow).
	RecoveryWindow time.Duration

	// StreamLink, needed by the LastEventID strategy, starts an SSE server
	// whose replay buffer keeps window events and a client streaming from
	// it through a link that can go dark.
	StreamLink func(ctx context.Context, window int) (StreamLink, error)

	// Progress, if not nil, counts each scenario's runs as they end.
	Progress *report.Progress
}

func (c Config) withDefaults() Config {
	if len(c.Scenarios) == 0 {
		c.Scenarios = []Scenario{Offline, LateHandler, SlowConsumer}
	}
	if len(c.Strategies) == 0 {
		c.Strategies = []Strategy{None, Ack, Replay, All}
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.Offline <= 0 {
		c.Offline = DefaultOffline
	}
	if c.Late <= 0 {
		c.Late = DefaultLate
	}
	if c.Around <= 0 {
		c.Around = DefaultAround
	}
	if c.SlowFor <= 0 {
		c.SlowFor = DefaultSlowFor
	}
	if c.ConsumeRate <= 0 {
		c.ConsumeRate = DefaultConsumeRate
	}
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	return c
}

// count is how many events the server emits in d at the configured rate
// (at least 1).
func (c Config) count(d time.Duration) int {
	return max(1, int(math.Round(d.Seconds()*c.Rate)))
}

// plan is the script of one scenario, in event numbers.
type plan struct {
	total int
	// Offline: the client is cut right after it got event cutAfter, and
	// dials again right after the server emitted event backAfter.
	// LateHandler: the handler is installed right after the client got
	// event cutAfter.
	cutAfter, backAfter int
}

func (c Config) plan(sc Scenario) plan {
	switch sc {
	case Offline:
		before, off, after := c.count(c.Around), c.count(c.Offline), c.count(c.Around)
		return plan{total: before + off + after, cutAfter: before, backAfter: before + off}
	case LateHandler:
		before, after := c.count(c.Late), c.count(c.Around)
		return plan{total: before + after, cutAfter: before}
	default:
		return plan{total: c.count(c.SlowFor)}
	}
}

// Result is what one scenario × strategy × transport run measured.
type Result struct {
	Scenario  Scenario
	Strategy  Strategy
	Transport string

	Emitted   int // events the server emitted (each once, whatever it resent)
	Delivered int // distinct events the client's application got
	Missed    int // Emitted - Delivered
	// Duplicated counts copies of an event the client already had; with a
	// strategy other than none they are dropped before the application.
	Duplicated int
	// DuplicatesDelivered counts events the application got more than once
	// (only possible without dedup, with none).
	DuplicatesDelivered int
	// Recovered counts delivered events that got there on a resend or a
	// replay, after their first copy was lost.
	Recovered int
	// Unrecoverable counts events the server told the client it no longer
	// had (older than the replay window) and that never arrived otherwise.
	Unrecoverable int
	// DroppedUnhandled counts events that reached the client while it had
	// no handler for them (resends included): the event layer drops them.
	DroppedUnhandled int
	// DroppedQueueFull counts events that found the client's queue full.
	DroppedQueueFull int
	// TimeToRecover is from the end of the trouble (the client back online,
	// the handler installed, the server done emitting) until the last
	// recovered event was delivered; zero when nothing was recovered.
	TimeToRecover time.Duration

	// OfflineMode is "disconnect" or "cut" for the Offline scenario, "" otherwise.
	OfflineMode string
	// With OfflineMode Cut (Offline scenario only):
	// ConnLost counts connections the client lost (a timeout closed it) and
	// replaced by dialing again; 0 means the connection held through the cut.
	ConnLost int
	// ConnLostErr is why the first lost connection died, as the client saw it.
	ConnLostErr string
	// Late counts events the link held: emitted before it came back, they
	// reached the application after it did, on their first copy (not
	// recovered by the application), and took longer to cross than any event
	// before the cut did, by more than half an interval between events (see
	// heldByCut). An event sent just before the link came back that crossed
	// in its usual time is not late.
	Late int
	// CatchUp is from the end of the cut until the last event the link held
	// reached the application (on any copy); zero when it held none.
	CatchUp time.Duration

	// The cost.
	HeldPeakEvents int   // most events the server held for this client at once
	HeldPeakBytes  int64 // their size in wire form
	ExtraMessages  int64 // messages on the wire, both ways, beyond the events sent live: acks, resends, replays, hellos
	Acks           int64 // acks the server received for events
	Resent         int64 // events the server sent again after an ack timeout, or late because the client was away
	Replayed       int64 // events the server sent again from its replay buffer
	Delay          stats.Summary

	Interrupted bool   // stopped early by ctx
	Err         string // why the run failed, if it did

	// RecoveryInfo is what Socket.IO's recovery did (strategy Recovery).
	RecoveryInfo *RecoveryInfo
	// StreamInfo is what SSE's reconnect did (strategy LastEventID).
	StreamInfo *StreamInfo
}

// Run runs every scenario over every strategy and transport: the runs of one
// scenario at the same time (each with its own server and client), the
// scenarios one after the other. When ctx is done it returns what it has
// measured so far with ctx.Err().
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Transports) == 0 {
		return nil, errors.New("missed: no transports")
	}
	var out []Result
	for _, sc := range cfg.Scenarios {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		cfg.Progress.Step(fmt.Sprintf("missed: %s", sc), len(cfg.Strategies)*len(cfg.Transports))
		res := make([]Result, len(cfg.Strategies)*len(cfg.Transports))
		var wg sync.WaitGroup
		for i, st := range cfg.Strategies {
			for j, tr := range cfg.Transports {
				wg.Go(func() {
					res[i*len(cfg.Transports)+j] = RunOne(ctx, cfg, sc, st, tr)
					cfg.Progress.Add(1)
				})
			}
		}
		wg.Wait()
		for _, r := range res {
			if r.Transport != "" { // Recovery runs over socketio only, LastEventID over sse
				out = append(out, r)
			}
		}
	}
	return out, ctx.Err()
}

// RunOne runs one scenario with one strategy over one transport.
func RunOne(ctx context.Context, cfg Config, sc Scenario, st Strategy, tr transport.Transport) Result {
	cfg = cfg.withDefaults()
	if st == Recovery {
		if tr.Info().Name != "socketio" {
			return Result{} // not a run: Socket.IO's recovery needs Socket.IO
		}
		res := runRecovery(ctx, cfg, sc)
		res.Scenario, res.Strategy, res.Transport = sc, st, tr.Info().Name
		if sc == Offline {
			res.OfflineMode = "disconnect"
		}
		res.Interrupted = ctx.Err() != nil
		if res.Interrupted {
			res.Err = "" // what it met after Ctrl-C is the interruption, not a failure
		}
		return res
	}
	if st == LastEventID {
		if tr.Info().Name != "sse" {
			return Result{} // not a run: Last-Event-ID is SSE's
		}
		res := runLastEventID(ctx, cfg, sc)
		res.Scenario, res.Strategy, res.Transport = sc, st, tr.Info().Name
		if sc == Offline {
			res.OfflineMode = "disconnect"
		}
		res.Interrupted = ctx.Err() != nil
		return res
	}
	if info := tr.Info(); !info.Connected {
		return Result{Scenario: sc, Strategy: st, Transport: info.Name,
			Err: fmt.Sprintf("missed: %s has no connection to cut and resume (the server cannot see a client leave); run it over tcp, poll, longpoll or ws", info.Name)}
	}
	if sc == Offline && cfg.OfflineMode == Cut && cfg.CutLink == nil {
		return Result{Scenario: sc, Strategy: st, Transport: tr.Info().Name,
			Err: "missed: offline mode cut needs Config.CutLink (an impaired link)"}
	}
	r := &run{cfg: cfg, sc: sc, st: st, tr: tr, plan: cfg.plan(sc)}
	res := r.do(ctx)
	res.Scenario, res.Strategy, res.Transport = sc, st, tr.Info().Name
	if sc == Offline {
		res.OfflineMode = cfg.OfflineMode.String()
	}
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	return res
}

type run struct {
	cfg  Config
	sc   Scenario
	st   Strategy
	tr   transport.Transport
	plan plan
	// OfflineMode Cut: when the link goes dark and comes back (from the
	// lab's clock, taken just before the link started, so at most a
	// scheduling delay early).
	cutFrom, cutTo time.Time
}

// cutting reports whether this run takes the client offline with a cut
// link rather than by closing its connection.
func (r *run) cutting() bool { return r.sc == Offline && r.cfg.OfflineMode == Cut }

func (r *run) do(parent context.Context) (res Result) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	fail := func(err error) Result {
		if parent.Err() != nil {
			return res // Ctrl-C ended it: RunOne marks it interrupted, not failed
		}
		res.Err = err.Error()
		return res
	}
	l, err := r.tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("missed: %w", err))
	}
	defer l.Close()
	srv, err := event.NewServer(event.Options{AckTimeout: r.cfg.AckTimeout})
	if err != nil {
		return fail(err)
	}
	sess := newSession(r.cfg, r.st)
	srv.On("hello", sess.onHello)
	srv.On("replay", sess.onReplay)
	srv.OnDisconnect(sess.detach)
	var bg sync.WaitGroup
	bg.Go(func() { srv.Serve(ctx, l) })
	bg.Go(func() { sess.retryLoop(ctx) })
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	addr := l.Addr().String()
	next := time.Now()
	if r.cutting() {
		// Event k is emitted at cutLead + (k-1)·interval after the link
		// starts; the link goes dark half an interval after event cutAfter
		// and comes back --offline later, after event backAfter.
		at := cutLead + time.Duration(r.plan.cutAfter-1)*interval + interval/2
		via, err := r.cfg.CutLink(at, r.cfg.Offline)
		if err != nil {
			return fail(fmt.Errorf("missed: %w", err))
		}
		start := time.Now()
		if addr, err = via(ctx, r.tr.Info().Network, addr); err != nil {
			return fail(fmt.Errorf("missed: %w", err))
		}
		next = start.Add(cutLead)
		r.cutFrom, r.cutTo = start.Add(at), start.Add(at+r.cfg.Offline)
	}
	cl := newClient(r.cfg, r.sc, r.st, r.tr, addr, r.plan.total)
	defer func() {
		cancel()
		cl.close()
		l.Close()
		srv.Close()
		bg.Wait()
		cl.close() // a redial that raced with the first close
		res = r.collect(res, sess, cl, srv)
	}()

	if err := cl.connect(ctx); err != nil {
		return fail(err)
	}
	bg.Go(func() { cl.consume(ctx) })
	if r.cutting() {
		cl.setBack(r.cutTo)
		bg.Go(func() { cl.keepConnected(ctx) })
	}

	for n := 1; n <= r.plan.total; n++ {
		if !sleepUntil(ctx, next) {
			return res
		}
		sess.emit(ctx, n)
		next = next.Add(interval)
		switch {
		case r.cutting():
			// The link does it all.
		case r.sc == Offline && n == r.plan.cutAfter:
			waitUntil(ctx, 2*time.Second, func() bool { return cl.seen.Load() >= int64(n) })
			cl.cut()
			waitUntil(ctx, 2*time.Second, sess.detached)
			next = time.Now().Add(interval)
		case r.sc == Offline && n == r.plan.backAfter:
			cl.setBack(time.Now())
			if err := cl.connect(ctx); err != nil {
				return fail(err)
			}
			next = time.Now().Add(interval)
		case r.sc == LateHandler && n == r.plan.cutAfter:
			waitUntil(ctx, 2*time.Second, func() bool { return cl.seen.Load() >= int64(n) })
			cl.install()
			cl.setBack(time.Now())
		}
	}
	if r.sc == SlowConsumer {
		cl.setBack(time.Now())
	}
	r.drain(ctx, cl)
	return res
}

// drain waits after the last emit until the client has everything (or has
// been told it never will), or nothing has moved for a while.
func (r *run) drain(ctx context.Context, cl *client) {
	quiet := 2*r.cfg.AckTimeout + 200*time.Millisecond
	if r.cutting() {
		// TCP retransmits with a doubling timeout: what the cut held may
		// come up to about the cut's length after the link is back.
		quiet = max(quiet, r.cfg.Offline+time.Second)
	}
	hardStop := time.Now().Add(quiet + 5*time.Second)
	last, lastMove := cl.progress.Load(), time.Now()
	for ctx.Err() == nil && time.Now().Before(hardStop) {
		if cl.complete() {
			return
		}
		if p := cl.progress.Load(); p != last {
			last, lastMove = p, time.Now()
		} else if time.Since(lastMove) > quiet {
			return
		}
		sleepUntil(ctx, time.Now().Add(5*time.Millisecond))
	}
}

// heldByCut returns the test for "the cut link held event n, delivered at
// at": it was emitted before the link came back, reached the application
// after, and took longer than the slowest event before the cut (the link's
// ordinary crossing, measured in this run on the events that arrived before
// the link went dark: one emitted late by a loaded scheduler, just before
// the cut, may itself be held by it) plus half an interval. Events are
// scheduled half an interval from the cut's edges, so an event that was not
// held, emitted a little late by the scheduler just before the link came
// back, still crosses in its usual time and is not counted; an event the
// cut held waited for TCP to retransmit it (200 ms at least). Call with
// sess.mu and cl.mu held.
func (r *run) heldByCut(sess *session, cl *client) func(n int, at time.Time) bool {
	var usual time.Duration
	for n, at := range cl.deliveredAt {
		if n <= r.plan.cutAfter && at.Before(r.cutFrom) {
			usual = max(usual, at.Sub(sess.firstEmit[n]))
		}
	}
	margin := time.Duration(float64(time.Second) / r.cfg.Rate / 2)
	return func(n int, at time.Time) bool {
		sent := sess.firstEmit[n]
		return sent.Before(r.cutTo) && at.After(r.cutTo) && at.Sub(sent) > usual+margin
	}
}

func (r *run) collect(res Result, sess *session, cl *client, srv *event.Server) Result {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	res.Emitted = sess.head
	res.Delivered = len(cl.deliveredAt)
	res.Missed = res.Emitted - res.Delivered
	res.Duplicated = cl.dups
	res.DroppedQueueFull = cl.overflow
	var last time.Time
	var delays []time.Duration
	for _, k := range cl.deliveries {
		if k > 1 {
			res.DuplicatesDelivered++
		}
	}
	for n, at := range cl.deliveredAt {
		delays = append(delays, at.Sub(sess.firstEmit[n]))
		if cl.recovered[n] {
			res.Recovered++
			if at.After(last) {
				last = at
			}
		}
	}
	if res.Recovered > 0 {
		res.TimeToRecover = max(0, last.Sub(cl.back))
	}
	for n := range cl.gone {
		if !cl.accepted[n] {
			res.Unrecoverable++
		}
	}
	if r.cutting() {
		res.ConnLost, res.ConnLostErr = cl.lost, cl.lostErr
		var caught time.Time
		held := r.heldByCut(sess, cl)
		for n, at := range cl.deliveredAt {
			if !held(n, at) {
				continue
			}
			if !cl.recovered[n] {
				res.Late++
			}
			if at.After(caught) {
				caught = at
			}
		}
		if !caught.IsZero() {
			res.CatchUp = caught.Sub(r.cutTo)
		}
	}
	res.Delay = stats.Summarize(delays)
	res.HeldPeakEvents, res.HeldPeakBytes = sess.peakEvents, sess.peakBytes
	res.Acks, res.Resent, res.Replayed = sess.acked, sess.resent, sess.replayed
	var clientSent int64
	for _, s := range cl.socks {
		st := s.Stats()
		clientSent += st.Sent
		res.DroppedUnhandled += int(st.Unhandled)
	}
	res.ExtraMessages = srv.Stats().Sent + clientSent - sess.firstSent
	return res
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// waitUntil polls cond until it holds, at most for limit.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(2*time.Millisecond)) {
			return false
		}
	}
	return true
}

// tickData is the payload of event n: its number, and how it was sent, so
// the client can tell a first copy from a second chance (and a reader of the
// wire can, too).
func tickData(n int, how string) []byte {
	if how == "" {
		return fmt.Appendf(nil, "%d", n)
	}
	return fmt.Appendf(nil, "%d (%s)", n, how)
}

// parseTick reads tickData: the event number and whether it was a resend or
// a replay.
func parseTick(b []byte) (n int, again bool, ok bool) {
	num, rest, _ := strings.Cut(string(b), " ")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, false, false
	}
	return n, rest != "", true
}
