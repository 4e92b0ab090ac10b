package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
)

func init() { register(newPushCmd) }

// pushOptions are the flags of 'netlab push'.
type pushOptions struct {
	link       *linkFlags
	wire       *wireFlags
	transports string
	rate       float64
	schedule   string
	seed       int64
	count      int
	duration   time.Duration
	upRate     float64
	size       int
	drain      time.Duration
	json       bool
	to         transportOptions
	pics       *pictureFlags
}

func newPushCmd(a *app) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Who speaks first: the server pushes events while the client talks upstream",
		Long: `push starts a server and a client in this process for each transport. The
SERVER emits events on its own schedule (Poisson or fixed rate) while the
CLIENT sends its own messages upstream at the same time, and the lab prints
per transport:

  events delivered     of those the server emitted (UDP may lose some: counted)
  delay p50/p99/max    one-way, server Send to client Recv, on the clock both
                       share (one process)
  upstream             the client's own messages, and how many reached the
                       server while events were flowing down
  requests, empty polls, wire bytes per message
                       what it cost on the real connection

Short polling can only deliver when the client asks, so events wait about half
the poll interval, and most polls come back empty when events are rare. Long
polling answers as soon as an event exists, but every event costs a request.
TCP and WebSocket push at once, both ways, over one connection.

UDP: the client sends a hello datagram first, because a UDP server learns where
a client is only from a datagram it receives. UDP promises neither delivery
nor order; lost events are counted, never resent.`,
		Example: `  netlab push
  netlab push --transports tcp,ws --rate 50 --count 100
  netlab push --schedule fixed --rate 5 --count 10 --json
  netlab push --transports ws --count 3 --wire   # the frames of each event`,
		Args: noArgsUsage,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, trs, err := o.config()
			if err != nil {
				return err
			}
			return pushRun(cmd.Context(), a, o, cfg, trs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.transports, "transports", "all", transportFlagHelp())
	f.Float64Var(&o.rate, "rate", push.DefaultRate, "events per second the server emits")
	f.StringVar(&o.schedule, "schedule", "poisson", "when events happen: poisson (random moments) or fixed (every 1/rate)")
	f.Int64Var(&o.seed, "seed", 1, "seed of the Poisson schedule; the same seed gives the same moments")
	f.IntVar(&o.count, "count", push.DefaultCount, "events the server emits (0: emit for --duration)")
	f.DurationVar(&o.duration, "duration", 0, "emit for this long instead of --count events (with --count 0)")
	f.Float64Var(&o.upRate, "up-rate", 0, "messages per second the client sends upstream at the same time (0: as many as the events, over the same time; -1: none)")
	f.IntVar(&o.size, "size", push.DefaultSize, "payload bytes of every message")
	f.DurationVar(&o.drain, "drain", push.DefaultDrain, "how long to wait for late or lost messages after the last event")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of the table (schema: netlab docs push)")
	addTransportFlags(f, &o.to)
	o.link = addLinkFlags(cmd)
	o.wire = addWireFlags(cmd)
	o.pics = addPictureFlags(cmd, a)
	return cmd
}

