package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// rtoGone is the error a user who passes --rto gets.
const rtoGone = "--rto is gone: an impaired link now carries real TCP between two TCP/IP stacks (gVisor's netstack), " +
	"and its retransmission timer follows RFC 6298 (1s at first, then from the measured round trip, at least 200ms); " +
	"use --tcp-recovery classic|rack to choose how TCP detects a loss"

// linkFlags are the impairment flags every lab shares, spelled the same
// everywhere: --delay --jitter --loss --burst --dup --reorder --rate --cut
// --seed, and --tcp-recovery and --pcap for the simulated wire they act on.
type linkFlags struct {
	cmd                                                 *cobra.Command
	delay, jitter, loss, burst, dup, reorder, rate, cut string
	seed                                                uint64
	recovery, pcapPath, rto                             string
	// labSeed is the lab's own --seed flag when it has one: the link then
	// uses the same seed rather than a second flag of the same name.
	labSeed *pflag.Flag

	made     *simwire.Link // the link link() made, reported after the run
	pcapFile *os.File
	pcap     *simwire.PCAP
}

// addLinkFlags adds the impairment flags to cmd, all off by default. Call
// it after the command's own flags: a lab that already has --seed shares
// it with the link, and one that already has --rate (push's events per
// second) gets the bandwidth limit as --link-rate.
func addLinkFlags(cmd *cobra.Command) *linkFlags {
	return addLinkFlagsDefault(cmd, impair.Config{Seed: 1})
}

// addLinkFlagsDefault adds the impairment flags to cmd with def as the
// defaults (a lab about loss starts lossy).
func addLinkFlagsDefault(cmd *cobra.Command, def impair.Config) *linkFlags {
	f := &linkFlags{cmd: cmd, labSeed: cmd.Flags().Lookup("seed")}
	// The bandwidth limit is --link-rate on every lab, and also --rate where
	// the lab has no --rate of its own (push and compare use --rate for
	// events per second).
	rateFree := cmd.Flags().Lookup("rate") == nil
	str := func(on bool, s impair.Stage) string {
		if !on {
			return ""
		}
		return s.String()
	}
	fs := cmd.Flags()
	fs.StringVar(&f.delay, "delay", str(def.Delay > 0, def.Delay), "impaired link: one-way `DELAY` added in each direction (e.g. 20ms)")
	fs.StringVar(&f.jitter, "jitter", str(def.Jitter > 0, def.Jitter), "impaired link: random ± variation of the delay, up to `JITTER` (e.g. 5ms); never reorders")
	fs.StringVar(&f.loss, "loss", str(def.Loss > 0, def.Loss), "impaired link: lose each packet with probability `P` (5% or 0.05); TCP resends it itself")
	fs.StringVar(&f.burst, "burst", str(def.Burst != impair.Burst{}, def.Burst), "impaired link: bursty loss, Gilbert–Elliott `p=P,r=R`: good→bad p, bad→good r, e.g. p=1%,r=30% (mean burst 1/r packets)")
	fs.StringVar(&f.dup, "dup", str(def.Dup > 0, def.Dup), "impaired link: send a packet twice with probability `P` (TCP drops the copy, UDP delivers it)")
	fs.StringVar(&f.reorder, "reorder", str(def.Reorder > 0, def.Reorder), "impaired link: hold a packet back behind the next with probability `P`")
	fs.StringVar(&f.rate, "link-rate", str(def.Rate > 0, def.Rate), "impaired link: bandwidth limit `BITS` per second (e.g. 1Mbit, 512kbit)")
	if rateFree {
		fs.StringVar(&f.rate, "rate", str(def.Rate > 0, def.Rate), "impaired link: bandwidth limit `BITS` per second (same as --link-rate)")
	}
	fs.StringVar(&f.cut, "cut", str(def.Cut != impair.Cut{}, def.Cut), "impaired link: go dark both ways `AT+FOR` after the link starts (e.g. 2s+1s)")
	if f.labSeed == nil {
		fs.Uint64Var(&f.seed, "seed", def.Seed, "impaired link: random seed; the same seed drops the same packets")
	}
	fs.StringVar(&f.recovery, "tcp-recovery", "classic", "impaired link: how TCP detects a lost segment: `classic` (three duplicate ACKs, RFC 5681; no tail loss probe, so a window whose ACK is lost waits for the timer, which grows at high loss: docs/loss.md) or rack (by time, with tail loss probes, RFC 8985)")
	fs.StringVar(&f.pcapPath, "pcap", "", "impaired link: write the packets that crossed the wire to `FILE` (pcap for Wireshark/tshark; dropped packets are not in it)")
	fs.StringVar(&f.rto, "rto", "", "gone: TCP's own timer decides")
	_ = fs.MarkHidden("rto")
	cmd.PreRunE = chainPreRun(cmd.PreRunE, func(c *cobra.Command) {
		run := c.RunE
		if run == nil {
			return
		}
		c.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			if ferr := f.finish(c); err == nil {
				err = ferr
			}
			return err
		}
	})
	return f
}

