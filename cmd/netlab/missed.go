package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
)

func init() { register(newMissedCmd) }

// missedOptions are the flags of 'netlab missed'.
type missedOptions struct {
	transports  string
	scenarios   string
	strategies  string
	rate        float64
	offline     time.Duration
	late        time.Duration
	queue       int
	consumeRate float64
	window      int
	ackTimeout  time.Duration
	recoveryWin time.Duration // recovery: Socket.IO's maxDisconnectionDuration
	offlineMode string
	cut         cutLinks // --offline-mode cut: the links, and --pcap
	json        bool
	tr          transportOptions
	pics        *pictureFlags
}

func newMissedCmd(a *app) *cobra.Command {
	o := &missedOptions{}
	cmd := &cobra.Command{
		Use:   "missed",
		Short: "What happens to events a client misses, and what each way of recovering them costs",
		Long: `missed starts a server and a client in this process for every scenario,
strategy and transport. The server emits numbered events ("tick" 1, 2, 3, ...)
to the client, and the client gets into trouble:

  offline        it is offline for --offline: with --offline-mode disconnect
                 (the default) it closes its connection and dials again after;
                 with cut its link goes dark through an impaired link and the
                 connection is left alone: TCP holds the bytes and resends
                 them, so the events arrive late, unless a timeout (ws
                 heartbeat, HTTP request) kills the connection first
  late-handler   it connects, but installs its "tick" handler only after --late:
                 the event layer drops events nobody handles, as Socket.IO does
  slow-consumer  its application handles --consume-rate events/s, slower than
                 the server emits, behind a queue of --queue events

and the application mitigates it, or not:

  none    at most once, as plain Socket.IO: what is missed is gone
  ack     the server keeps every event until the client acks it and resends
          after --ack-timeout; the client drops repeats by event number
  replay  the server keeps the last --window events; the client sends the
          first number it lacks when it (re)connects and asks again for
          holes, like Socket.IO's connection state recovery; what is older
          than the window is reported as gone
  all     both
  recovery  Socket.IO's own connection state recovery, over the real
          protocol (--transports socketio, offline scenario): the server
          keeps broadcasts and the lost session for --recovery-window; the
          client comes back with its session id and offset, recovered;
          volatile and acked events are not kept; the client buffers its
          own emits while away
  last-event-id  Server-Sent Events' own way back (--transports sse, offline
          scenario): the link goes dark under the open stream, the client
          gives up on the silent stream and reconnects with Last-Event-ID,
          and the server writes again what it had written since, from a
          buffer of the last --window events; what left it is gone

The table counts, per scenario x strategy x transport: events emitted,
delivered to the application, missed, duplicated, recovered, gone; and the
cost: events the server held, extra messages on the wire, delay. No
transport saves a missed event by itself: it survives only if someone keeps
it.`,
		Example: `  netlab missed
  netlab missed --transports tcp --scenario offline --offline 1s
  netlab missed --transports tcp --scenario offline --strategy replay --window 50
  netlab missed --scenario offline --offline-mode cut --offline 500ms --pcap cut.pcap
  netlab missed --transports tcp --scenario slow --queue 5 --json
  netlab missed --transports sse --scenario offline --strategy none,last-event-id`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			if err := o.cut.open(); err != nil {
				return err
			}
			err = missedRun(cmd.Context(), a, o, cfg)
			if ferr := o.cut.finish(a.out, a.errOut, o.json); err == nil {
				err = ferr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.transports, "transports", "t", defaultEventTransports(), transportFlagHelp())
	addTransportFlags(f, &o.tr)
	f.StringVar(&o.scenarios, "scenario", "offline,late-handler,slow-consumer", "comma-separated scenarios: offline, late-handler (late), slow-consumer (slow)")
	f.StringVar(&o.strategies, "strategy", "none,ack,replay,all", "comma-separated mitigations: none, ack, replay, all, recovery (Socket.IO's own, with --transports socketio), last-event-id (SSE's own, with --transports sse)")
	f.Float64Var(&o.rate, "rate", missed.DefaultRate, "events per second the server emits")
	f.DurationVar(&o.offline, "offline", missed.DefaultOffline, "offline: how long the client's link is down")
	f.StringVar(&o.offlineMode, "offline-mode", "disconnect", "offline: disconnect (the client closes and dials again: exact counts) or cut (its link goes dark through an impaired link; the connection is left to TCP and the timeouts)")
	f.DurationVar(&o.late, "late", missed.DefaultLate, "late-handler: how long until the client installs its handler")
	f.IntVar(&o.queue, "queue", missed.DefaultQueue, "slow-consumer: the client's queue, in events")
	f.Float64Var(&o.consumeRate, "consume-rate", missed.DefaultConsumeRate, "slow-consumer: events per second the client's application handles")
	f.IntVar(&o.window, "window", missed.DefaultWindow, "replay: events the server keeps per client")
	f.DurationVar(&o.ackTimeout, "ack-timeout", missed.DefaultAckTimeout, "ack: how long the server waits for an ack before resending")
	f.DurationVar(&o.recoveryWin, "recovery-window", missed.DefaultRecoveryWindow, "recovery (Socket.IO, --transports socketio): maxDisconnectionDuration, how long the server keeps a lost session")
	f.StringVar(&o.cut.pcapPath, "pcap", "", "offline-mode cut: write the packets that crossed the impaired links to `FILE` (pcap for Wireshark/tshark)")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of the table")
	o.pics = addPictureFlags(cmd, a)
	return cmd
}

func (o *missedOptions) config() (missed.Config, error) {
	switch {
	case !(o.rate > 0) || o.rate > 10000:
		return missed.Config{}, usagef("--rate must be > 0 and <= 10000 events/s, got %v", o.rate)
	case o.offline <= 0 || o.offline > time.Minute:
		return missed.Config{}, usagef("--offline must be > 0 and <= 1m, got %v", o.offline)
	case o.late <= 0 || o.late > time.Minute:
		return missed.Config{}, usagef("--late must be > 0 and <= 1m, got %v", o.late)
	case o.queue < 1:
		return missed.Config{}, usagef("--queue must be >= 1, got %d", o.queue)
	case !(o.consumeRate > 0):
		return missed.Config{}, usagef("--consume-rate must be > 0, got %v", o.consumeRate)
	case o.window < 1:
		return missed.Config{}, usagef("--window must be >= 1 event, got %d", o.window)
	case o.ackTimeout < time.Millisecond:
		return missed.Config{}, usagef("--ack-timeout must be >= 1ms, got %v", o.ackTimeout)
	}
	cfg := missed.Config{Rate: o.rate, Offline: o.offline, Late: o.late, Queue: o.queue,
		ConsumeRate: o.consumeRate, Window: o.window, AckTimeout: o.ackTimeout,
		RecoveryLink: socketioRecoveryLink, RecoveryWindow: o.recoveryWin, StreamLink: sseStreamLink}
	mode, err := missed.ParseOfflineMode(strings.TrimSpace(o.offlineMode))
	if err != nil {
		return missed.Config{}, usagef("--offline-mode: %v", err)
	}
	cfg.OfflineMode = mode
	switch {
	case mode == missed.Cut:
		cfg.CutLink = o.cut.via
	case o.cut.pcapPath != "":
		return missed.Config{}, usagef("--pcap needs --offline-mode cut: only a cut puts the client's link on a simulated wire")
	}
	for _, s := range splitList(o.scenarios) {
		sc, err := missed.ParseScenario(s)
		if err != nil {
			return missed.Config{}, usagef("--scenario: %v", err)
		}
		cfg.Scenarios = append(cfg.Scenarios, sc)
	}
	for _, s := range splitList(o.strategies) {
		st, err := missed.ParseStrategy(s)
		if err != nil {
			return missed.Config{}, usagef("--strategy: %v", err)
		}
		cfg.Strategies = append(cfg.Strategies, st)
	}
	if len(cfg.Scenarios) == 0 || len(cfg.Strategies) == 0 {
		return missed.Config{}, usagef("--scenario and --strategy need at least one name each")
	}
	trs, err := parseTransports(o.transports, &o.tr)
	if err != nil {
		return missed.Config{}, err
	}
	cfg.Transports = trs
	return cfg, nil
}

// defaultEventTransports is the default, poll,longpoll,ws: the
// transports a Socket.IO client uses. Those not registered in this build are
// left out, and tcp stands in when none is.
func defaultEventTransports() string {
	var names []string
	for _, n := range []string{"poll", "longpoll", "ws"} {
		if transportBuilders[n] != nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "tcp"
	}
	return strings.Join(names, ",")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// missedConfigJSON is the config of 'netlab missed --json'.
type missedConfigJSON struct {
	Scenarios  []string `json:"scenarios"`
	Strategies []string `json:"strategies"`
	Transports []string `json:"transports"`
	// The settings the table's section lines say, so that 'netlab report'
	// can rebuild the table.
	missed.SettingsJSON
}

func missedRun(ctx context.Context, a *app, o *missedOptions, cfg missed.Config) error {
	cfg.Progress = a.progress()
	started := time.Now()
	results, err := missed.Run(ctx, cfg)
	cfg.Progress.Stop()
	if o.json {
		env := report.NewEnvelope("missed", started)
		c := missedConfigJSON{Scenarios: []string{}, Strategies: []string{}, Transports: []string{},
			SettingsJSON: missed.Settings(cfg)}
		for _, sc := range cfg.Scenarios {
			c.Scenarios = append(c.Scenarios, sc.String())
		}
		for _, st := range cfg.Strategies {
			c.Strategies = append(c.Strategies, st.String())
		}
		for _, tr := range cfg.Transports {
			c.Transports = append(c.Transports, tr.Info().Name)
		}
		rs := []missed.ResultJSON{}
		for _, r := range results {
			rs = append(rs, missed.JSON(r))
			if r.Err != "" {
				env.Errors = append(env.Errors, fmt.Sprintf("%s/%s/%s: %s", r.Scenario, r.Strategy, r.Transport, r.Err))
			}
		}
		env.Config, env.Results, env.Interrupted = c, rs, ctx.Err() != nil
		if jerr := env.Write(a.out); jerr != nil {
			return jerr
		}
		if w := o.pics.pageText(); w != nil && len(results) > 0 {
			if werr := missed.Table(cfg, results).Write(w); werr != nil {
				return werr
			}
		}
	} else if len(results) > 0 {
		if werr := missed.Table(cfg, results).Write(a.out); werr != nil {
			return werr
		}
	}
	if err != nil {
		return o.pics.write(func() ([]chart.Chart, error) { return chart.Missed(results) }, err)
	}
	var failed []string
	for _, r := range results {
		if r.Err != "" {
			failed = append(failed, fmt.Sprintf("%s/%s/%s: %s", r.Scenario, r.Strategy, r.Transport, r.Err))
		}
	}
	if len(failed) > 0 {
		return o.pics.write(func() ([]chart.Chart, error) { return chart.Missed(results) },
			fmt.Errorf("missed: %d of %d runs failed; first: %s", len(failed), len(results), failed[0]))
	}
	return o.pics.write(func() ([]chart.Chart, error) { return chart.Missed(results) }, nil)
}
