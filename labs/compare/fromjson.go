package compare

import (
	"errors"
	"math"
	"time"

	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/transport"
)

// FromJSON turns the config and results of a saved --json document back
// into a Result, as far as the document keeps it (times to 0.1 µs), so a
// saved run can be printed and drawn again; interrupted is the document's. The sentences are the document's own (j.Sentences).
func FromJSON(c ConfigJSON, j ResultJSON, interrupted bool) Result {
	r := Result{Elapsed: time.Duration(math.Round(j.ElapsedUs * 1000)), Interrupted: interrupted, Pushed: c.Push != nil}
	if c.Push != nil {
		r.PushConfig = push.ConfigFromJSON(*c.Push)
	}
	for _, t := range j.Transports {
		c := Column{Name: t.Name, Info: transport.Info{Name: t.Name, Reliable: t.Reliable, Ordered: t.Ordered, Duplex: t.Duplex},
			Subject: Subject{Name: t.Name, Label: t.Label, PollInterval: time.Duration(math.Round(t.PollIntervalUs * 1000)), LongPoll: t.LongPoll, ServerPush: t.ServerPush}}
		if e := t.Echo; e != nil {
			r.Echoed = true
			f := EchoFigures{Sent: e.Sent, Received: e.Received, RTT: push.SummaryFromJSON(e.RTT)}
			for _, us := range e.RTTSamplesUs {
				f.RTTSamples = append(f.RTTSamples, time.Duration(math.Round(us*1000)))
			}
			if w := e.Wire; w != nil {
				f.HasWire = true
				f.Wire = transport.WireStats{BytesSent: w.BytesSent, BytesReceived: w.BytesReceived, Requests: w.Requests, EmptyPolls: w.EmptyPolls}
			}
			c.Echo = &f
		}
		if t.EchoError != "" {
			r.Echoed = true
			c.EchoErr = errors.New(t.EchoError)
		}
		if t.Push != nil {
			p := push.FromJSON(*t.Push)
			c.Push = &p
		}
		if t.PushError != "" {
			c.PushErr = errors.New(t.PushError)
		}
		r.Columns = append(r.Columns, c)
	}
	return r
}
