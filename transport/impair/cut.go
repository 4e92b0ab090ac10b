package impair

import (
	"fmt"
	"strings"
	"time"
)

// Cut takes the link down for a while, in both directions: from At after
// the link starts, for For, nothing passes. A packet that meets the window
// (enters or would leave during it) is gone. TCP over the link resends what
// it lost when its retransmission timer fires, the timer doubling each time
// (RFC 6298 section 5.5), which is why TCP comes back a little after the
// link does. Flag: --cut 2s+1s (dark from 2 s to 3 s).
type Cut struct {
	At, For time.Duration
}

// ParseCut reads a --cut value: "AT+FOR", two durations ("2s+1s").
func ParseCut(s string) (Cut, error) {
	at, dur, ok := strings.Cut(s, "+")
	if !ok {
		return Cut{}, fmt.Errorf("impair: --cut %q: want AT+FOR like 2s+1s (dark from 2 s for 1 s)", s)
	}
	a, err := parseDuration("cut", strings.TrimSpace(at))
	if err != nil {
		return Cut{}, err
	}
	f, err := parseDuration("cut", strings.TrimSpace(dur))
	if err != nil {
		return Cut{}, err
	}
	c := Cut{At: a, For: f}
	return c, c.validate()
}

func (c Cut) Name() string   { return "cut" }
func (c Cut) String() string { return c.At.String() + "+" + c.For.String() }

func (c Cut) validate() error {
	if c.At < 0 || c.For < 0 {
		return fmt.Errorf("impair: --cut %s: times cannot be negative", c)
	}
	if c == (Cut{}) {
		return nil
	}
	if c.For == 0 {
		return fmt.Errorf("impair: --cut %s: the cut must last more than 0s", c)
	}
	return nil
}

// Dark reports whether the link is down at t for a link started at start.
func (c Cut) Dark(start, t time.Time) bool {
	from := start.Add(c.At)
	return !t.Before(from) && t.Before(from.Add(c.For))
}

func (c Cut) Step(env Env) Step { return &cutStep{c: c, env: env} }

type cutStep struct {
	c   Cut
	env Env
}

func (s *cutStep) Process(out []Packet, p Packet) []Packet {
	inDark, outDark := s.c.Dark(s.env.Start, p.In), s.c.Dark(s.env.Start, p.At)
	if !inDark && !outDark {
		return append(out, p)
	}
	s.env.Counts.Cut.Add(1)
	return out
}
