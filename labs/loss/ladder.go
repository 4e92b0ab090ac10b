package loss

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/simwire"
)

// WriteLadder prints, for each transport run with Config.Ladder, every
// packet that crossed its wire, in the order they were sent: when it left
// and arrived (or that the wire dropped it), its direction, TCP flags,
// sequence and acknowledgement numbers (relative to each side's first, as
// Wireshark shows them), payload length, window and SACK blocks.
func (res Result) WriteLadder(w io.Writer) error {
	for _, s := range res.Streams {
		if len(s.Packets) == 0 {
			continue
		}
		dropped := 0
		for _, p := range s.Packets {
			if p.Dropped() {
				dropped++
			}
		}
		t := report.Table{
			Title: fmt.Sprintf("%s: %d packets on the wire, %d dropped (times since the link started; "+
				"seq and ack relative to each side's first)", s.Transport, len(s.Packets), dropped),
			Header: []string{"sent", "arrived", "", "flags", "seq", "ack", "len", "win", "SACK blocks / options"},
		}
		rel := relativeSeq{}
		for _, p := range s.Packets {
			arrow := "C ──► S"
			if p.Dir == simwire.Down {
				arrow = "C ◄── S"
			}
			var arrived string
			switch {
			case p.Dropped():
				arrived = "dropped"
			case p.Copies > 1:
				arrived = fmt.Sprintf("+%s ×%d", fmtMs(p.Arrived-p.Sent), p.Copies)
			default:
				arrived = "+" + fmtMs(p.Arrived-p.Sent)
			}
			if p.Proto != "tcp" {
				t.Row(fmtMs(p.Sent), arrived, arrow, strings.ToUpper(p.Proto), "", "", fmt.Sprint(p.Len), "", "")
				continue
			}
			seq, ack := rel.of(p)
			extra := p.Options
			if len(p.SACK) > 0 {
				var bs []string
				for _, b := range p.SACK {
					bs = append(bs, fmt.Sprintf("%d–%d", rel.sack(p, b[0]), rel.sack(p, b[1])))
				}
				extra = strings.Join(bs, " ")
			}
			ackStr := ""
			if strings.Contains(p.Flags, "ACK") {
				ackStr = fmt.Sprint(ack)
			}
			t.Row(fmtMs(p.Sent), arrived, arrow, p.Flags, fmt.Sprint(seq), ackStr, fmt.Sprint(p.Len), fmt.Sprint(p.Window), extra)
		}
		if err := t.Write(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

// fmtMs writes a duration in milliseconds with three decimals: "12.345ms".
func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

// relativeSeq turns absolute sequence numbers into ones relative to each
// connection side's initial sequence number (the SYN's, or the first seen).
type relativeSeq map[[2]uint16]uint32

func (r relativeSeq) base(src, dst uint16, seq uint32) uint32 {
	k := [2]uint16{src, dst}
	b, ok := r[k]
	if !ok {
		b = seq
		r[k] = b
	}
	return b
}

func (r relativeSeq) of(p simwire.Packet) (seq, ack uint32) {
	seq = p.Seq - r.base(p.SrcPort, p.DstPort, p.Seq)
	if b, ok := r[[2]uint16{p.DstPort, p.SrcPort}]; ok {
		ack = p.Ack - b
	} else if strings.Contains(p.Flags, "ACK") {
		// A SYN,ACK acknowledges the client's SYN: its ack is ISN+1.
		r[[2]uint16{p.DstPort, p.SrcPort}] = p.Ack - 1
		ack = 1
	}
	return seq, ack
}

// sack makes a SACK edge (a sequence number of the other side) relative.
func (r relativeSeq) sack(p simwire.Packet, edge uint32) uint32 {
	return edge - r[[2]uint16{p.DstPort, p.SrcPort}]
}
