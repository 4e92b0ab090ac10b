package impair

import "time"

// Reorder holds a packet back, with a probability, until the next one has
// passed: the two arrive swapped, as when packets take different paths. A
// held packet waits at most HoldLimit for one to follow. UDP delivers them
// swapped; TCP's receiver puts the bytes back in order (and its duplicate
// ACK may look like a loss to the sender). Flag: --reorder 1%.
type Reorder float64

// HoldLimit is the longest Reorder holds a datagram waiting for the next.
const HoldLimit = 100 * time.Millisecond

// ParseReorder reads a --reorder value: "1%" or "0.01".
func ParseReorder(s string) (Reorder, error) {
	v, err := parseProb("reorder", s)
	return Reorder(v), err
}

func (r Reorder) Name() string    { return "reorder" }
func (r Reorder) String() string  { return formatProb(float64(r)) }
func (r Reorder) validate() error { return checkProb("reorder", float64(r)) }

func (r Reorder) Step(env Env) Step { return &reorderStep{p: float64(r), env: env} }

type reorderStep struct {
	p    float64
	env  Env
	held []Packet
}

func (s *reorderStep) Process(out []Packet, p Packet) []Packet {
	if s.env.Rand.Float64() < s.p {
		s.env.Counts.Reordered.Add(1)
		s.held = append(s.held, p)
		return out
	}
	out = append(out, p)
	for _, h := range s.held {
		h.At = later(h.At, p.At)
		out = append(out, h)
	}
	s.held = s.held[:0]
	return out
}

func (s *reorderStep) Holding() bool { return len(s.held) > 0 }

// Flush releases the held datagrams at now, in the order they came.
func (s *reorderStep) Flush(out []Packet, now time.Time) []Packet {
	for _, h := range s.held {
		h.At = later(h.At, now)
		out = append(out, h)
	}
	s.held = s.held[:0]
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