// noArgsUsage refuses positional arguments as a usage error (exit 2).
func noArgsUsage(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// config validates the flags into a lab Config (without a transport) and the
// transports to run it over.
func (o *pushOptions) config() (push.Config, []transport.Transport, error) {
	sched, err := push.ParseSchedule(o.schedule)
	if err != nil {
		return push.Config{}, nil, usagef("--schedule must be fixed or poisson, got %q", o.schedule)
	}
	switch {
	case !(o.rate > 0) || o.rate > 100000:
		return push.Config{}, nil, usagef("--rate must be > 0 and <= 100000 events/s, got %v", o.rate)
	case o.count < 0:
		return push.Config{}, nil, usagef("--count must be >= 0, got %d", o.count)
	case o.duration < 0:
		return push.Config{}, nil, usagef("--duration must be >= 0, got %v", o.duration)
	case o.count == 0 && o.duration == 0:
		return push.Config{}, nil, usagef("give --count > 0 or a --duration")
	case o.size < 0:
		return push.Config{}, nil, usagef("--size must be >= 0, got %d", o.size)
	case o.upRate < 0 && o.upRate != -1:
		return push.Config{}, nil, usagef("--up-rate must be >= 0, or -1 for none, got %v", o.upRate)
	case o.drain <= 0:
		return push.Config{}, nil, usagef("--drain must be > 0, got %v", o.drain)
	}
	if err := o.wire.check(o.json, false); err != nil {
		return push.Config{}, nil, err
	}
	trs, err := parseTransports(o.transports, &o.to)
	if err != nil {
		return push.Config{}, nil, err
	}
	via, err := o.link.via()
	if err != nil {
		return push.Config{}, nil, err
	}
	cfg := push.Config{Rate: o.rate, Schedule: sched, Seed: o.seed, Count: o.count,
		UpRate: o.upRate, Size: o.size, Drain: o.drain, Via: via}
	if o.count == 0 {
		cfg.Duration = o.duration
	}
	return cfg, trs, nil
}

// pushConfigJSON is the config of 'netlab push --json'.
type pushConfigJSON struct {
	push.ConfigJSON
	Link string `json:"link"` // the impaired link in flag spelling; "" for a perfect one
}

func pushRun(ctx context.Context, a *app, o *pushOptions, cfg push.Config, trs []transport.Transport) error {
	var results []push.Result
	var failed []string
	started := time.Now()
	cfg.Progress = a.progress()
	defer cfg.Progress.Stop()
	for i, tr := range trs {
		cfg.Progress.Step(fmt.Sprintf("push over %s (%d/%d)", tr.Info().Name, i+1, len(trs)), cfg.Count)
		c := cfg
		c.Transport = tr
		tap := o.wire.start(a.out, tr.Info().Name) // nil without --wire
		c.Via = tap.via(cfg.Via)
		res, err := push.Run(ctx, c)
		if werr := tap.finish(); werr != nil {
			return werr
		}
		if res.Emitted > 0 || res.Interrupted || err == nil {
			results = append(results, res)
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	cfg.Progress.Stop()
	if o.json {
		full, _ := cfg.WithDefaults()
		env := report.NewEnvelope("push", started)
		env.Config = pushConfigJSON{push.ConfigToJSON(full), o.link.describe()}
		env.Errors = failed
		rs := []push.ResultJSON{}
		for _, r := range results {
			rs = append(rs, push.JSON(r))
			env.Interrupted = env.Interrupted || r.Interrupted
		}
		env.Results = rs
		env.Interrupted = env.Interrupted || ctx.Err() != nil
		if err := env.Write(a.out); err != nil {
			return err
		}
		if w := o.pics.pageText(); w != nil && len(results) > 0 {
			if err := writePushText(w, cfg, results, o.link.describe(), o.wire.on, failed); err != nil {
				return err
			}
		}
	} else if len(results) > 0 {
		if err := writePushText(a.out, cfg, results, o.link.describe(), o.wire.on, failed); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		if len(results) == 0 {
			return errors.New(failed[0])
		}
		return o.pics.write(func() ([]chart.Chart, error) { return chart.Push(results) },
			fmt.Errorf("push: %d of %d transports failed (see the notes above)", len(failed), len(trs)))
	}
	return o.pics.write(func() ([]chart.Chart, error) { return chart.Push(results) }, nil)
}

// writePushText prints a push run's table.
func writePushText(w io.Writer, cfg push.Config, results []push.Result, link string, wire bool, failed []string) error {
	t := push.Table(results)
	t.Title = pushTitle(cfg)
	if link != "" {
		t.Title += "\nthrough an impaired link: " + link
	}
	if wire {
		t.Title += "\nthrough the tap (trace above; its extra hop is in every delay)"
	}
	for _, f := range failed {
		t.Notes = append(t.Notes, "failed: "+f)
	}
	return t.Write(w)
}

func pushTitle(cfg push.Config) string {
	what := fmt.Sprintf("%d events", cfg.Count)
	if cfg.Count == 0 {
		what = "events for " + cfg.Duration.String()
	}
	up := "no upstream"
	switch {
	case cfg.UpRate > 0:
		up = fmt.Sprintf("client sends %g/s upstream meanwhile", cfg.UpRate)
	case cfg.UpRate == 0:
		up = "client sends as many messages upstream meanwhile"
	}
	sched := cfg.Schedule.String()
	if cfg.Schedule == push.Poisson {
		sched = fmt.Sprintf("poisson, seed %d", cfg.Seed)
	}
	return fmt.Sprintf("push: the server speaks first: %s at %g/s (%s); %s", what, cfg.Rate, sched, up)
}
