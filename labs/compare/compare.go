package compare

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// A Subject is one transport to compare, with what the sentences need to
// know about how it was set up.
type Subject struct {
	Transport transport.Transport
	// Name heads the column; Transport.Info().Name if "".
	Name string
	// Label names it in a sentence ("WebSocket", "short polling every
	// 100 ms"); Name if "".
	Label string
	// PollInterval is the client's poll interval when it polls on a timer
	// (short polling), else 0.
	PollInterval time.Duration
	// LongPoll reports whether the client polls and the server holds each
	// poll until there is something to answer (long polling).
	LongPoll bool
	// ServerPush reports whether the server sends unasked down a response
	// it holds open, although the client sends each message with a request
	// of its own (Server-Sent Events): not duplex, but push.
	ServerPush bool
	// PollsThenUpgrades reports whether the client starts on HTTP long
	// polling and upgrades to a WebSocket (Socket.IO's default).
	PollsThenUpgrades bool
}

func (s Subject) name() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Transport.Info().Name
}

func (s Subject) label() string {
	if s.Label != "" {
		return s.Label
	}
	return s.name()
}

// EchoFigures is what compare takes from an echo run: the client sends
// messages and the server sends each back.
type EchoFigures struct {
	Sent     int
	Received int
	RTT      stats.Summary // round-trip time on the client's monotonic clock
	// RTTSamples are the round-trip times summarized in RTT, in arrival
	// order (for charts).
	RTTSamples []time.Duration
	Wire       transport.WireStats
	HasWire    bool
}

// Lost is how many echoes never came back.
func (e EchoFigures) Lost() int { return max(0, e.Sent-e.Received) }

// An EchoFunc runs the echo lab once over tr.
type EchoFunc func(ctx context.Context, tr transport.Transport, via transport.Via) (EchoFigures, error)

// Config says what to compare.
type Config struct {
	Subjects []Subject
	// Echo runs the echo part; nil skips it.
	Echo EchoFunc
	// Push configures the push part (its Transport and Via are set per
	// subject); SkipPush leaves it out.
	Push     push.Config
	SkipPush bool
	// Via, if set, puts something between every client and server.
	Via transport.Via
	// Progress, if set, is called before each step ("echo", "push") of each
	// subject, for a progress line.
	Progress func(lab, subject string, step, steps int)
}

// A Column is everything measured over one transport.
type Column struct {
	Subject Subject
	Name    string
	Info    transport.Info
	Echo    *EchoFigures // nil when not run or failed
	EchoErr error
	Push    *push.Result // nil when not run or failed before measuring
	PushErr error
}

// Result is one comparison.
type Result struct {
	Columns     []Column
	Elapsed     time.Duration
	Interrupted bool
	PushConfig  push.Config
	Echoed      bool // the echo part ran
	Pushed      bool // the push part ran
}

// Run runs echo, then push, over every subject in turn (one at a time, so
// they do not compete for the CPU). A failure over one transport is kept in
// its column and the others still run. When ctx is done it returns what it
// has measured so far with Interrupted set, and ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	if len(cfg.Subjects) == 0 {
		return Result{}, errors.New("compare: no transports")
	}
	pc, err := cfg.Push.WithDefaults()
	if err != nil && !cfg.SkipPush {
		return Result{}, fmt.Errorf("compare: %w", err)
	}
	cfg.Push = pc
	start := time.Now()
	res := Result{PushConfig: cfg.Push, Echoed: cfg.Echo != nil, Pushed: !cfg.SkipPush}
	steps := 0
	if cfg.Echo != nil {
		steps += len(cfg.Subjects)
	}
	if !cfg.SkipPush {
		steps += len(cfg.Subjects)
	}
	step := 0
	progress := func(lab, name string) {
		step++
		if cfg.Progress != nil {
			cfg.Progress(lab, name, step, steps)
		}
	}
	for _, s := range cfg.Subjects {
		if s.Transport == nil {
			return Result{}, errors.New("compare: a subject has no transport")
		}
		res.Columns = append(res.Columns, Column{Subject: s, Name: s.name(), Info: s.Transport.Info()})
	}
	for i := range res.Columns {
		col := &res.Columns[i]
		if cfg.Echo != nil {
			progress("echo", col.Name)
			e, err := cfg.Echo(ctx, col.Subject.Transport, cfg.Via)
			if ctx.Err() != nil {
				break
			}
			if err != nil {
				col.EchoErr = fmt.Errorf("echo over %s: %w", col.Name, err)
			} else {
				col.Echo = &e
			}
		}
		if !cfg.SkipPush {
			progress("push", col.Name)
			pc := cfg.Push
			pc.Transport, pc.Via = col.Subject.Transport, cfg.Via
			if col.Subject.PollInterval > 0 {
				// The end marker arrives with the next poll.
				pc.Drain = max(pc.Drain, 3*col.Subject.PollInterval)
			}
			p, err := push.Run(ctx, pc)
			if p.Emitted > 0 || err == nil {
				col.Push = &p
			}
			if ctx.Err() != nil {
				break
			}
			if err != nil {
				col.PushErr = err
			}
		}
	}
	res.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		res.Interrupted = true
		return res, ctx.Err()
	}
	return res, nil
}

// Errors lists the failures kept in the columns.
func (r Result) Errors() []error {
	var errs []error
	for _, c := range r.Columns {
		if c.EchoErr != nil {
			errs = append(errs, c.EchoErr)
		}
		if c.PushErr != nil {
			errs = append(errs, c.PushErr)
		}
	}
	return errs
}
