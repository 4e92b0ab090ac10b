package impair

import (
	"strconv"
	"strings"
)

// Config is an impaired link, the same in both directions. The zero value
// is a perfect link.
type Config struct {
	Delay   Delay
	Jitter  Jitter
	Loss    Loss
	Burst   Burst
	Dup     Dup
	Reorder Reorder
	Rate    Rate
	Cut     Cut
	// Seed seeds every random choice: the same seed gives the same drops
	// and delays for the same traffic.
	Seed uint64
}

type validator interface{ validate() error }

// Stages returns the impairments that are set, in the order packets meet
// them.
func (c Config) Stages() []Stage {
	var out []Stage
	add := func(on bool, s Stage) {
		if on {
			out = append(out, s)
		}
	}
	add(c.Loss > 0, c.Loss)
	add(!c.Burst.isZero(), c.Burst)
	add(c.Dup > 0, c.Dup)
	add(c.Reorder > 0, c.Reorder)
	add(c.Delay > 0, c.Delay)
	add(c.Jitter > 0, c.Jitter)
	add(c.Rate > 0, c.Rate)
	add(c.Cut != Cut{}, c.Cut)
	return out
}

// Perfect reports whether c impairs nothing.
func (c Config) Perfect() bool { return len(c.Stages()) == 0 }

// Validate reports the first value out of range, as a one-line error.
func (c Config) Validate() error {
	for _, v := range []validator{c.Delay, c.Jitter, c.Loss, c.Burst, c.Dup, c.Reorder, c.Rate, c.Cut} {
		if err := v.validate(); err != nil {
			return err
		}
	}
	return nil
}

// String writes c as the flags that set it: "--loss 5% --delay 20ms --seed 1",
// or "perfect link".
func (c Config) String() string {
	var b strings.Builder
	for _, s := range c.Stages() {
		b.WriteString("--" + s.Name() + " " + s.String() + " ")
	}
	if b.Len() == 0 {
		return "perfect link"
	}
	b.WriteString("--seed " + strconv.FormatUint(c.Seed, 10))
	return b.String()
}
