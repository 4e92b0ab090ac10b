package impair

import (
	"time"
)

// Queue limits: a direction stops reading a stream while this many bytes
// wait to leave (the sender then feels TCP's flow control), and drops
// datagrams, as a full router queue does, beyond this many.
const (
	maxQueuedBytes     = 4 << 20
	maxQueuedDatagrams = 4096
)

// flushWait bounds how long forwarding what is held may take at shutdown.
const flushWait = time.Second

// chunk is what a reader hands its direction: bytes and when they arrived.
type chunk struct {
	data []byte
	at   time.Time
}

// A direction carries one way of one connection: chunks arrive on in, go
// through the pipeline and are written by write when they are due. One
// goroutine runs it (the connection's writer); the reader sends on in.
type direction struct {
	pipe   *Pipeline
	mode   Mode
	counts *Counters
	in     <-chan chunk
	write  func([]byte) error
	// flushing is called once before held packets are forwarded at
	// shutdown, to bound their writes (set a write deadline).
	flushing func()
}

// run forwards until in is closed and everything has been written (nil),
// a write fails (its error), or stop is closed: then what is held or
// queued is written at once, not dropped on the floor (toxiproxy's latency
// toxic does the same), and run returns nil.
func (d *direction) run(stop <-chan struct{}) error {
	var (
		queue     []Packet
		queued    int
		heldSince time.Time
		in        = d.in
		timer     = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	enqueue := func(pks []Packet) {
		for _, pk := range pks {
			if d.mode == Datagrams && len(queue) >= maxQueuedDatagrams {
				d.counts.Dropped.Add(1)
				continue
			}
			queue = append(queue, pk)
			queued += len(pk.Data)
		}
	}
	writeDue := func(now time.Time, all bool) error {
		n := 0
		for n < len(queue) && (all || !queue[n].At.After(now)) {
			if err := d.write(queue[n].Data); err != nil {
				return err
			}
			d.counts.Delivered.Add(1)
			queued -= len(queue[n].Data)
			n++
		}
		queue = append(queue[:0], queue[n:]...)
		return nil
	}
	for {
		now := time.Now()
		if err := writeDue(now, false); err != nil {
			return err
		}
		holding := d.pipe.Holding()
		switch {
		case !holding:
			heldSince = time.Time{}
		case heldSince.IsZero():
			heldSince = now
		case now.Sub(heldSince) >= HoldLimit:
			enqueue(d.pipe.Flush(nil, now))
			heldSince = time.Time{}
			continue
		}
		if in == nil && len(queue) == 0 && !holding {
			return nil
		}
		wake := time.Hour
		if len(queue) > 0 {
			wake = queue[0].At.Sub(now)
		}
		if holding {
			wake = min(wake, heldSince.Add(HoldLimit).Sub(now))
		}
		timer.Reset(max(wake, 0))
		recv := in
		if queued >= maxQueuedBytes {
			recv = nil // let the stream's sender feel the backlog
		}
		select {
		case <-stop:
			if d.flushing != nil {
				d.flushing()
			}
			enqueue(d.pipe.Flush(nil, time.Now()))
			_ = writeDue(time.Now(), true)
			return nil
		case c, ok := <-recv:
			if !ok {
				in = nil
				enqueue(d.pipe.Flush(nil, time.Now()))
				continue
			}
			enqueue(d.pipe.Push(nil, c.data, c.at))
		case <-timer.C:
		}
	}
}
