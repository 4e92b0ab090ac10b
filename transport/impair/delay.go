package impair

import (
	"fmt"
	"time"
)

// Delay holds every packet for a fixed time: the link's one-way latency.
// Flag: --delay 20ms.
type Delay time.Duration

// ParseDelay reads a --delay value: a Go duration, not negative ("20ms").
func ParseDelay(s string) (Delay, error) {
	d, err := parseDuration("delay", s)
	return Delay(d), err
}

func (d Delay) Name() string   { return "delay" }
func (d Delay) String() string { return time.Duration(d).String() }
func (d Delay) validate() error {
	if d < 0 {
		return fmt.Errorf("impair: --delay %v: a delay cannot be negative", time.Duration(d))
	}
	return nil
}

func (d Delay) Step(Env) Step { return delayStep(d) }

type delayStep time.Duration

func (d delayStep) Process(out []Packet, p Packet) []Packet {
	p.At = p.At.Add(time.Duration(d))
	return append(out, p)
}

// Jitter adds to each packet's delay a random amount, uniform between
// -Jitter and +Jitter (a packet never leaves before it arrived). Jitter
// never reorders: a packet whose draw is short leaves right after the one
// ahead of it, as from a first-in first-out queue. (Linux netem reorders
// when jitter is large; netlab keeps reordering to --reorder, so each
// counter says what caused it.) Flag: --jitter 5ms.
type Jitter time.Duration

// ParseJitter reads a --jitter value: a Go duration, not negative ("5ms").
func ParseJitter(s string) (Jitter, error) {
	d, err := parseDuration("jitter", s)
	return Jitter(d), err
}

func (j Jitter) Name() string   { return "jitter" }
func (j Jitter) String() string { return time.Duration(j).String() }
func (j Jitter) validate() error {
	if j < 0 {
		return fmt.Errorf("impair: --jitter %v: jitter cannot be negative", time.Duration(j))
	}
	return nil
}

func (j Jitter) Step(env Env) Step { return &jitterStep{j: time.Duration(j), env: env} }

type jitterStep struct {
	j    time.Duration
	env  Env
	last time.Time
}

func (s *jitterStep) Process(out []Packet, p Packet) []Packet {
	off := time.Duration(s.env.Rand.Int64N(int64(2*s.j)+1)) - s.j
	p.At = p.At.Add(off)
	if p.At.Before(p.In) {
		p.At = p.In
	}
	if p.At.Before(s.last) {
		p.At = s.last
	}
	s.last = p.At
	return append(out, p)
}

func parseDuration(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("impair: --%s %q: want a duration like 20ms or 1.5s", flag, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("impair: --%s %s: cannot be negative", flag, s)
	}
	return d, nil
}
