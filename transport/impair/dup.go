package impair

// Dup sends a packet twice with a probability, as a link layer that
// retransmits a frame whose acknowledgement it lost does. UDP hands both
// copies to the application; TCP's receiver discards the second by its
// sequence number (and says so with a duplicate ACK). Flag: --dup 1%.
type Dup float64

// ParseDup reads a --dup value: "1%" or "0.01".
func ParseDup(s string) (Dup, error) {
	v, err := parseProb("dup", s)
	return Dup(v), err
}

func (d Dup) Name() string    { return "dup" }
func (d Dup) String() string  { return formatProb(float64(d)) }
func (d Dup) validate() error { return checkProb("dup", float64(d)) }

func (d Dup) Step(env Env) Step { return &dupStep{p: float64(d), env: env} }

type dupStep struct {
	p   float64
	env Env
}

func (s *dupStep) Process(out []Packet, p Packet) []Packet {
	if s.env.Rand.Float64() >= s.p {
		return append(out, p)
	}
	s.env.Counts.Duplicated.Add(1)
	cp := p
	cp.Data = append([]byte(nil), p.Data...)
	return append(out, p, cp)
}
