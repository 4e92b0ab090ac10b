package simwire

import (
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/netlab/netlab/transport/impair"
)

// Dir is a direction on the wire.
type Dir int

const (
	Up   Dir = iota // client → server
	Down            // server → client
)

// String returns "client→server" or "server→client".
func (d Dir) String() string {
	if d == Down {
		return "server→client"
	}
	return "client→server"
}

// maxQueued is how many packets may be in flight on one direction of the
// wire (held by --delay or waiting for --rate): a router's drop-tail queue.
// A packet beyond it is dropped and counted in Counts.Overflow.
const maxQueued = 20_000

// A direction carries one way of the wire: it takes every packet the
// sending stack writes, puts it through the impairment pipeline and
// injects what survives into the receiving stack when it is due. One
// goroutine (run) owns it; the sending stack only wakes it.
type direction struct {
	n      *Network
	dir    Dir
	from   *channel.Endpoint
	to     *channel.Endpoint
	pipe   *impair.Pipeline
	counts *impair.Counters
	wake   chan struct{}
	queue  []impair.Packet // leaving, in order of At
	head   int
	// free holds the buffers of delivered packets for reuse (the
	// receiving stack copies what it is given).
	free [][]byte
}

// maxFree bounds how many spare packet buffers a direction keeps.
const maxFree = 4096

func newDirection(n *Network, dir Dir, from, to *channel.Endpoint, counts *impair.Counters) *direction {
	d := &direction{n: n, dir: dir, from: from, to: to, counts: counts, wake: make(chan struct{}, 1),
		pipe: impair.NewPipeline(n.opts.Impair, n.start, 0, int(dir), counts)}
	from.AddNotify(d)
	return d
}

// WriteNotify is called by the sending stack, on its own goroutine, after
// it queued a packet: it only wakes run.
func (d *direction) WriteNotify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *direction) run() {
	defer d.n.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var heldSince time.Time
	for {
		d.take()
		now := time.Now()
		d.deliver(now, false)
		holding := d.pipe.Holding()
		switch {
		case !holding:
			heldSince = time.Time{}
		case heldSince.IsZero():
			heldSince = now
		case now.Sub(heldSince) >= impair.HoldLimit:
			d.enqueue(d.pipe.Flush(nil, now))
			heldSince = time.Time{}
			continue
		}
		wait := time.Hour
		if d.head < len(d.queue) {
			wait = d.queue[d.head].At.Sub(now)
		}
		if holding {
			wait = min(wait, heldSince.Add(impair.HoldLimit).Sub(now))
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-d.n.stop:
			// Stopping: what is on the wire arrives now rather than
			// vanish (so the pcap and the counts agree), and nothing more
			// is taken.
			d.take()
			d.enqueue(d.pipe.Flush(nil, time.Now()))
			d.deliver(time.Now(), true)
			return
		case <-d.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// take reads every packet the sending stack has queued and pushes each
// through the pipeline.
func (d *direction) take() {
	for {
		pkt := d.from.Read()
		if pkt == nil {
			return
		}
		var b []byte
		if k := len(d.free); k > 0 && cap(d.free[k-1]) >= pkt.Size() {
			b, d.free = d.free[k-1][:0], d.free[:k-1]
		} else {
			b = make([]byte, 0, max(pkt.Size(), MTU))
		}
		for _, s := range pkt.AsSlices() {
			b = append(b, s...)
		}
		pkt.DecRef()
		now := time.Now()
		if d.n.trace != nil {
			d.n.trace.sent(d.dir, d.pipe.Next(), now, b)
		}
		out := d.pipe.Push(nil, b, now)
		if d.n.opts.drop != nil && d.n.opts.drop(d.dir, parsePacket(b)) {
			d.counts.Dropped.Add(int64(len(out)))
			out = out[:0]
		}
		d.enqueue(out)
	}
}

// enqueue queues what left the pipeline. A client→server packet goes to
// the pcap now, stamped when it left the client (the capture is taken at
// the client, as tcpdump there would).
func (d *direction) enqueue(pks []impair.Packet) {
	for _, p := range pks {
		if len(d.queue)-d.head >= maxQueued {
			d.counts.Dropped.Add(1)
			d.counts.Overflow.Add(1)
			continue
		}
		if d.dir == Up && d.n.opts.PCAP != nil {
			d.n.opts.PCAP.write(p.In, p.Data)
		}
		d.queue = append(d.queue, p)
	}
}

// deliver injects every queued packet due by now (all of them if all)
// into the receiving stack. A server→client packet goes to the pcap as it
// arrives.
func (d *direction) deliver(now time.Time, all bool) {
	for d.head < len(d.queue) && (all || !d.queue[d.head].At.After(now)) {
		p := d.queue[d.head]
		d.queue[d.head] = impair.Packet{}
		d.head++
		if d.n.trace != nil {
			d.n.trace.arrived(d.dir, p.Index, now)
		}
		if d.dir == Down && d.n.opts.PCAP != nil {
			d.n.opts.PCAP.write(now, p.Data)
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(p.Data)})
		d.to.InjectInbound(ipv4.ProtocolNumber, pkt)
		pkt.DecRef()
		d.counts.Delivered.Add(1)
		if len(d.free) < maxFree {
			d.free = append(d.free, p.Data)
		}
	}
	if d.head == len(d.queue) {
		d.queue, d.head = d.queue[:0], 0
	} else if d.head > 4096 && d.head > len(d.queue)/2 {
		d.queue = append(d.queue[:0], d.queue[d.head:]...)
		d.head = 0
	}
}
