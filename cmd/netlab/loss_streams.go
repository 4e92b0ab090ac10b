package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/quic"
	"github.com/netlab/netlab/transport/simwire"
)

// newLossStreamsCmd is 'netlab loss streams': head-of-line blocking, one
// ordered stream against a stream per message.
func newLossStreamsCmd(a *app) *cobra.Command {
	var (
		names     string
		count     int
		interval  time.Duration
		size      int
		late      time.Duration
		json      bool
		handshake bool
		to        transportOptions
		lf        *linkFlags // set below, once the command exists
		pics      *pictureFlags
	)
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Head-of-line blocking: the same messages on one TCP stream, one QUIC stream, and a QUIC stream each",
		Long: `The comparison QUIC was built for. A client sends the same numbered messages,
faster than a lost packet is recovered, over one TCP stream, over one QUIC
stream, and over one QUIC connection with a stream per message; each runs
through its own copy of the same seeded link.

On an ordered stream a lost packet holds up every message behind it, though
their own bytes have arrived: they wait for a packet that was not theirs.
With independent streams a lost packet holds up only the message it carried.
The table counts, among late messages, those that waited for their own
packet and those held behind another's, and the per-message (per-stream)
one-way delay.

Under it, the handshake: how long a QUIC client and a TCP+TLS 1.3 client
took before they could send, over a link with only a delay.

QUIC crosses the link as UDP datagrams (the impaired link's UDP path); TCP
crosses its stream path. See 'netlab docs quic'.`,
		Example: `  netlab loss streams
  netlab loss streams --loss 5% --count 500
  netlab loss streams --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if count < 1 || count > 100_000 {
				return usagef("--count must be between 1 and 100000, got %d", count)
			}
			if interval <= 0 {
				return usagef("--interval must be > 0, got %v", interval)
			}
			if size < 1 || size > 60_000 {
				return usagef("--size must be between 1 and 60000 bytes, got %d", size)
			}
			if late < 0 {
				return usagef("--late cannot be negative, got %v", late)
			}
			link, err := lf.config()
			if err != nil {
				return err
			}
			trs, err := parseTransports(names, &to)
			if err != nil {
				return err
			}
			for _, tr := range trs {
				if !tr.Info().Reliable {
					return usagef("--transports: %s does not promise delivery; this comparison is between reliable streams (tcp, quic, quic-streams, ws...)", tr.Info().Name)
				}
			}
			pcap, err := lf.pcapWriter()
			if err != nil {
				return err
			}
			cfg := loss.StreamsConfig{Count: count, Interval: interval, Size: size, Late: late, Link: link,
				Recovery: lf.recoveryMode(), PCAP: pcap}
			if handshake {
				cfg.Handshake = measureHandshakes
			}
			progress := a.progress()
			progress.Status(fmt.Sprintf("sending %d messages over %s…", count, names))
			started := time.Now()
			res, err := loss.RunStreams(cmd.Context(), cfg, trs)
			progress.Stop()
			if len(res.Runs) == 0 {
				return err
			}
			if json {
				j := res.JSON()
				env := report.NewEnvelope("loss streams", started)
				env.Config, env.Results = j.Config, j.Results
				env.Interrupted = cmd.Context().Err() != nil
				for _, r := range j.Results.Runs {
					if r.Error != "" {
						env.Errors = append(env.Errors, r.Transport+": "+r.Error)
					}
				}
				if jerr := env.Write(a.out); jerr != nil {
					return jerr
				}
				if w := pics.pageText(); w != nil {
					if werr := res.WriteText(w); werr != nil {
						return werr
					}
				}
			} else if werr := res.WriteText(a.out); werr != nil {
				return werr
			}
			return pics.write(func() ([]chart.Chart, error) { return chart.Streams(res) }, err)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&names, "transports", "t", "tcp,quic,quic-streams", transportFlagHelp())
	fs.IntVarP(&count, "count", "n", loss.DefaultStreamsCount, "messages to send over each transport")
	fs.DurationVarP(&interval, "interval", "i", loss.DefaultStreamsInterval, "time between two messages")
	fs.IntVarP(&size, "size", "s", loss.DefaultSize, "bytes of payload per message")
	fs.DurationVar(&late, "late", 0, "a message slower than this is late (0: the link's delay + jitter + 20ms)")
	fs.BoolVar(&json, "json", false, "print one JSON document with the raw numbers instead of tables")
	fs.BoolVar(&handshake, "handshake", true, "also measure QUIC's and TCP+TLS's handshakes over a delayed link")
	lf = addLinkFlagsDefault(cmd, loss.DefaultStreamsLink)
	addTransportFlags(fs, &to)
	pics = addPictureFlags(cmd, a)
	pics.lab = "loss streams"
	return cmd
}

// measureHandshakes is loss.StreamsConfig.Handshake: QUIC and TCP+TLS 1.3,
// each through a link with only delay each way, best of three.
func measureHandshakes(ctx context.Context, delay time.Duration) ([]loss.HandshakeCost, error) {
	link, err := simwire.NewLink(simwire.Options{Impair: impair.Config{Delay: impair.Delay(delay)}})
	if err != nil {
		return nil, err
	}
	t, err := quic.MeasureHandshakes(ctx, link.Via(), 3)
	if err != nil {
		return nil, err
	}
	rtt := 2 * delay
	out := []loss.HandshakeCost{
		{Name: "quic (QUIC + TLS 1.3)", Ready: t.QUIC, RTT: rtt},
		{Name: "tcp+tls (TCP + TLS 1.3)", Ready: t.TCPTLS, RTT: rtt, Connect: t.TCPConnect},
	}
	if t.TCPConnect < delay {
		out[1].Note = "the client's connect was answered at once by the link's proxy on 127.0.0.1 (the TCP connect " +
			"column); the proxy's own SYN/SYN-ACK crossed the simulated wire while the ClientHello waited in it, " +
			"so the time includes TCP's round trip, as on a real link."
	}
	return out, nil
}
