package cluster

import (
	"io"
	"math"
	"strings"
	"time"
)

// FromJSON completes a DemoResult read from a saved 'cluster demo --json'
// document: the load phases' latency samples, kept there in microseconds,
// become the durations the charts draw.
func FromJSON(res *DemoResult) {
	us := func(vs []float64) []time.Duration {
		var out []time.Duration
		for _, v := range vs {
			out = append(out, time.Duration(math.Round(v*float64(time.Microsecond))))
		}
		return out
	}
	for i := range res.Runs {
		l := &res.Runs[i].Load
		l.SameServerSamples, l.CrossServerSamples = us(l.SameServerSamplesUs), us(l.CrossServerSamplesUs)
	}
}

// WriteText prints res as Demo printed it while it ran: the brokers, then
// each run's servers, bots, steps and load phase, as far as the run got.
// complete (the demo ran to its end) adds the closing note on load
// balancers.
func (res *DemoResult) WriteText(w io.Writer, complete bool) error {
	p := &printer{w: w}
	if res.Broker != "" {
		for _, b := range strings.Split(res.Broker, "; ") {
			p.printf("broker: %s\n", b)
		}
	}
	for i := range res.Runs {
		if i > 0 {
			p.printf("\n")
		}
		p.run(&res.Runs[i])
	}
	if complete {
		p.printf("\n%s", stickyNote)
	}
	return p.err
}

// run prints one run from its result, in the order runScript prints it.
func (p *printer) run(r *RunResult) {
	alone := r.Adapter == KindNone || r.Adapter == "local"
	p.servers(r.Adapter, r.Servers)
	p.bots(r.Bots)
	for i, s := range r.Steps {
		p.step(i+1, s, stepNote(i, alone))
	}
	if len(r.Sticky) > 0 {
		p.sticky(len(r.Steps)+1, r.Sticky)
	}
	if r.Who != nil {
		p.who(len(r.Steps)+len(r.Sticky)/3+1, r.Who)
	}
	if len(r.Load.Bots) > 0 { // the load phase was counted (and printed)
		p.load(r)
	}
}
