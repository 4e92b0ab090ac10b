package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
)

// linkFlags are the impairment flags every lab shares, spelled the same
// everywhere: --delay --jitter --loss --burst --dup --reorder --rate --cut
// --seed --rto.
type linkFlags struct {
	cmd                                                 *cobra.Command
	delay, jitter, loss, burst, dup, reorder, rate, cut string
	seed                                                uint64
	rto                                                 time.Duration
	// labSeed is the lab's own --seed flag when it has one: the link then
	// uses the same seed rather than a second flag of the same name.
	labSeed *pflag.Flag
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
	rateFlag := "rate"
	if cmd.Flags().Lookup("rate") != nil {
		rateFlag = "link-rate"
	}
	str := func(on bool, s impair.Stage) string {
		if !on {
			return ""
		}
		return s.String()
	}
	fs := cmd.Flags()
	fs.StringVar(&f.delay, "delay", str(def.Delay > 0, def.Delay), "impaired link: one-way `DELAY` added in each direction (e.g. 20ms)")
	fs.StringVar(&f.jitter, "jitter", str(def.Jitter > 0, def.Jitter), "impaired link: random ± variation of the delay, up to `JITTER` (e.g. 5ms); never reorders")
	fs.StringVar(&f.loss, "loss", str(def.Loss > 0, def.Loss), "impaired link: lose each packet with probability `P` (5% or 0.05); TCP resends after --rto")
	fs.StringVar(&f.burst, "burst", str(def.Burst != impair.Burst{}, def.Burst), "impaired link: bursty loss, Gilbert–Elliott `p=P,r=R`: good→bad p, bad→good r, e.g. p=1%,r=30% (mean burst 1/r packets)")
	fs.StringVar(&f.dup, "dup", str(def.Dup > 0, def.Dup), "impaired link: send a datagram twice with probability `P` (UDP only)")
	fs.StringVar(&f.reorder, "reorder", str(def.Reorder > 0, def.Reorder), "impaired link: hold a datagram back behind the next with probability `P` (UDP only)")
	fs.StringVar(&f.rate, rateFlag, str(def.Rate > 0, def.Rate), "impaired link: bandwidth limit `BITS` per second (e.g. 1Mbit, 512kbit)")
	fs.StringVar(&f.cut, "cut", str(def.Cut != impair.Cut{}, def.Cut), "impaired link: go dark both ways `AT+FOR` after the link starts (e.g. 2s+1s)")
	if f.labSeed == nil {
		fs.Uint64Var(&f.seed, "seed", def.Seed, "impaired link: random seed; the same seed drops the same packets")
	}
	rto := def.RTO
	if rto == 0 {
		rto = impair.DefaultRTO
	}
	fs.DurationVar(&f.rto, "rto", rto, "impaired link: how long a lost TCP segment waits for retransmission (a model of TCP)")
	return f
}

// config parses the flags into an impair.Config, or returns a usage error.
func (f *linkFlags) config() (impair.Config, error) {
	c := impair.Config{Seed: f.seed, RTO: f.rto}
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
	if err == nil && f.rto <= 0 {
		return c, usagef("--rto must be > 0, got %v", f.rto)
	}
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		return c, usagef("%s", strings.TrimPrefix(err.Error(), "impair: "))
	}
	return c, nil
}

// link returns the impaired link the flags describe (nil for a perfect
// link), or a usage error.
func (f *linkFlags) link() (*impair.Link, error) {
	c, err := f.config()
	if err != nil || c.Perfect() {
		return nil, err
	}
	return impair.New(c)
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
