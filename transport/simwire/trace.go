package simwire

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// A Packet is one packet the wire carried, as the trace keeps it: when it
// was sent and arrived, and its IP and TCP (or UDP) header fields.
type Packet struct {
	Dir   Dir
	Index uint64 // its number on its direction, from 0: what --seed picks
	// Sent is when it entered the wire and Arrived when it reached the
	// other stack (the first copy), both since the network started;
	// Arrived is -1 when it never did (the wire dropped it).
	Sent, Arrived time.Duration
	Copies        int    // deliveries: 0 dropped, 2 duplicated
	Size          int    // bytes of the IP packet
	Proto         string // "tcp", "udp" or the protocol number
	SrcPort       uint16
	DstPort       uint16
	Fragment      bool // an IPv4 fragment after the first

	// TCP only.
	Flags   string // "SYN", "SYN,ACK", "ACK", "PSH,ACK", "FIN,ACK", "RST"
	Seq     uint32
	Ack     uint32
	Len     int    // TCP payload bytes
	Window  uint16 // as sent, before window scaling
	SACK    [][2]uint32
	Options string // a SYN's options: "mss 1460, wscale 7, sackOK, ts"
}

// Dropped reports whether the wire dropped the packet (every copy).
func (p Packet) Dropped() bool { return p.Copies == 0 }

// A tracer keeps the first packets of each direction, indexed as the
// pipeline numbers them.
type tracer struct {
	mu    sync.Mutex
	start time.Time
	limit int
	kept  int
	dirs  [2][]Packet
}

func newTracer(start time.Time, limit int) *tracer { return &tracer{start: start, limit: limit} }

func (t *tracer) sent(dir Dir, index uint64, at time.Time, b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.kept >= t.limit || index != uint64(len(t.dirs[dir])) {
		return
	}
	p := parsePacket(b)
	p.Dir, p.Index, p.Sent, p.Arrived = dir, index, at.Sub(t.start), -1
	t.dirs[dir] = append(t.dirs[dir], p)
	t.kept++
}

func (t *tracer) arrived(dir Dir, index uint64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if index >= uint64(len(t.dirs[dir])) {
		return
	}
	p := &t.dirs[dir][index]
	if p.Copies == 0 {
		p.Arrived = at.Sub(t.start)
	}
	p.Copies++
}

// packets returns both directions merged in the order they were sent.
func (t *tracer) packets() []Packet {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, b := t.dirs[Up], t.dirs[Down]
	out := make([]Packet, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && a[0].Sent <= b[0].Sent) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// Trace returns the packets the network kept (Options.Trace), both
// directions, in the order they were sent.
func (n *Network) Trace() []Packet {
	if n.trace == nil {
		return nil
	}
	return n.trace.packets()
}

// parsePacket reads the headers of an IPv4 packet, as far as they are
// there.
func parsePacket(b []byte) Packet {
	p := Packet{Size: len(b)}
	ip := header.IPv4(b)
	if len(b) < header.IPv4MinimumSize || !ip.IsValid(len(b)) {
		p.Proto = "?"
		return p
	}
	hl := int(ip.HeaderLength())
	payload := b[hl:min(int(ip.TotalLength()), len(b))]
	if ip.FragmentOffset() != 0 {
		p.Fragment = true
	}
	switch ip.Protocol() {
	case uint8(header.TCPProtocolNumber):
		p.Proto = "tcp"
		if p.Fragment || len(payload) < header.TCPMinimumSize {
			return p
		}
		t := header.TCP(payload)
		off := int(t.DataOffset())
		if off < header.TCPMinimumSize || off > len(payload) {
			return p
		}
		p.SrcPort, p.DstPort = t.SourcePort(), t.DestinationPort()
		p.Seq, p.Ack, p.Window = t.SequenceNumber(), t.AckNumber(), t.WindowSize()
		p.Len = len(payload) - off
		p.Flags = flagNames(t.Flags())
		opts := payload[header.TCPMinimumSize:off]
		if t.Flags().Contains(header.TCPFlagSyn) {
			p.Options = synOptions(opts, t.Flags().Contains(header.TCPFlagAck))
		} else {
			for _, s := range header.ParseTCPOptions(opts).SACKBlocks {
				p.SACK = append(p.SACK, [2]uint32{uint32(s.Start), uint32(s.End)})
			}
		}
	case uint8(header.UDPProtocolNumber):
		p.Proto = "udp"
		if !p.Fragment && len(payload) >= header.UDPMinimumSize {
			u := header.UDP(payload)
			p.SrcPort, p.DstPort = u.SourcePort(), u.DestinationPort()
			p.Len = len(payload) - header.UDPMinimumSize
		}
	default:
		p.Proto = fmt.Sprint(ip.Protocol())
	}
	return p
}

func flagNames(f header.TCPFlags) string {
	var out []string
	for _, n := range []struct {
		f    header.TCPFlags
		name string
	}{{header.TCPFlagSyn, "SYN"}, {header.TCPFlagFin, "FIN"}, {header.TCPFlagRst, "RST"},
		{header.TCPFlagPsh, "PSH"}, {header.TCPFlagAck, "ACK"}, {header.TCPFlagUrg, "URG"},
		{header.TCPFlagEce, "ECE"}, {header.TCPFlagCwr, "CWR"}} {
		if f.Contains(n.f) {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, ",")
}

func synOptions(opts []byte, isAck bool) string {
	o := header.ParseSynOptions(opts, isAck)
	var out []string
	out = append(out, fmt.Sprintf("mss %d", o.MSS))
	if o.WS >= 0 {
		out = append(out, fmt.Sprintf("wscale %d", o.WS))
	}
	if o.SACKPermitted {
		out = append(out, "sackOK")
	}
	if o.TS {
		out = append(out, "ts")
	}
	return strings.Join(out, ", ")
}
