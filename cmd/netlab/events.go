package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/events"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
)

func init() { register(newEventsCmd) }

// eventsOptions are the flags of 'netlab events'.
type eventsOptions struct {
	transports string
	clients    int
	roundTrips int
	ackTimeout time.Duration
	json       bool
	tr         transportOptions
	pics       *pictureFlags
}

func newEventsCmd(a *app) *cobra.Command {
	o := &eventsOptions{}
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Who receives an emit, what happens to an unhandled event, and how long an ack takes",
		Long: `events starts a server and a few clients in this process over each transport,
speaking netlab's event layer (named events, handlers and acks, modelled on
Socket.IO), and shows:

  - who receives an emit: a client's emit reaches the server only; other
    clients see it only if a server handler relays it; the server emits to
    one socket or to all;
  - that an event nobody handles is counted and dropped, and an
    EmitWithAck for it times out: no ack ever comes;
  - ack round trips each way, measured one at a time.`,
		Example: `  netlab events
  netlab events --transports tcp --round-trips 1000
  netlab events --transports tcp --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.clients < 2 || o.clients > 100:
				return usagef("--clients must be between 2 and 100, got %d", o.clients)
			case o.roundTrips < 1 || o.roundTrips > 1000000:
				return usagef("--round-trips must be between 1 and 1000000, got %d", o.roundTrips)
			case o.ackTimeout < time.Millisecond:
				return usagef("--ack-timeout must be >= 1ms, got %v", o.ackTimeout)
			}
			trs, err := parseTransports(o.transports, &o.tr)
			if err != nil {
				return err
			}
			return eventsRun(cmd.Context(), a, o, trs)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.transports, "transports", "t", defaultEventTransports(), transportFlagHelp())
	addTransportFlags(f, &o.tr)
	f.IntVar(&o.clients, "clients", events.DefaultClients, "clients connected to the server")
	f.IntVar(&o.roundTrips, "round-trips", events.DefaultRoundTrips, "ack round trips measured each way")
	f.DurationVar(&o.ackTimeout, "ack-timeout", events.DefaultAckTimeout, "how long the EmitWithAck to an unhandled event waits")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of the tables")
	o.pics = addPictureFlags(cmd, a)
	return cmd
}

// eventsConfigJSON is the config of 'netlab events --json'.
type eventsConfigJSON struct {
	Transports   []string `json:"transports"`
	Clients      int      `json:"clients"`
	RoundTrips   int      `json:"round_trips"`
	AckTimeoutUs float64  `json:"ack_timeout_us"`
}

func eventsRun(ctx context.Context, a *app, o *eventsOptions, trs []transport.Transport) error {
	var results []events.Result
	env := report.NewEnvelope("events", time.Now())
	conf := eventsConfigJSON{Transports: []string{}, Clients: o.clients, RoundTrips: o.roundTrips, AckTimeoutUs: report.Micros(o.ackTimeout)}
	for _, tr := range trs {
		conf.Transports = append(conf.Transports, tr.Info().Name)
	}
	rs := []events.ResultJSON{}
	var firstErr error
	progress := a.progress()
	defer progress.Stop()
	progress.Step("events (transports done)", len(trs))
	for i, tr := range trs {
		progress.Set(i)
		r, err := events.Run(ctx, events.Config{Transport: tr, Clients: o.clients, RoundTrips: o.roundTrips, AckTimeout: o.ackTimeout})
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
		} else {
			results = append(results, r)
		}
		j := events.JSON(r)
		if err != nil {
			j.Error = err.Error()
			env.Errors = append(env.Errors, err.Error())
		}
		rs = append(rs, j)
		if ctx.Err() != nil {
			break
		}
	}
	progress.Stop()
	charts := func() ([]chart.Chart, error) { return chart.Events(results) }
	if o.json {
		env.Config, env.Results, env.Interrupted = conf, rs, ctx.Err() != nil
		if err := env.Write(a.out); err != nil {
			return err
		}
		if w := o.pics.pageText(); w != nil && len(results) > 0 {
			if err := writeEventsTables(w, results); err != nil {
				return err
			}
		}
		return o.pics.write(charts, firstErr)
	}
	if len(results) == 0 {
		return firstErr
	}
	if err := writeEventsTables(a.out, results); err != nil {
		return err
	}
	return o.pics.write(charts, firstErr)
}

// writeEventsTables prints the tables of 'netlab events' (and of its saved
// document, for netlab report).
func writeEventsTables(w io.Writer, results []events.Result) error {
	for i, t := range events.Tables(results) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := t.Write(w); err != nil {
			return err
		}
	}
	return nil
}
