package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
)

func init() { register(newLossCmd) }

type lossOptions struct {
	names    string
	count    int
	interval time.Duration
	size     int
	late     time.Duration
	json     bool
	ladder   bool
	link     *linkFlags
	to       transportOptions
	pics     *pictureFlags
}

// defaultLossTransports are the transports the lab runs when none are
// named: those of udp, tcp and ws that this build has.
func defaultLossTransports() string {
	var out []string
	for _, n := range []string{"udp", "tcp", "ws"} {
		if transportBuilders[n] != nil {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}

func newLossCmd(a *app) *cobra.Command {
	o := &lossOptions{}
	cmd := &cobra.Command{
		Use:   "loss",
		Short: "Dropped-packets lab: the same numbered stream over UDP, TCP and WebSocket through a lossy link",
		Long: `The dropped-packets lab. A client sends the same numbered messages, one way, to
a server over each transport, and each runs through its own copy of the same
impaired link (same seed: the same packets are lost). The table shows, side by
side, how many messages were delivered, lost, duplicated, out of order and
late, the one-way delay, and a timeline with one mark per message.

The link is a simulated wire between two real TCP/IP stacks (gVisor's
netstack): the impairments act on real IP packets. UDP loses and reorders
messages but delivers the rest at once. TCP (and HTTP and WebSocket, which run
on it) never loses a message: its own stack resends a lost segment, by fast
retransmit when duplicate ACKs say what is missing, or when its retransmission
timer fires, and every message behind it waits too: head-of-line blocking. The
table shows what the stacks did; --ladder prints every packet, --pcap FILE
writes them for Wireshark, --json carries cwnd, srtt and RTO on every ACK.

The link defaults to a few percent loss with a little delay, jitter and
reordering; set any of the link flags to change it. See 'netlab docs loss'.`,
		Example: `  netlab loss
  netlab loss --loss 10% --count 200
  netlab loss --burst p=2%,r=25% --transports udp,tcp
  netlab loss --cut 1s+500ms --loss 0 --json
  netlab loss --transports tcp --count 20 --ladder
  netlab loss --tcp-recovery rack --pcap loss.pcap`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, trs, err := o.config()
			if err != nil {
				return err
			}
			return lossRun(cmd.Context(), a, o, cfg, trs)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.names, "transports", "t", defaultLossTransports(), transportFlagHelp())
	fs.IntVarP(&o.count, "count", "n", loss.DefaultCount, "messages to send over each transport")
	fs.DurationVarP(&o.interval, "interval", "i", loss.DefaultInterval, "time between two messages")
	fs.IntVarP(&o.size, "size", "s", loss.DefaultSize, "bytes of payload per message")
	fs.DurationVar(&o.late, "late", 0, "a message slower than this is late (0: the link's delay + jitter + 20ms)")
	fs.BoolVar(&o.json, "json", false, "print one JSON document with the raw numbers instead of tables")
	fs.BoolVar(&o.ladder, "ladder", false, "also print every packet on the wire as a ladder: time, direction, flags, seq, ack, length, SACK blocks, drops")
	o.link = addLinkFlagsDefault(cmd, loss.DefaultLink)
	addTransportFlags(fs, &o.to)
	o.pics = addPictureFlags(cmd, a)
	cmd.AddCommand(newLossStreamsCmd(a)) // loss_streams.go
	return cmd
}

// config validates the flags into the lab's Config and the transports to
// run it over.
func (o *lossOptions) config() (loss.Config, []transport.Transport, error) {
	if o.count < 1 || o.count > 100_000 {
		return loss.Config{}, nil, usagef("--count must be between 1 and 100000, got %d", o.count)
	}
	if o.interval <= 0 {
		return loss.Config{}, nil, usagef("--interval must be > 0, got %v", o.interval)
	}
	if o.size < 1 || o.size > 60_000 {
		return loss.Config{}, nil, usagef("--size must be between 1 and 60000 bytes, got %d", o.size)
	}
	if o.late < 0 {
		return loss.Config{}, nil, usagef("--late cannot be negative, got %v", o.late)
	}
	link, err := o.link.config()
	if err != nil {
		return loss.Config{}, nil, err
	}
	trs, err := parseTransports(o.names, &o.to)
	if err != nil {
		return loss.Config{}, nil, err
	}
	pcap, err := o.link.pcapWriter()
	if err != nil {
		return loss.Config{}, nil, err
	}
	cfg := loss.Config{Count: o.count, Interval: o.interval, Size: o.size, Late: o.late, Link: link,
		Recovery: o.link.recoveryMode(), Ladder: o.ladder || o.pics.on(), PCAP: pcap} // the charts draw the packets
	if err := cfg.Validate(); err != nil {
		return loss.Config{}, nil, usagef("%v", err)
	}
	return cfg, trs, nil
}

// lossRun runs the lab and prints its result.
func lossRun(ctx context.Context, a *app, o *lossOptions, cfg loss.Config, trs []transport.Transport) error {
	cfg.Progress = a.progress()
	started := time.Now()
	res, err := loss.Run(ctx, cfg, trs)
	cfg.Progress.Stop()
	if len(res.Streams) == 0 {
		return err
	}
	if o.json {
		j := res.JSON()
		env := report.NewEnvelope("loss", started)
		env.Config, env.Results = j.Config, j.Streams
		env.Interrupted = ctx.Err() != nil
		for _, s := range j.Streams {
			if s.Error != "" {
				env.Errors = append(env.Errors, s.Transport+": "+s.Error)
			}
		}
		if jerr := env.Write(a.out); jerr != nil {
			return jerr
		}
		if w := o.pics.pageText(); w != nil {
			if werr := res.WriteText(w); werr != nil {
				return werr
			}
		}
	} else if werr := res.WriteText(a.out); werr != nil {
		return werr
	} else if o.ladder {
		fmt.Fprintln(a.out)
		if werr := res.WriteLadder(a.out); werr != nil {
			return werr
		}
	}
	return o.pics.write(func() ([]chart.Chart, error) { return chart.Loss(res) }, err)
}
