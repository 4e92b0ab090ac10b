package impair

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate limits the link's bandwidth: a packet takes len×8/Rate seconds to
// leave, and waits while the ones ahead of it are still leaving. Rate is in
// bits per second. Flag: --rate 1Mbit (units bit, kbit, Mbit, Gbit, powers
// of 1000, as tc writes them; "/s" may follow).
type Rate int64

// ParseRate reads a --rate value: "1Mbit", "512kbit", "10Mbit/s".
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	lower := strings.ToLower(t)
	mult := 0.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			mult = u.mult
			t = t[:len(t)-len(u.suffix)]
			break
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("impair: --rate %q: want a bandwidth like 1Mbit, 512kbit or 10Mbit/s", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("impair: --rate %q: want a bandwidth like 1Mbit, 512kbit or 10Mbit/s", s)
	}
	r := Rate(math.Round(v * mult))
	if v <= 0 || r < 8 {
		return 0, fmt.Errorf("impair: --rate %s: must be at least 8bit (one byte a second)", s)
	}
	return r, nil
}

func (r Rate) Name() string { return "rate" }

// String writes r in the largest unit that divides it: "1Mbit", "1500kbit".
func (r Rate) String() string {
	for _, u := range []struct {
		name string
		div  int64
	}{{"Gbit", 1e9}, {"Mbit", 1e6}, {"kbit", 1e3}} {
		if int64(r)%u.div == 0 && int64(r) >= u.div {
			return strconv.FormatInt(int64(r)/u.div, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(r), 10) + "bit"
}

func (r Rate) validate() error {
	if r < 0 || (r > 0 && r < 8) {
		return fmt.Errorf("impair: --rate %dbit: must be at least 8bit (one byte a second)", int64(r))
	}
	return nil
}

// TxTime is how long n bytes take to leave at rate r.
func (r Rate) TxTime(n int) time.Duration {
	return time.Duration(float64(n) * 8 / float64(r) * float64(time.Second))
}

func (r Rate) Step(Env) Step { return &rateStep{r: r} }

type rateStep struct {
	r    Rate
	busy time.Time // when the link finishes sending what it has
}

func (s *rateStep) Process(out []Packet, p Packet) []Packet {
	start := later(p.At, s.busy)
	p.At = start.Add(s.r.TxTime(len(p.Data)))
	s.busy = p.At
	return append(out, p)
}
