package layers

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ErrCaptureUnavailable is returned when this machine cannot capture
// packets; the error says why.
var ErrCaptureUnavailable = errors.New("packet capture unavailable")

// A Captured packet is one frame seen on the loopback interface.
type Captured struct {
	At       time.Duration `json:"-"`     // since the first packet
	AtUs     float64       `json:"at_us"` // At in microseconds
	FromPeer string        `json:"direction"`
	Summary  string        `json:"summary"` // flags, relative seq/ack, length
	Note     string        `json:"note"`
	Flags    string        `json:"flags,omitempty"`
	RelSeq   uint32        `json:"relative_seq"`
	RelAck   uint32        `json:"relative_ack"`
	Seq      uint32        `json:"seq"`
	Ack      uint32        `json:"ack"`
	Window   uint16        `json:"window"`
	Len      int           `json:"payload_bytes"`
	Frame    []byte        `json:"-"`
	Hex      string        `json:"hex"`
}

// A Capture is what CaptureEcho saw.
type Capture struct {
	Interface string     `json:"interface"`
	Transport string     `json:"transport"`
	Client    string     `json:"client"`
	Server    string     `json:"server"`
	Packets   []Captured `json:"packets"`
	DataIndex int        `json:"data_packet_index"` // the client's message, -1 if not seen
	Data      *Packet    `json:"data_packet"`
	Dropped   uint32     `json:"kernel_dropped"` // packets the socket's buffer overflowed on
	OtherSeen int        `json:"other_packets_ignored"`
}

// describe fills the summaries of a TCP conversation: flags, sequence
// numbers relative to each side's initial sequence number (as Wireshark
// shows them), and what each packet does.
func (c *Capture) describe(clientPort uint16) {
	var isn [2]uint32
	var haveISN [2]bool
	finSeen := [2]bool{}
	for i := range c.Packets {
		p := &c.Packets[i]
		pkt := gopacket.NewPacket(p.Frame, layers.LayerTypeEthernet, gopacket.NoCopy)
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			p.Len = len(u.Payload)
			p.Summary = fmt.Sprintf("UDP %d B", len(u.Payload))
			if p.FromPeer == "client → server" {
				p.Note = "the message: one datagram, no handshake before it"
			} else {
				p.Note = "the echo: one datagram back"
			}
			continue
		}
		t, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue
		}
		side := 1
		if uint16(t.SrcPort) == clientPort {
			side = 0
		}
		if t.SYN && !haveISN[side] {
			isn[side], haveISN[side] = t.Seq, true
		}
		p.Flags = TCPFlags(t)
		p.Seq, p.Ack, p.Window, p.Len = t.Seq, t.Ack, t.Window, len(t.Payload)
		p.RelSeq = t.Seq - isn[side]
		if t.ACK {
			p.RelAck = t.Ack - isn[1-side]
		}
		switch {
		case t.SYN && !t.ACK:
			p.Note = fmt.Sprintf("handshake 1/3: the client opens, its initial sequence number (ISN) is %d", t.Seq)
		case t.SYN && t.ACK:
			p.Note = fmt.Sprintf("handshake 2/3: the server agrees, its ISN is %d; ack = client ISN + 1", t.Seq)
		case t.RST:
			p.Note = "reset: the connection is aborted"
		case t.FIN:
			if !finSeen[1-side] {
				p.Note = "teardown: this side has nothing more to send (FIN)"
			} else {
				p.Note = "teardown: the other side is done too (FIN)"
			}
			finSeen[side] = true
		case len(t.Payload) > 0 && bytes.HasPrefix(t.Payload, []byte("GET ")):
			p.Note = fmt.Sprintf("data: the HTTP Upgrade request, %d B", len(t.Payload))
		case len(t.Payload) > 0 && bytes.HasPrefix(t.Payload, []byte("HTTP/1.1 101")):
			p.Note = fmt.Sprintf("data: 101 Switching Protocols, %d B", len(t.Payload))
		case len(t.Payload) > 1 && c.Transport == "ws":
			p.Note = fmt.Sprintf("data: a WebSocket %s frame, %d B", wsOpName(t.Payload[0]&0xf), len(t.Payload))
		case len(t.Payload) > 0 && side == 0:
			p.Note = fmt.Sprintf("data: the message, %d B", len(t.Payload))
		case len(t.Payload) > 0:
			p.Note = fmt.Sprintf("data: the echo, %d B", len(t.Payload))
		case t.ACK && i == 2 && c.Packets[1].Flags == "SYN, ACK":
			p.Note = "handshake 3/3: the client acknowledges; the connection is open"
		case t.ACK && finSeen[0] && finSeen[1]:
			p.Note = "acknowledges the last FIN: the connection is closed"
		case t.ACK:
			p.Note = "acknowledgment only (no data)"
		}
	}
}

// unavailable wraps a reason in ErrCaptureUnavailable.
func unavailable(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCaptureUnavailable, fmt.Sprintf(format, a...))
}

// OptionsSummary lists a TCP segment's options in a few words.
func OptionsSummary(frame []byte) string {
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	t, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		return ""
	}
	var s []string
	for _, o := range t.Options {
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			if len(o.OptionData) == 2 {
				s = append(s, fmt.Sprintf("MSS %d", uint16(o.OptionData[0])<<8|uint16(o.OptionData[1])))
			}
		case layers.TCPOptionKindWindowScale:
			if len(o.OptionData) == 1 {
				s = append(s, fmt.Sprintf("window scale %d", o.OptionData[0]))
			}
		case layers.TCPOptionKindSACKPermitted:
			s = append(s, "SACK permitted")
		case layers.TCPOptionKindTimestamps:
			s = append(s, "timestamps")
		}
	}
	return strings.Join(s, ", ")
}

func wsOpName(op byte) string {
	switch op {
	case 0x1:
		return "text"
	case 0x2:
		return "binary"
	case 0x8:
		return "close"
	case 0x9:
		return "ping"
	case 0xa:
		return "pong"
	}
	return "continuation"
}
