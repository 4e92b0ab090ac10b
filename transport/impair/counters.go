package impair

import (
	"fmt"
	"sync/atomic"
)

// Counters count what a link did to the packets of one direction. They are
// updated atomically and may be read while the link runs.
type Counters struct {
	Packets    atomic.Int64 // packets that entered
	Bytes      atomic.Int64 // bytes that entered
	Delivered  atomic.Int64 // packets written out, duplicates included
	Delayed    atomic.Int64 // packets that left later than they entered
	Dropped    atomic.Int64 // packets lost (--loss, --burst, a full queue)
	Duplicated atomic.Int64 // extra copies of packets
	Reordered  atomic.Int64 // packets held back behind a later one
	Cut        atomic.Int64 // packets that met the --cut window (dropped)
	Overflow   atomic.Int64 // packets dropped because the link's queue was full (counted in Dropped too)
}

// Counts is a snapshot of Counters.
type Counts struct {
	Packets    int64 `json:"packets"`
	Bytes      int64 `json:"bytes"`
	Delivered  int64 `json:"delivered"`
	Delayed    int64 `json:"delayed"`
	Dropped    int64 `json:"dropped"`
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
	Cut        int64 `json:"cut"`
	Overflow   int64 `json:"overflow"`
}

// Load returns a snapshot.
func (c *Counters) Load() Counts {
	return Counts{
		Packets: c.Packets.Load(), Bytes: c.Bytes.Load(), Delivered: c.Delivered.Load(),
		Delayed: c.Delayed.Load(), Dropped: c.Dropped.Load(),
		Duplicated: c.Duplicated.Load(), Reordered: c.Reordered.Load(), Cut: c.Cut.Load(), Overflow: c.Overflow.Load(),
	}
}

// Add returns the sum of two snapshots.
func (c Counts) Add(d Counts) Counts {
	return Counts{
		Packets: c.Packets + d.Packets, Bytes: c.Bytes + d.Bytes, Delivered: c.Delivered + d.Delivered,
		Delayed: c.Delayed + d.Delayed, Dropped: c.Dropped + d.Dropped,
		Duplicated: c.Duplicated + d.Duplicated, Reordered: c.Reordered + d.Reordered, Cut: c.Cut + d.Cut,
		Overflow: c.Overflow + d.Overflow,
	}
}

// String is a one-line summary:
// "120 in, 118 out, 120 delayed, 2 dropped, 0 duplicated, 0 reordered, 0 cut".
func (c Counts) String() string {
	return fmt.Sprintf("%d in, %d out, %d delayed, %d dropped, %d duplicated, %d reordered, %d cut",
		c.Packets, c.Delivered, c.Delayed, c.Dropped, c.Duplicated, c.Reordered, c.Cut)
}
