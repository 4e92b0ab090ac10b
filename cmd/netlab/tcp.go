package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stream"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
)

func init() {
	transportBuilders["tcp"] = func(o *transportOptions) transport.Transport { return tcp.New(tcp.Options{Nagle: o.nagle}) }
	register(newTCPCmd)
}

func newTCPCmd(a *app) *cobra.Command {
	group := newGroupCmd(a, transportGroup{
		name:  "tcp",
		short: "TCP labs: a reliable, ordered byte stream (echo, serve, connect, stream)",
		long: `TCP gives two programs a connection that carries a reliable, ordered stream of
bytes in both directions at once. It has no message boundaries: netlab frames
each message as one line of JSON, and a plain line (from nc) is a text
message answered in plain text.

'netlab tcp stream' shows the byte stream itself: how writes coalesce and
split into reads, Nagle's algorithm, and the kernel's view of a connection.`,
		defaultListen: "127.0.0.1:7000",
		build: func(o *transportOptions, serve bool) transport.Transport {
			return tcp.New(tcp.Options{Nagle: o.nagle, MaxConns: o.maxConns, Logf: o.logf})
		},
		hint: func(addr string) string {
			host, port, _ := net.SplitHostPort(addr)
			return fmt.Sprintf("Try it: nc %s %s   (type a line; it comes back)", host, port)
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			cmd.Flags().BoolVar(&o.nagle, "nagle", false, "turn Nagle's algorithm on (TCP_NODELAY off)")
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-conns", 0, "open connections at most; more are told \"server full\" (0: the fd limit less an eighth)")
			}
		},
	})
	group.AddCommand(newTCPStreamCmd(a))
	return group
}

func newTCPStreamCmd(a *app) *cobra.Command {
	var (
		cfg   = stream.Config{Count: 200, Size: 20, ReadSize: 1024, NoDelay: true, RoundTrips: 20}
		shown int
		asJS  bool
	)
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Stream lab: TCP has no message boundaries; see writes coalesce and split, and Nagle's algorithm",
		Long: `The stream lab shows what "TCP is a byte stream" means.

1. A client writes --count small messages back to back, one Write each. The
   server prints what each of its Read calls returned: several messages
   glued together, or a message cut in two. TCP kept every byte, in order,
   but no boundary between writes.
2. The same bytes go through netlab's framing (one JSON message per line) and
   every message comes back out, in order.
3. Request/response round trips where each request is written in two pieces:
   with --nodelay=false, Nagle's algorithm holds the second piece until the
   first is acknowledged, and a delayed ACK makes that wait long.
4. The kernel's own view of the connection (Linux TCP_INFO): smoothed RTT,
   retransmissions, MSS, congestion window.`,
		Example: `  netlab tcp stream
  netlab tcp stream --read-size 16      # tiny reads: messages split
  netlab tcp stream --nodelay=false     # Nagle's algorithm on`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			if shown < 1 {
				return usagef("--show must be at least 1, got %d", shown)
			}
			started := time.Now()
			res, err := stream.Run(cmd.Context(), cfg)
			if err != nil && !res.Interrupted {
				return err
			}
			if asJS {
				env := report.NewEnvelope("tcp stream", started)
				env.Config = struct {
					Count         int  `json:"count"`
					SizeBytes     int  `json:"size_bytes"`
					ReadSizeBytes int  `json:"read_size_bytes"`
					NoDelay       bool `json:"nodelay"`
					RoundTrips    int  `json:"round_trips"`
				}{cfg.Count, cfg.Size, cfg.ReadSize, cfg.NoDelay, cfg.RoundTrips}
				env.Results = stream.ToJSON(res)
				env.Interrupted = res.Interrupted
				if werr := env.Write(a.out); werr != nil {
					return werr
				}
				return err
			}
			stream.Write(a.out, res, shown)
			return err
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&cfg.Count, "count", "n", cfg.Count, "messages the client writes back to back")
	fs.IntVarP(&cfg.Size, "size", "s", cfg.Size, "payload bytes per message")
	fs.IntVar(&cfg.ReadSize, "read-size", cfg.ReadSize, "bytes the server asks for in each Read")
	fs.BoolVar(&cfg.NoDelay, "nodelay", cfg.NoDelay, "TCP_NODELAY on the client (false turns Nagle's algorithm on)")
	fs.IntVar(&cfg.RoundTrips, "round-trips", cfg.RoundTrips, "request/response round trips for the Nagle part (0 skips it)")
	fs.IntVar(&shown, "show", 12, "how many reads to list one by one")
	fs.BoolVar(&asJS, "json", false, "print one JSON document instead of text")
	return cmd
}
