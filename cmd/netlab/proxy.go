package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/impair"
)

func init() { register(newProxyCmd) }

type proxyOptions struct {
	listen, upstream string
	udp, json        bool
	link             *linkFlags
}

func newProxyCmd(a *app) *cobra.Command {
	o := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy --upstream HOST:PORT [--listen HOST:PORT] [impairments]",
		Short: "Put an impaired link (delay, loss, a cut...) between any client and server",
		Long: `proxy listens on --listen and forwards every client to --upstream through an
impaired link: the same --delay, --jitter, --loss, --burst, --dup, --reorder,
--rate, --cut, --seed and --rto every lab takes. It prints what it did to the
packets as it goes (a live line on a terminal, a line a second otherwise) and
the totals when you press Ctrl-C.

TCP is a byte stream: the proxy never loses, duplicates or reorders a byte of
it. A "lost" segment waits --rto for its retransmission, and everything behind
it waits too (head-of-line blocking): a model of what TCP does. With --udp the
proxy carries datagrams, and those really are dropped, duplicated and
reordered. See 'netlab docs loss'.`,
		Example: `  # terminal 1: a server
  nc -l 127.0.0.1 7000
  # terminal 2: the impaired link in front of it
  netlab proxy --listen 127.0.0.1:9000 --upstream 127.0.0.1:7000 --delay 100ms --loss 5%
  # terminal 3: a client, through the proxy
  nc 127.0.0.1 9000

  # UDP, with bursts of loss and a 2-second outage 5 s in
  netlab proxy --udp --upstream 127.0.0.1:7000 --burst p=2%,r=25% --cut 5s+2s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.upstream == "" {
				return usagef("--upstream is required: the HOST:PORT of the server to proxy to")
			}
			if _, _, err := net.SplitHostPort(o.upstream); err != nil {
				return usagef("--upstream %q: want HOST:PORT", o.upstream)
			}
			if _, _, err := net.SplitHostPort(o.listen); err != nil {
				return usagef("--listen %q: want HOST:PORT", o.listen)
			}
			cfg, err := o.link.config()
			if err != nil {
				return err
			}
			return runProxy(cmd, a, o, cfg)
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&o.upstream, "upstream", "", "address of the server to forward to (required)")
	cmd.Flags().BoolVar(&o.udp, "udp", false, "carry UDP datagrams instead of a TCP stream")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the totals as JSON when stopped")
	o.link = addLinkFlags(cmd)
	return cmd
}

// proxyConfigJSON is the config of 'netlab proxy --json'.
type proxyConfigJSON struct {
	Network  string `json:"network"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Link     string `json:"link"`
}

// proxyJSON is the results of 'netlab proxy --json': the totals.
type proxyJSON struct {
	Clients    uint64        `json:"clients"`
	DurationUs float64       `json:"duration_us"`
	Up         impair.Counts `json:"client_to_server"`
	Down       impair.Counts `json:"server_to_client"`
}

func runProxy(cmd *cobra.Command, a *app, o *proxyOptions, cfg impair.Config) error {
	ctx := cmd.Context()
	network := "tcp"
	if o.udp {
		network = "udp"
	}
	link, err := impair.New(cfg)
	if err != nil {
		return usagef("%v", err)
	}
	p, err := link.Listen(ctx, network, o.listen, o.upstream)
	if err != nil {
		return bindError(fmt.Errorf("proxy: %w (pick another with --listen or use port 0)", err), "--listen", o.listen) // dialhint.go
	}
	defer p.Close()
	if !o.json {
		fmt.Fprintf(a.out, "proxy %s %s → %s through %s\n", network, p.Addr(), o.upstream, cfg)
		fmt.Fprintln(a.out, "press Ctrl-C to stop and print the totals")
	}
	live := time.NewTicker(time.Second)
	progress := a.progress()
	defer progress.Stop()
	if progress != nil {
		live.Reset(250 * time.Millisecond)
	}
	defer live.Stop()
	var last impair.Counts
	var dialErrs int64
	for {
		select {
		case <-ctx.Done():
			p.Close()
			progress.Stop()
			return printProxyTotals(a, o, network, p, link, cfg)
		case <-live.C:
			if n, err := p.DialErrors(); n > dialErrs {
				dialErrs = n
				progress.Stop() // the warning gets its own line; the live line comes back below
				progress = a.progress()
				fmt.Fprintf(a.errOut, "netlab: proxy: %s — a client was turned away; is the server at %s running?\n", strings.TrimPrefix(err.Error(), "impair: "), o.upstream)
			}
			now := link.Up().Add(link.Down())
			switch {
			case progress != nil:
				progress.Status(liveLine(p, link))
			case !o.json && now != last:
				fmt.Fprintln(a.out, liveLine(p, link))
			}
			last = now
		}
	}
}

func liveLine(p *impair.Proxy, l *impair.Link) string {
	c := l.Up().Add(l.Down())
	return fmt.Sprintf("%s  %s  %d pkts  %d delayed  %d dropped  %d retransmitted  %d duplicated  %d reordered  %d cut",
		report.Duration(time.Since(p.Start()).Round(time.Second)), clients(p.Conns()), c.Packets, c.Delayed, c.Dropped,
		c.Retransmits, c.Duplicated, c.Reordered, c.Cut)
}

func printProxyTotals(a *app, o *proxyOptions, network string, p *impair.Proxy, l *impair.Link, cfg impair.Config) error {
	up, down := l.Up(), l.Down()
	if o.json {
		env := report.NewEnvelope("proxy", p.Start())
		env.Config = proxyConfigJSON{Network: network, Listen: p.Addr().String(), Upstream: o.upstream, Link: cfg.String()}
		env.Results = proxyJSON{Clients: p.Conns(), DurationUs: report.Micros(time.Since(p.Start())), Up: up, Down: down}
		env.Interrupted = true // a proxy runs until Ctrl-C
		return env.Write(a.out)
	}
	unit := "segments"
	if network == "udp" {
		unit = "datagrams"
	}
	t := report.Table{
		Title:  fmt.Sprintf("totals after %s, %s (%s through %s)", report.Duration(time.Since(p.Start())), clients(p.Conns()), network, cfg),
		Header: []string{unit, "client→server", "server→client"},
	}
	row := func(name string, f func(impair.Counts) int64) {
		t.Row(name, fmt.Sprint(f(up)), fmt.Sprint(f(down)))
	}
	row("in", func(c impair.Counts) int64 { return c.Packets })
	row("out", func(c impair.Counts) int64 { return c.Delivered })
	row("delayed", func(c impair.Counts) int64 { return c.Delayed })
	if network == "udp" {
		row("dropped", func(c impair.Counts) int64 { return c.Dropped })
		row("duplicated", func(c impair.Counts) int64 { return c.Duplicated })
		row("reordered", func(c impair.Counts) int64 { return c.Reordered })
	} else {
		row("retransmitted (waited --rto)", func(c impair.Counts) int64 { return c.Retransmits })
	}
	row("met the cut", func(c impair.Counts) int64 { return c.Cut })
	t.Row("bytes in", report.Bytes(up.Bytes), report.Bytes(down.Bytes))
	return t.Write(a.out)
}

func clients(n uint64) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
