package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
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
--rate, --cut, --seed, --tcp-recovery and --pcap every lab takes. It prints
what it did to the packets as it goes (a live line on a terminal, a line a
second otherwise) and the totals when you press Ctrl-C.

The impaired hop is a simulated wire between two real TCP/IP stacks inside
the proxy (gVisor's netstack): each client's connection is carried across it
as a TCP connection of its own, whose packets the wire loses, delays and
duplicates; that TCP recovers by itself (fast retransmit, its retransmission
timer), and what the application sees is the time it took. The hops between
your client and the proxy and between the proxy and the server are ordinary
kernel TCP on 127.0.0.1. With --udp each datagram crosses the wire as a UDP
datagram, and what the wire drops is gone. See 'netlab docs loss'.`,
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
	// ClientTCP and ServerTCP are the TCP counters of the wire's two stacks.
	ClientTCP  simwire.TCPStats `json:"client_tcp"`
	ServerTCP  simwire.TCPStats `json:"server_tcp"`
	QueueDrops uint64           `json:"queue_drops"`
	PCAP       string           `json:"pcap,omitempty"`
}

func runProxy(cmd *cobra.Command, a *app, o *proxyOptions, cfg impair.Config) error {
	ctx := cmd.Context()
	network := "tcp"
	if o.udp {
		network = "udp"
	}
	opts, err := o.link.options()
	if err != nil {
		return err
	}
	link, err := simwire.NewLink(opts)
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
				fmt.Fprintf(a.errOut, "netlab: proxy: %s — a client was turned away; is the server at %s running?\n", strings.TrimPrefix(err.Error(), "simwire: "), o.upstream)
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

func liveLine(p *simwire.Proxy, l *simwire.Link) string {
	st := l.Stats()
	c := st.Up.Add(st.Down)
	tcp := st.Client.Add(st.Server)
	return fmt.Sprintf("%s  %s  %d pkts  %d delayed  %d dropped  %d duplicated  %d reordered  %d cut  TCP resent %d",
		report.Duration(time.Since(p.Start()).Round(time.Second)), clients(p.Conns()), c.Packets, c.Delayed, c.Dropped,
		c.Duplicated, c.Reordered, c.Cut, tcp.Retransmits)
}

func printProxyTotals(a *app, o *proxyOptions, network string, p *simwire.Proxy, l *simwire.Link, cfg impair.Config) error {
	st := l.Stats()
	up, down := st.Up, st.Down
	if o.json {
		env := report.NewEnvelope("proxy", p.Start())
		env.Config = proxyConfigJSON{Network: network, Listen: p.Addr().String(), Upstream: o.upstream, Link: cfg.String()}
		env.Results = proxyJSON{Clients: p.Conns(), DurationUs: report.Micros(time.Since(p.Start())), Up: up, Down: down,
			ClientTCP: st.Client, ServerTCP: st.Server, QueueDrops: st.QueueDrops, PCAP: o.link.pcapPath}
		env.Interrupted = true // a proxy runs until Ctrl-C
		return env.Write(a.out)
	}
	unit := "packets"
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
	row("dropped", func(c impair.Counts) int64 { return c.Dropped })
	row("duplicated", func(c impair.Counts) int64 { return c.Duplicated })
	row("reordered", func(c impair.Counts) int64 { return c.Reordered })
	row("met the cut", func(c impair.Counts) int64 { return c.Cut })
	t.Row("bytes in", report.Bytes(up.Bytes), report.Bytes(down.Bytes))
	if network == "tcp" {
		tcp := func(name string, f func(simwire.TCPStats) uint64) {
			t.Row(name, fmt.Sprint(f(st.Client)), fmt.Sprint(f(st.Server)))
		}
		t.Section("TCP on the wire (the client's stack / the server's)")
		tcp("  segments sent", func(c simwire.TCPStats) uint64 { return c.SegmentsSent })
		tcp("  retransmitted", func(c simwire.TCPStats) uint64 { return c.Retransmits })
		tcp("    fast (dup ACKs)", func(c simwire.TCPStats) uint64 { return c.FastRetransmits })
		tcp("    RTO timeouts", func(c simwire.TCPStats) uint64 { return c.Timeouts })
		tcp("  SACK recoveries", func(c simwire.TCPStats) uint64 { return c.SACKRecoveries })
		tcp("  tail loss probes", func(c simwire.TCPStats) uint64 { return c.TLPRecoveries })
	}
	return t.Write(a.out)
}

func clients(n uint64) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