// chainPreRun returns a PreRunE that runs prev, then wrap (which may
// replace the command's RunE: cobra reads it after PreRunE).
func chainPreRun(prev func(*cobra.Command, []string) error, wrap func(*cobra.Command)) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(c, args); err != nil {
				return err
			}
		}
		wrap(c)
		return nil
	}
}

// config parses the flags into an impair.Config, or returns a usage error.
func (f *linkFlags) config() (impair.Config, error) {
	c := impair.Config{Seed: f.seed}
	if f.cmd.Flags().Changed("rto") {
		return c, usagef("%s", rtoGone)
	}
	if f.labSeed != nil {
		n, perr := strconv.ParseInt(f.labSeed.Value.String(), 10, 64)
		if perr != nil {
			return c, usagef("--seed %q: want a whole number", f.labSeed.Value.String())
		}
		c.Seed = uint64(n)
	}
	var err error
	set := func(s string, parse func(string) error) {
		if err == nil && s != "" {
			err = parse(s)
		}
	}
	set(f.delay, func(s string) (e error) { c.Delay, e = impair.ParseDelay(s); return })
	set(f.jitter, func(s string) (e error) { c.Jitter, e = impair.ParseJitter(s); return })
	set(f.loss, func(s string) (e error) { c.Loss, e = impair.ParseLoss(s); return })
	set(f.burst, func(s string) (e error) { c.Burst, e = impair.ParseBurst(s); return })
	set(f.dup, func(s string) (e error) { c.Dup, e = impair.ParseDup(s); return })
	set(f.reorder, func(s string) (e error) { c.Reorder, e = impair.ParseReorder(s); return })
	set(f.rate, func(s string) (e error) { c.Rate, e = impair.ParseRate(s); return })
	set(f.cut, func(s string) (e error) { c.Cut, e = impair.ParseCut(s); return })
	if err == nil {
		_, err = simwire.ParseRecovery(f.recovery)
	}
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "impair: "), "simwire: ")
		return c, usagef("%s", msg)
	}
	return c, nil
}

// recoveryMode returns --tcp-recovery (checked by config).
func (f *linkFlags) recoveryMode() simwire.Recovery {
	r, _ := simwire.ParseRecovery(f.recovery)
	return r
}

// pcapWriter opens --pcap FILE the first time it is called (nil without
// --pcap); finish flushes and closes it.
func (f *linkFlags) pcapWriter() (*simwire.PCAP, error) {
	if f.pcapPath == "" || f.pcap != nil {
		return f.pcap, nil
	}
	file, err := os.Create(f.pcapPath)
	if err != nil {
		return nil, usagef("--pcap: %v", err)
	}
	p, err := simwire.NewPCAP(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("--pcap %s: %w", f.pcapPath, err)
	}
	f.pcapFile, f.pcap = file, p
	return p, nil
}

// options returns what the link's networks start with.
func (f *linkFlags) options() (simwire.Options, error) {
	c, err := f.config()
	if err != nil {
		return simwire.Options{}, err
	}
	p, err := f.pcapWriter()
	return simwire.Options{Impair: c, Recovery: f.recoveryMode(), PCAP: p}, err
}

