package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
)

func init() { register(newEchoCmd) }

// echoOptions are the flags of every echo lab command.
type echoOptions struct {
	count    int
	size     int
	interval time.Duration
	timeout  time.Duration
	trace    bool
	json     bool
	hist     bool
	link     *linkFlags    // the impaired link (--loss, --delay...)
	wire     *wireFlags    // --wire: the client goes through the tap
	via      transport.Via // set by validate from link; nil for a perfect link
	linkDesc string
	pics     *pictureFlags // --plot, --report (nil: not offered)
}

func addEchoFlags(cmd *cobra.Command, o *echoOptions) {
	fs := cmd.Flags()
	fs.IntVarP(&o.count, "count", "n", 100, "messages to send")
	fs.IntVarP(&o.size, "size", "s", 64, "bytes of payload per message")
	fs.DurationVarP(&o.interval, "interval", "i", 0, "send one message every interval (0: send the next as soon as the previous reply arrives)")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "how long to wait for a reply before counting it lost")
	fs.BoolVar(&o.trace, "trace", false, "print one line per message as it happens (a ladder diagram)")
	fs.BoolVar(&o.json, "json", false, "print one JSON document with the raw numbers instead of tables")
	fs.BoolVar(&o.hist, "histogram", true, "print a round-trip time histogram per transport")
	o.link = addLinkFlags(cmd)
	o.wire = addWireFlags(cmd)
}

func (o *echoOptions) config() echo.Config {
	return echo.Config{Count: o.count, Size: o.size, Interval: o.interval, Timeout: o.timeout, Via: o.via}
}

func (o *echoOptions) validate(trs []transport.Transport) error {
	if o.timeout <= 0 {
		return usagef("--timeout must be more than 0 (how long to wait for each reply, e.g. 1s), got %v", o.timeout)
	}
	if err := o.wire.check(o.json, o.trace); err != nil {
		return err
	}
	if o.link != nil {
		l, err := o.link.link()
		if err != nil {
			return err
		}
		if l != nil {
			o.via, o.linkDesc = l.Via(), l.Config().String()
		}
	}
	cfg := o.config()
	for _, tr := range trs {
		if err := cfg.Validate(tr.Info()); err != nil {
			return usageError{err}
		}
	}
	return nil
}

func newEchoCmd(a *app) *cobra.Command {
	var (
		o     echoOptions
		to    transportOptions
		names string
	)
	cmd := &cobra.Command{
		Use:   "echo",
		Short: "Echo lab: the same round trips over several transports, side by side",
		Long: `Echo lab: a client sends numbered messages, a server sends each one back, and
the client measures the round-trip time and counts what came back, what was
lost, what came back twice and what came back out of order.

This command runs the same echo over every transport you list and prints one
column per transport, so the differences stand side by side. Server and
client run in this process, on 127.0.0.1.`,
		Example: `  netlab echo --transports tcp,udp
  netlab echo --transports tcp,udp --count 1000 --size 512
  netlab echo --transports all --json > echo.json
  netlab echo --transports tcp,ws --count 2 --wire   # the bytes of each message`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			trs, err := parseTransports(names, &to)
			if err != nil {
				return err
			}
			if err := o.validate(trs); err != nil {
				return err
			}
			return runEcho(cmd.Context(), a, trs, o)
		},
	}
	cmd.Flags().StringVarP(&names, "transports", "t", "tcp,udp", transportFlagHelp())
	addEchoFlags(cmd, &o)
	addTransportFlags(cmd.Flags(), &to)
	o.pics = addPictureFlags(cmd, a)
	return cmd
}

