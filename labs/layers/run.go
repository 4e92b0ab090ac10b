package layers

import (
	"context"
	"fmt"

	"github.com/netlab/netlab/transport/simwire"
)

// Options is one run of the lab, as the command's flags give it.
type Options struct {
	Transport string // "tcp", "udp" or "ws"
	Message   string // the text of the message
	// Capture records the real packets of a short echo on lo (Linux,
	// root) instead of building one packet.
	Capture bool
}

// MaxMessage is the longest message the lab takes: longer ones make a
// packet no one reads.
const MaxMessage = 1000

// Validate reports what is wrong with o, as a one-line error.
func (o Options) Validate() error {
	switch o.Transport {
	case "tcp", "udp", "ws":
	default:
		return fmt.Errorf("--transport %q: want tcp, udp or ws", o.Transport)
	}
	if len(o.Message) > MaxMessage {
		return fmt.Errorf("--message is %d bytes: keep it under %d so the packet stays readable", len(o.Message), MaxMessage)
	}
	return nil
}

// Result is what one run made: the message's packet from a real exchange
// on the simulated wire, or with Options.Capture the captured echo.
type Result struct {
	Transport string
	Message   string
	SrcPort   uint16
	DstPort   uint16
	Packet    *Packet  // the message's packet; nil for a capture
	Wire      *WireRun // the exchange it came from; nil for a capture
	Capture   *Capture // the captured echo; nil otherwise
}

// Run sends the message over a real connection across netlab's simulated
// wire and returns the packet that carried it, or captures a real echo on
// lo when o.Capture is set.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	res := &Result{Transport: o.Transport, Message: o.Message}
	if o.Capture {
		c, err := CaptureEcho(ctx, Config{Transport: o.Transport, Message: o.Message})
		if err != nil {
			return nil, err
		}
		res.Capture = c
		return res, nil
	}
	run, err := FromWire(ctx, Config{Transport: o.Transport, Message: o.Message})
	if err != nil {
		return nil, err
	}
	res.Packet, res.Wire = run.Packet, run
	for _, p := range run.Exchange {
		if p.Dir == simwire.Up {
			res.SrcPort, res.DstPort = p.SrcPort, p.DstPort
			break
		}
	}
	return res, nil
}

// ConfigJSON is how the run was set up, in the --json envelope.
type ConfigJSON struct {
	Transport string `json:"transport"`
	Message   string `json:"message"`
	Capture   bool   `json:"capture"`
}

// JSON is the --json form of the result: the capture, or the packet with
// the ports it carries.
func (r *Result) JSON() (ConfigJSON, any) {
	c := ConfigJSON{Transport: r.Transport, Message: r.Message, Capture: r.Capture != nil}
	if r.Capture != nil {
		return c, r.Capture
	}
	return c, struct {
		SrcPort uint16 `json:"client_port"`
		DstPort uint16 `json:"server_port"`
		*Packet
		SYN        *Packet `json:"syn,omitempty"`
		SYNOptions string  `json:"syn_options,omitempty"`
		Exchange   int     `json:"exchange_packets"`
	}{r.SrcPort, r.DstPort, r.Packet, r.Wire.SYN, r.Wire.SYNOptions, len(r.Wire.Exchange)}
}
