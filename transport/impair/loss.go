package impair

import (
	"fmt"
	"strings"
)

// Loss loses each packet independently with a probability. A lost packet
// is gone; TCP over the link notices and resends it. Flag: --loss 5% (or
// 0.05).
type Loss float64

// ParseLoss reads a --loss value: "5%" or "0.05".
func ParseLoss(s string) (Loss, error) {
	v, err := parseProb("loss", s)
	return Loss(v), err
}

func (l Loss) Name() string    { return "loss" }
func (l Loss) String() string  { return formatProb(float64(l)) }
func (l Loss) validate() error { return checkProb("loss", float64(l)) }

func (l Loss) Step(env Env) Step { return &lossStep{p: float64(l), env: env} }

type lossStep struct {
	p   float64
	env Env
}

func (s *lossStep) Process(out []Packet, p Packet) []Packet {
	if s.env.Rand.Float64() >= s.p {
		return append(out, p)
	}
	s.env.Counts.Dropped.Add(1)
	return out
}

// Burst loses packets in runs, as real links do, with the Gilbert–Elliott
// model: the link is either good or bad; before each packet it moves from
// good to bad with probability P and from bad back to good with
// probability R; it then loses the packet with probability Bad in the bad
// state and Good in the good state. With the defaults (Bad 100%, Good 0%)
// the mean run of losses is 1/R packets and the long-run loss rate is
// P/(P+R).
//
// Flag: --burst p=1%,r=30% (optionally ,bad=100%,good=0%).
type Burst struct {
	P, R      float64
	Bad, Good float64
}

// ParseBurst reads a --burst value: "p=1%,r=30%", optionally with
// ",bad=90%" and ",good=0.1%".
func ParseBurst(s string) (Burst, error) {
	b := Burst{Bad: 1}
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Burst{}, fmt.Errorf("impair: --burst %q: want p=P,r=R like p=1%%,r=30%%", s)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		x, err := parseProb("burst "+k, v)
		if err != nil {
			return Burst{}, err
		}
		switch k {
		case "p":
			b.P = x
		case "r":
			b.R = x
		case "bad":
			b.Bad = x
		case "good":
			b.Good = x
		default:
			return Burst{}, fmt.Errorf("impair: --burst %q: unknown key %q (want p, r, bad, good)", s, k)
		}
		seen[k] = true
	}
	if !seen["p"] || !seen["r"] {
		return Burst{}, fmt.Errorf("impair: --burst %q: both p and r are needed, like p=1%%,r=30%%", s)
	}
	return b, b.validate()
}

func (b Burst) Name() string { return "burst" }

// String writes b as ParseBurst reads it, leaving out defaults.
func (b Burst) String() string {
	s := "p=" + formatProb(b.P) + ",r=" + formatProb(b.R)
	if b.Bad != 1 {
		s += ",bad=" + formatProb(b.Bad)
	}
	if b.Good != 0 {
		s += ",good=" + formatProb(b.Good)
	}
	return s
}

// LossRate is the long-run fraction of packets lost.
func (b Burst) LossRate() float64 {
	if b.P+b.R == 0 {
		return b.Good
	}
	bad := b.P / (b.P + b.R)
	return bad*b.Bad + (1-bad)*b.Good
}

// MeanBurst is the mean number of packets in a row the link stays bad (1/R).
func (b Burst) MeanBurst() float64 { return 1 / b.R }

func (b Burst) isZero() bool { return b == Burst{} }

func (b Burst) validate() error {
	for _, c := range []struct {
		k string
		v float64
	}{{"p", b.P}, {"r", b.R}, {"bad", b.Bad}, {"good", b.Good}} {
		if err := checkProb("burst "+c.k, c.v); err != nil {
			return err
		}
	}
	if b.R == 0 && !b.isZero() {
		return fmt.Errorf("impair: --burst %s: r must be above 0%%, or the link never recovers", b)
	}
	return nil
}

func (b Burst) Step(env Env) Step { return &burstStep{b: b, env: env} }

type burstStep struct {
	b   Burst
	env Env
	bad bool
}

func (s *burstStep) Process(out []Packet, p Packet) []Packet {
	if s.bad {
		s.bad = s.env.Rand.Float64() >= s.b.R
	} else {
		s.bad = s.env.Rand.Float64() < s.b.P
	}
	lossP := s.b.Good
	if s.bad {
		lossP = s.b.Bad
	}
	if s.env.Rand.Float64() >= lossP {
		return append(out, p)
	}
	s.env.Counts.Dropped.Add(1)
	return out
}