// runEcho runs the echo lab over each transport in turn and prints the
// results side by side.
func runEcho(ctx context.Context, a *app, trs []transport.Transport, o echoOptions) error {
	cfg := o.config()
	started := time.Now()
	var errs []string
	if !o.trace {
		cfg.Progress = a.progress()
	}
	defer cfg.Progress.Stop()
	var traceMu sync.Mutex
	var results []echo.Result
	for _, tr := range trs {
		name := tr.Info().Name
		if o.trace && !o.json {
			cfg.Trace = func(e echo.TraceEvent) {
				traceMu.Lock()
				echo.WriteTrace(a.out, name, e)
				traceMu.Unlock()
			}
		}
		cfg.Progress.Step("echo over "+name, cfg.Count)
		tap := o.wire.start(a.out, name) // nil without --wire
		cfg.Via = tap.via(o.via)
		res, err := echo.Run(ctx, tr, cfg)
		if werr := tap.finish(); werr != nil {
			return werr
		}
		if err != nil && res.Sent == 0 {
			return err
		}
		results = append(results, res)
		if err != nil {
			errs = append(errs, err.Error())
			if !o.json {
				fmt.Fprintf(a.errOut, "netlab: %v\n", err)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	cfg.Progress.Stop()
	charts := func() ([]chart.Chart, error) { return chart.Echo(results) }
	// A transport that failed fails the lab (exit 1), after its partial
	// results are printed; Ctrl-C is not a failure.
	var runErr error
	if len(errs) > 0 && ctx.Err() == nil {
		where := "see above"
		if o.json {
			where = "see the document's errors"
		}
		runErr = fmt.Errorf("echo: %d of %d transports failed (%s)", len(errs), len(results), where)
	}
	if o.json {
		j := echo.ToJSON(cfg, results)
		j.Config.Link = o.linkDesc
		env := report.NewEnvelope("echo", started)
		env.Config, env.Results, env.Errors = j.Config, j.Results, errs
		env.Interrupted = ctx.Err() != nil
		if err := env.Write(a.out); err != nil {
			return err
		}
		if w := o.pics.pageText(); w != nil {
			if err := writeEchoText(w, cfg, results, o.linkDesc, o.wire.on, o.hist); err != nil {
				return err
			}
		}
		return o.pics.write(charts, runErr)
	}
	if o.trace {
		fmt.Fprintln(a.out)
	}
	if err := writeEchoText(a.out, cfg, results, o.linkDesc, o.wire.on, o.hist); err != nil {
		return err
	}
	return o.pics.write(charts, runErr)
}

// writeEchoText prints an echo run's heading, table and histograms.
func writeEchoText(w io.Writer, cfg echo.Config, results []echo.Result, linkDesc string, wire, hist bool) error {
	head := fmt.Sprintf("Echo: %s of %d bytes per transport", report.Plural(cfg.Count, "message"), cfg.Size)
	if cfg.Interval > 0 {
		head += fmt.Sprintf(", one every %s", report.Duration(cfg.Interval))
	} else {
		head += ", each sent when the previous reply arrived"
	}
	if linkDesc != "" {
		head += fmt.Sprintf(",\nthrough an impaired link: %s", linkDesc)
	}
	if wire {
		head += ",\nthrough the tap (trace above; its extra hop is in every round trip)"
	}
	for _, line := range strings.Split(head, "\n") {
		report.Paragraph(w, line)
	}
	fmt.Fprintln(w)
	if err := echo.Table(results).Write(w); err != nil {
		return err
	}
	if hist {
		echo.WriteHistograms(w, results)
	}
	return nil
}

// serveEcho runs an echo server for tr on addr until Ctrl-C, then prints
// totals. hint tells the user how to talk to it with standard tools.
func serveEcho(ctx context.Context, a *app, tr transport.Transport, addr string, hint func(addr string) string, quiet bool) error {
	ln, err := tr.Listen(ctx, addr)
	if err != nil {
		return listenError(err, addr)
	}
	defer ln.Close()
	name := tr.Info().Name
	fmt.Fprintf(a.out, "netlab %s echo server listening on %s\n", name, ln.Addr())
	share := shareAddrs(listenedOn(addr, ln.Addr())) // 0.0.0.0: this machine's real addresses
	if l := otherAddrs(share); l != "" {
		fmt.Fprintln(a.out, l)
	}
	if hint != nil {
		fmt.Fprintln(a.out, hint(share[0]))
	}
	fmt.Fprintln(a.out, "Press Ctrl-C to stop.")
	var st echo.ServerStats
	st.OnConn = newServerLog(a.out, quiet).echoConn(name) // serverlog.go: a line per client
	start := time.Now()
	err = echo.Serve(ctx, ln, &st)
	fmt.Fprintf(a.out, "\nstopped after %s: %s, %s echoed, %d malformed\n",
		report.Duration(time.Since(start).Round(time.Millisecond)),
		report.Plural(st.Conns.Load(), "client"), report.Plural(st.Messages.Load(), "message"), st.Bad.Load())
	return err
}

// listenError turns a listen failure into one line that says what to do.
func listenError(err error, addr string) error {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("listen %s: address already in use — pick another with --listen, or port 0 for any free port", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("listen %s: this machine has no such address — use 127.0.0.1 or one of its own addresses", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("listen %s: permission denied — ports below 1024 need root; pick a port above 1024", addr)
	}
	var ae *net.AddrError
	if errors.As(err, &ae) || strings.Contains(msg, "missing port") || strings.Contains(msg, "unknown port") {
		return usagef("bad --listen address %q: want HOST:PORT, for example 127.0.0.1:7000", addr)
	}
	return err
}

// checkHostPort validates a HOST:PORT argument before dialing.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return usagef("bad address %q: want HOST:PORT, for example 127.0.0.1:7000", addr)
	}
	_ = host
	return nil
}

// connectEcho is the interactive client: lines typed are sent, replies are
// printed with their round-trip time.
func connectEcho(ctx context.Context, a *app, tr transport.Transport, addr string) error {
	if err := checkHostPort(addr); err != nil {
		return err
	}
	conn, err := tr.Dial(ctx, addr)
	if err != nil {
		return dialError(tr.Info().Name, addr, err) // dialhint.go
	}
	defer conn.Close()
	fmt.Fprintf(a.errOut, "connected to %s over %s; type lines to send, Ctrl-D to finish\n", addr, tr.Info().Name)
	sent, received, err := echo.Interactive(ctx, conn, a.in, 2*time.Second, func(r echo.Reply) {
		switch {
		case r.RTT > 0:
			fmt.Fprintf(a.out, "← seq %d  %q  rtt %s\n", r.Seq, r.Data, report.Duration(r.RTT))
		case r.Dup:
			fmt.Fprintf(a.out, "← seq %d  %q  (duplicate)\n", r.Seq, r.Data)
		default:
			fmt.Fprintf(a.out, "← %q\n", r.Data)
		}
	})
	fmt.Fprintf(a.errOut, "sent %d, received %d\n", sent, received)
	if !tr.Info().Connected && sent > 0 && received == 0 && ctx.Err() == nil {
		fmt.Fprintln(a.errOut, udpSilence(addr))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// writeOneLab prints a single transport's echo lab (tcp echo, udp echo, ...).
func runOneEcho(cmd *cobra.Command, a *app, tr transport.Transport, o echoOptions) error {
	if err := o.validate([]transport.Transport{tr}); err != nil {
		return err
	}
	return runEcho(cmd.Context(), a, []transport.Transport{tr}, o)
}