// link returns the impaired link the flags describe (nil for a perfect
// link, unless --pcap asks for the packets: then a perfect simulated wire),
// or a usage error. Its counts are printed after the command ran.
func (f *linkFlags) link() (*simwire.Link, error) {
	o, err := f.options()
	if err != nil || (o.Impair.Perfect() && o.PCAP == nil) {
		return nil, err
	}
	l, err := simwire.NewLink(o)
	f.made = l
	return l, err
}

// via returns a transport.Via that puts the impaired link between a lab's
// client and server, or nil when no impairment is set.
func (f *linkFlags) via() (transport.Via, error) {
	l, err := f.link()
	if l == nil || err != nil {
		return nil, err
	}
	return l.Via(), nil
}

// describe returns the impaired link in flag spelling ("--loss 5% --seed 1"),
// or "" for a perfect link or bad flags (reported by via).
func (f *linkFlags) describe() string {
	c, err := f.config()
	if err != nil || c.Perfect() {
		return ""
	}
	return c.String()
}

// finish runs after the command: it closes --pcap (saying how many packets
// it holds) and, unless --json, prints what the link the command used did.
func (f *linkFlags) finish(c *cobra.Command) error {
	if f.made != nil && !jsonOn(c) {
		for _, n := range f.made.Networks() {
			select { // a lab stops its proxies when it returns
			case <-n.Closed():
			case <-time.After(2 * time.Second):
			}
		}
		writeLinkSummary(c.OutOrStdout(), f.made.Config(), f.made.Stats())
	}
	if f.pcap == nil {
		return nil
	}
	err := f.pcap.Flush()
	if cerr := f.pcapFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--pcap %s: %w", f.pcapPath, err)
	}
	fmt.Fprintf(c.ErrOrStderr(), "pcap: wrote %d packets to %s (as captured at the client; the packets the wire dropped are not in it)\n",
		f.pcap.Packets(), f.pcapPath)
	return nil
}

func jsonOn(c *cobra.Command) bool {
	j := c.Flags().Lookup("json")
	return j != nil && j.Value.String() == "true"
}

// writeLinkSummary prints what an impaired link did: the wire's counts
// each way and each stack's TCP counters, wrapped to w's width.
func writeLinkSummary(w io.Writer, cfg impair.Config, st simwire.Stats) {
	dir := func(c impair.Counts) []string {
		s := fmt.Sprintf("%d packets, %d dropped, %d duplicated, %d reordered", c.Packets, c.Dropped, c.Duplicated, c.Reordered)
		if cfg.Cut != (impair.Cut{}) {
			s += fmt.Sprintf(", %d cut off", c.Cut)
		}
		return []string{s}
	}
	tcp := func(t simwire.TCPStats) []string {
		return []string{
			// The timeouts are the timer's firings, not the segments resent
			// after them: outside the parentheses.
			fmt.Sprintf("%d segments, %d retransmitted (%d fast), %d RTO timeouts,", t.SegmentsSent, t.Retransmits, t.FastRetransmits, t.Timeouts),
			fmt.Sprintf("%d SACK recoveries, %d TLP", t.SACKRecoveries, t.TLPRecoveries),
		}
	}
	fmt.Fprintf(w, "\nthe impaired link: %s\n(a simulated wire between two real TCP/IP stacks)\n", cfg)
	width, indent := report.Width(w), strings.Repeat(" ", 17)
	for _, row := range []struct {
		label string
		parts []string
	}{
		{"client→server:", dir(st.Up)}, {"server→client:", dir(st.Down)},
		{"client TCP:", tcp(st.Client)}, {"server TCP:", tcp(st.Server)},
	} {
		first := fmt.Sprintf("  %-15s", row.label)
		for _, part := range row.parts {
			for _, line := range report.Wrap(part, width, first, indent) {
				fmt.Fprintln(w, line)
			}
			first = indent
		}
	}
	if st.QueueDrops > 0 {
		fmt.Fprintf(w, "  %d packets dropped by a full queue inside a stack\n", st.QueueDrops)
	}
}
