package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/netlab/netlab/transport/socketio"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/compare"
	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
)

func init() { register(newCompareCmd) }

// Defaults of 'netlab compare': about 15 seconds for its eight transports.
const (
	compareRate  = 10.0 // push events per second
	compareCount = 15   // push events per transport
	// compareEchoCount round trips per transport: ping-pong over short
	// polling waits for a poll each time, so keep it small.
	compareEchoCount = 10
)

// compareOptions are the flags of 'netlab compare'.
type compareOptions struct {
	link       *linkFlags
	transports string
	rate       float64
	schedule   string
	seed       int64
	count      int
	echoCount  int
	noEcho     bool
	json       bool
	to         transportOptions
	pics       *pictureFlags
}

func newCompareCmd(a *app) *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Echo and push over every transport, side by side, read in plain words",
		Long: `compare runs two labs over every transport, one after the other, and prints
one table: a column per transport, a row per figure.

  echo   the client asks and the server answers: round-trip time
  push   the server speaks first, on its own schedule, while the client sends
         its own messages upstream: one-way delay, requests, empty polls,
         bytes on the wire (see 'netlab push --help')

Under the table a few sentences read it, each computed from this run's
numbers and printed only when they support it. Every number is measured now,
on this machine; run it twice and the numbers move a little.

It takes about 10 seconds with the defaults.`,
		Example: `  netlab compare
  netlab compare --transports tcp,ws --count 30
  netlab compare --json > compare.json`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.config(a)
			if err != nil {
				return err
			}
			return compareRun(cmd.Context(), a, o, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.transports, "transports", "all", transportFlagHelp())
	f.Float64Var(&o.rate, "rate", compareRate, "push: events per second the server emits")
	f.StringVar(&o.schedule, "schedule", "poisson", "push: when events happen: poisson (random moments) or fixed (every 1/rate)")
	f.Int64Var(&o.seed, "seed", 1, "push: seed of the Poisson schedule")
	f.IntVar(&o.count, "count", compareCount, "push: events per transport")
	f.IntVar(&o.echoCount, "echo-count", compareEchoCount, "echo: round trips per transport, one after the other")
	f.BoolVar(&o.noEcho, "no-echo", false, "skip the echo part")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of the table (schema: netlab docs compare)")
	addTransportFlags(f, &o.to)
	o.link = addLinkFlags(cmd)
	o.pics = addPictureFlags(cmd, a)
	return cmd
}

func (o *compareOptions) config(a *app) (compare.Config, error) {
	sched, err := push.ParseSchedule(o.schedule)
	if err != nil {
		return compare.Config{}, usagef("--schedule must be fixed or poisson, got %q", o.schedule)
	}
	if !(o.rate > 0) || o.rate > 100000 {
		return compare.Config{}, usagef("--rate must be > 0 and <= 100000 events/s, got %v", o.rate)
	}
	if o.count < 1 || o.count > 100000 {
		return compare.Config{}, usagef("--count must be between 1 and 100000, got %d", o.count)
	}
	if o.echoCount < 1 || o.echoCount > 100000 {
		return compare.Config{}, usagef("--echo-count must be between 1 and 100000, got %d", o.echoCount)
	}
	trs, err := parseTransports(o.transports, &o.to)
	if err != nil {
		return compare.Config{}, err
	}
	via, err := o.link.via()
	if err != nil {
		return compare.Config{}, err
	}
	cfg := compare.Config{
		Push: push.Config{Rate: o.rate, Schedule: sched, Seed: o.seed, Count: o.count},
		Via:  via,
	}
	if !o.noEcho {
		cfg.Echo = echoFigures(echo.Config{Count: o.echoCount, Size: push.DefaultSize})
	}
	for _, tr := range trs {
		cfg.Subjects = append(cfg.Subjects, subjectOf(tr))
	}
	return cfg, nil
}

// echoFigures runs the echo lab with cfg for compare.
func echoFigures(cfg echo.Config) compare.EchoFunc {
	return func(ctx context.Context, tr transport.Transport, via transport.Via) (compare.EchoFigures, error) {
		c := cfg
		c.Via = via
		r, err := echo.Run(ctx, tr, c)
		return compare.EchoFigures{Sent: r.Sent, Received: r.Received, RTT: r.RTT, RTTSamples: r.RTTSamples, Wire: r.Wire, HasWire: r.HasWire}, err
	}
}

