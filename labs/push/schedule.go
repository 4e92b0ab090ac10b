package push

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// A Schedule says when the server emits its events.
type Schedule int

const (
	// Poisson emits events at random moments: the first at once, then gaps
	// that are independent and exponentially distributed with mean 1/Rate,
	// the usual model of events nobody planned (chat messages, price ticks,
	// alerts). The same Seed gives the same moments.
	Poisson Schedule = iota
	// Fixed emits one event every 1/Rate, the first at once.
	Fixed
)

// String returns the name used on the command line.
func (s Schedule) String() string {
	switch s {
	case Poisson:
		return "poisson"
	case Fixed:
		return "fixed"
	}
	return fmt.Sprintf("Schedule(%d)", int(s))
}

// ParseSchedule turns "fixed" or "poisson" into a Schedule.
func ParseSchedule(s string) (Schedule, error) {
	switch s {
	case "poisson":
		return Poisson, nil
	case "fixed":
		return Fixed, nil
	}
	return 0, fmt.Errorf("push: unknown schedule %q: want fixed or poisson", s)
}

// maxEvents bounds a schedule so a typo in --rate cannot eat the memory.
const maxEvents = 1_000_000

// Offsets returns the moments, counted from the start of the run, at which
// the server emits its events: count events when count > 0, otherwise every
// event that falls before d. rate is in events per second; seed picks the
// Poisson moments (Fixed ignores it).
func Offsets(s Schedule, rate float64, seed int64, count int, d time.Duration) []time.Duration {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil
	}
	more := func(i int, at time.Duration) bool {
		if i >= maxEvents {
			return false
		}
		if count > 0 {
			return i < count
		}
		return at < d
	}
	var out []time.Duration
	switch s {
	case Fixed:
		for i := 0; ; i++ {
			at := time.Duration(float64(i) / rate * float64(time.Second))
			if !more(i, at) {
				break
			}
			out = append(out, at)
		}
	case Poisson:
		rng := rand.New(rand.NewPCG(uint64(seed), 0x6e65746c6162)) // "netlab"
		var t float64                                              // seconds
		for i := 0; ; i++ {
			if i > 0 {
				t += rng.ExpFloat64() / rate
			}
			at := time.Duration(t * float64(time.Second))
			if !more(i, at) {
				break
			}
			out = append(out, at)
		}
	}
	return out
}
