package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// cutLinks are the impaired links of 'netlab missed --offline-mode cut': a
// simulated wire between two real TCP/IP stacks (transport/simwire) that
// goes dark, both ways, for the offline window of each run. It keeps the
// links so the command can print what their wires and stacks did, and
// writes their packets to --pcap.
type cutLinks struct {
	pcapPath string
	file     *os.File
	pcap     *simwire.PCAP

	mu    sync.Mutex
	links []*simwire.Link // one per distinct cut, oldest first
}

// open creates the --pcap file, if one was asked for.
func (c *cutLinks) open() error {
	if c.pcapPath == "" {
		return nil
	}
	f, err := os.Create(c.pcapPath)
	if err != nil {
		return usagef("--pcap: %v", err)
	}
	p, err := simwire.NewPCAP(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("--pcap %s: %w", c.pcapPath, err)
	}
	c.file, c.pcap = f, p
	return nil
}

// via is missed.Config.CutLink: a Via whose link goes dark from at after
// each proxy it starts until at+d. Runs with the same cut share a link, so
// its counts add up over them.
func (c *cutLinks) via(at, d time.Duration) (transport.Via, error) {
	cfg := impair.Config{Cut: impair.Cut{At: at, For: d}, Seed: 1} // the seed of every lab's link; a cut is not random
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.links {
		if l.Config() == cfg {
			return l.Via(), nil
		}
	}
	l, err := simwire.NewLink(simwire.Options{Impair: cfg, PCAP: c.pcap})
	if err != nil {
		return nil, err
	}
	c.links = append(c.links, l)
	return l.Via(), nil
}

// finish prints, unless quiet (--json), what each link did, the same
// summary as every lab with a link, and closes --pcap, saying on errOut
// how many packets it holds.
func (c *cutLinks) finish(out, errOut io.Writer, quiet bool) error {
	c.mu.Lock()
	links := append([]*simwire.Link(nil), c.links...)
	c.mu.Unlock()
	for _, l := range links {
		for _, n := range l.Networks() {
			select { // a run stops its proxies when it ends
			case <-n.Closed():
			case <-time.After(2 * time.Second):
			}
		}
		if !quiet {
			writeLinkSummary(out, l.Config(), l.Stats())
		}
	}
	if c.pcap == nil {
		return nil
	}
	err := c.pcap.Flush()
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--pcap %s: %w", c.pcapPath, err)
	}
	fmt.Fprintf(errOut, "pcap: wrote %d packets to %s (as captured at the client; the packets the wire dropped are not in it)\n",
		c.pcap.Packets(), c.pcapPath)
	return nil
}