// pollSetup says how tr polls, when it says (optional methods of a polling
// transport): its interval when it polls on a timer, or whether it long-polls.
func pollSetup(tr transport.Transport) (interval time.Duration, long bool) {
	if p, ok := tr.(interface{ LongPoll() bool }); ok && p.LongPoll() {
		return 0, true
	}
	if p, ok := tr.(interface{ PollInterval() time.Duration }); ok {
		return p.PollInterval(), false
	}
	return 0, false
}

// subjectOf describes tr for the sentences under the table.
func subjectOf(tr transport.Transport) compare.Subject {
	s := compare.Subject{Transport: tr}
	name := tr.Info().Name
	iv, long := pollSetup(tr)
	switch {
	case iv > 0:
		s.PollInterval = iv
		s.Label = "short polling every " + report.Duration(iv)
	case long:
		s.LongPoll = true
		s.Label = "long polling"
	case name == "ws":
		s.Label = "WebSocket"
	case name == "sse":
		s.Label, s.ServerPush = "SSE", true
	case name == "socketio":
		s.Label = "Socket.IO"
		if st, ok := tr.(*socketio.Transport); ok {
			s.PollsThenUpgrades = slices.Equal(st.Transports(), []string{socketio.Polling, socketio.WebSocket})
		}
	default:
		s.Label = strings.ToUpper(name)
	}
	return s
}

func compareRun(ctx context.Context, a *app, o *compareOptions, cfg compare.Config) error {
	progress := a.progress()
	defer progress.Stop()
	cfg.Push.Progress = progress
	if cfg.Echo != nil {
		cfg.Echo = echoFigures(echo.Config{Count: o.echoCount, Size: push.DefaultSize, Progress: progress})
	}
	cfg.Progress = func(lab, subject string, step, steps int) {
		n := o.count
		if lab == "echo" {
			n = o.echoCount
		}
		progress.Step(fmt.Sprintf("compare: %s over %s (%d/%d)", lab, subject, step, steps), n)
	}
	started := time.Now()
	res, err := compare.Run(ctx, cfg)
	progress.Stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if o.json {
		env := report.NewEnvelope("compare", started)
		echoCount := 0
		if res.Echoed {
			echoCount = o.echoCount
		}
		env.Config = compare.ConfigToJSON(res, echoCount, o.link.describe())
		env.Results = compare.JSON(res)
		env.Interrupted = res.Interrupted
		for _, e := range res.Errors() {
			env.Errors = append(env.Errors, e.Error())
		}
		if err := env.Write(a.out); err != nil {
			return err
		}
		if w := o.pics.pageText(); w != nil {
			if err := writeCompareText(w, res, o.link.describe(), compare.Sentences(res)); err != nil {
				return err
			}
		}
	} else if err := writeCompareText(a.out, res, o.link.describe(), compare.Sentences(res)); err != nil {
		return err
	}
	var runErr error
	if errs := res.Errors(); len(errs) > 0 && !res.Interrupted {
		runErr = fmt.Errorf("compare: %d part(s) failed (see 'failed:' above)", len(errs))
	}
	return o.pics.write(func() ([]chart.Chart, error) { return chart.Compare(res) }, runErr)
}

// writeCompareText prints a comparison's table and the sentences that read
// it.
func writeCompareText(w io.Writer, res compare.Result, link string, sentences []string) error {
	t := compare.Table(res)
	t.Title = compareTitle(res)
	if link != "" {
		t.Title += "\nthrough an impaired link: " + link
	}
	if err := t.Write(w); err != nil {
		return err
	}
	if len(sentences) > 0 {
		fmt.Fprint(w, "\nWhat this run says:\n")
		if err := report.Bullets(w, "•", sentences); err != nil {
			return err
		}
	}
	return nil
}

func compareTitle(r compare.Result) string {
	var names []string
	for _, c := range r.Columns {
		names = append(names, c.Name)
	}
	pc := r.PushConfig
	sched := pc.Schedule.String()
	if pc.Schedule == push.Poisson {
		sched = fmt.Sprintf("poisson, seed %d", pc.Seed)
	}
	parts := "push"
	if r.Echoed {
		parts = "echo and push"
	}
	return fmt.Sprintf("compare: %s over %s in %s\npush: %d events at %g/s (%s), the client sends as many upstream meanwhile",
		parts, strings.Join(names, ", "), report.Duration(r.Elapsed.Round(time.Millisecond)), pc.Count, pc.Rate, sched)
}
