package impair

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// A Packet is one packet crossing the link (an IP packet on package
// simwire's wire).
type Packet struct {
	Data []byte
	// In is when the packet entered the link.
	In time.Time
	// At is when the packet leaves the stage it is in: every stage may
	// push it later. After the last stage, it is when it leaves the link.
	At time.Time
	// Index numbers the packets of one direction in the order they entered.
	Index uint64
}

// A Stage is one impairment, as configured: immutable and shared by every
// direction of every connection. Its state lives in the Step it makes.
type Stage interface {
	// Name is the flag that sets the stage, without dashes: "loss".
	Name() string
	// String is the flag's value in the form the stage's Parse function
	// reads back: "5%".
	String() string
	// Step returns the stage's state for one direction of one connection.
	Step(env Env) Step
}

// Env is what a Step learns about the direction it serves.
type Env struct {
	// Rand is the step's own random source, seeded from Config.Seed, the
	// stage's name, the connection and the direction: one stage's draws do
	// not shift another's.
	Rand *rand.Rand
	// Start is when the link started (the origin of --cut).
	Start time.Time
	// Counts is where the step counts what it did.
	Counts *Counters
}

// A Step processes the packets of one direction, one at a time, in order.
// It is used by one goroutine.
type Step interface {
	// Process takes one packet and appends to out what leaves the step now
	// (nothing, the packet, copies, or packets held earlier).
	Process(out []Packet, p Packet) []Packet
}

// A Holder is a Step that can hold packets back until something else
// arrives; Flush releases them at now.
type Holder interface {
	Step
	Holding() bool
	Flush(out []Packet, now time.Time) []Packet
}

// A Pipeline chains the steps of one direction. It is not safe for
// concurrent use: one goroutine owns it.
type Pipeline struct {
	steps  []Step
	counts *Counters
	next   uint64    // Index of the next packet
	last   time.Time // when the last packet leaves: nobody leaves earlier
}

// NewPipeline makes the pipeline for one direction of one connection of a
// link: conn numbers the connection, dir is 0 client→server, 1 back.
func NewPipeline(cfg Config, start time.Time, conn uint64, dir int, counts *Counters) *Pipeline {
	p := &Pipeline{counts: counts}
	for _, s := range cfg.Stages() {
		env := Env{Start: start, Counts: counts,
			Rand: rand.New(rand.NewPCG(cfg.Seed, streamID(s.Name(), conn, dir)))}
		p.steps = append(p.steps, s.Step(env))
	}
	return p
}

func streamID(name string, conn uint64, dir int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ (conn*0x9e3779b97f4a7c15 + uint64(dir)*0xbf58476d1ce4e5b9)
}

// Push sends data that entered the link at now through the steps and
// appends to out what leaves, with the time each may be written, in the
// order they must be written (At never decreases).
func (p *Pipeline) Push(out []Packet, data []byte, now time.Time) []Packet {
	pk := Packet{Data: data, In: now, At: now, Index: p.next}
	p.next++
	p.counts.Packets.Add(1)
	p.counts.Bytes.Add(int64(len(data)))
	return p.finish(out, p.run(0, []Packet{pk}))
}

// Next is the Index the next packet pushed will get.
func (p *Pipeline) Next() uint64 { return p.next }

// Holding reports whether a step holds packets back.
func (p *Pipeline) Holding() bool {
	for _, s := range p.steps {
		if h, ok := s.(Holder); ok && h.Holding() {
			return true
		}
	}
	return false
}

// Flush releases every held packet at now, through the steps after the one
// that held it, and appends them to out.
func (p *Pipeline) Flush(out []Packet, now time.Time) []Packet {
	var all []Packet
	for i, s := range p.steps {
		if h, ok := s.(Holder); ok && h.Holding() {
			all = append(all, p.run(i+1, h.Flush(nil, now))...)
		}
	}
	return p.finish(out, all)
}

func (p *Pipeline) run(from int, pks []Packet) []Packet {
	for _, s := range p.steps[from:] {
		var next []Packet
		for _, pk := range pks {
			next = s.Process(next, pk)
		}
		pks = next
	}
	return pks
}

// finish keeps the link first-in first-out: a packet never leaves before
// the one written ahead of it (only Reorder swaps packets).
func (p *Pipeline) finish(out, pks []Packet) []Packet {
	for _, pk := range pks {
		if pk.At.Before(p.last) {
			pk.At = p.last
		}
		p.last = pk.At
		if pk.At.After(pk.In) {
			p.counts.Delayed.Add(1)
		}
		out = append(out, pk)
	}
	return out
}
