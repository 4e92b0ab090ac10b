package layers

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/simwire"
)

// WriteText prints the result for people: the packet beside the two models
// and layer by layer, or the captured echo.
func (r *Result) WriteText(w io.Writer) error {
	if r.Capture != nil {
		return writeCapture(w, r.Capture)
	}
	report.Paragraph(w, fmt.Sprintf("One netlab message (%q) over %s, layer by layer, as the client's stack (%s) sent it to the server's (%s) across netlab's simulated wire", r.Message, r.Transport, simwire.ClientAddr, simwire.ServerAddr))
	fmt.Fprintln(w)
	if err := ModelTable(r.Packet, r.Transport).Write(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEach layer wraps the one above it: the frame starts with the outermost header.\n\n")
	if err := WritePacket(w, r.Packet); err != nil {
		return err
	}
	fmt.Fprintln(w)
	what := "handshake, message, echo, teardown"
	switch r.Transport {
	case "udp":
		what = "the datagram and its echo: UDP has no handshake"
	case "ws":
		what = "handshake, HTTP Upgrade and 101, the frame, its echo, close frames, teardown"
	}
	text := fmt.Sprintf("A real packet of a real exchange (%d packets in all: %s); decoded with gopacket.", len(r.Wire.Exchange), what)
	if r.Wire.SYNOptions != "" {
		text += fmt.Sprintf(" The client's SYN offered: %s.", r.Wire.SYNOptions)
	}
	return report.Paragraph(w, text)
}

func writeCapture(w io.Writer, c *Capture) error {
	report.Paragraph(w, fmt.Sprintf("Captured on %s with an AF_PACKET socket: a %s echo of one netlab message, client %s, server %s", c.Interface, c.Transport, c.Client, c.Server))
	fmt.Fprintln(w)
	if err := CaptureTable(c).Write(w); err != nil {
		return err
	}
	if c.Transport != "udp" {
		fmt.Fprintln(w)
		report.Paragraph(w, "seq and ack are relative to each side's initial sequence number, as Wireshark shows them; window is the raw field: in SYNs it is bytes, afterwards it is multiplied by 2^(window scale).")
	}
	report.Paragraph(w, fmt.Sprintf("Every packet on lo is delivered to a capture twice (leaving and arriving); a socket filter kept only the arriving copy, as tcpdump does. %d other packets on lo were ignored.", c.OtherSeen))
	if c.Dropped > 0 {
		report.Paragraph(w, fmt.Sprintf("The kernel dropped %d packets from the capture buffer: some rows may be missing.", c.Dropped))
	}
	if c.Data != nil {
		fmt.Fprintf(w, "\nPacket %d, the client's message, layer by layer as captured:\n\n", c.DataIndex+1)
		return WritePacket(w, c.Data)
	}
	return nil
}

// modelRow places a layer in both models.
type modelRow struct {
	osi   string
	tcpip string
	what  func(p *Packet) (string, string) // netlab's bytes at this layer, size
}

func layerNamed(p *Packet, osi int) *Layer {
	for i := range p.Layers {
		if p.Layers[i].OSI == osi {
			return &p.Layers[i]
		}
	}
	return nil
}

// ModelTable places each layer of p in the OSI (7 layers) and TCP/IP (4
// layers) models, top of the stack first.
func ModelTable(p *Packet, transport string) *report.Table {
	t := &report.Table{Header: []string{"OSI model", "TCP/IP model", "in this packet", "bytes"},
		Columns: []report.Column{{}, {Align: report.AlignLeft}, {Align: report.AlignLeft, Fold: true}, {}}}
	size := func(osi int) (string, string) {
		if l := layerNamed(p, osi); l != nil {
			return l.Name, fmt.Sprintf("%d B", l.Len)
		}
		return "–", "–"
	}
	name, n := size(7)
	t.Row("7 application", "application", name, n)
	pres := "UTF-8 JSON text (no header of its own)"
	if transport == "ws" {
		pres = "UTF-8 JSON text, masked by the frame (no header of its own)"
	}
	t.Row("6 presentation", "  (application)", pres, "–")
	// Nothing on the wire marks OSI layer 5: the TCP connection's state
	// (ports, sequence numbers) is layer 4, in the TCP header.
	sess := "nothing (the TCP connection itself is layer 4)"
	if transport == "udp" {
		sess = "nothing (and UDP has no connection)"
	}
	if transport == "ws" {
		sess = "nothing (a WebSocket is application data on TCP)"
	}
	t.Row("5 session", "  (application)", sess, "–")
	name, n = size(4)
	t.Row("4 transport", "transport", name, n)
	name, n = size(3)
	t.Row("3 network", "internet", name, n)
	name, n = size(2)
	if layerNamed(p, 2) == nil {
		name = "none: the simulated wire carries bare IP packets"
	}
	t.Row("2 data link", "link", name, n)
	t.Row("1 physical", "  (link)", "none on "+p.Medium+": the packet is handed over in memory", "–")
	t.Row("the whole frame", "", "", fmt.Sprintf("%d B", p.Len))
	return t
}

// WritePacket prints p layer by layer in the order its bytes are sent,
// outermost header first, each field with its offset, bytes and meaning.
func WritePacket(w io.Writer, p *Packet) error {
	var b strings.Builder
	for _, l := range p.Layers {
		for _, line := range report.Wrap(fmt.Sprintf("%s — %d B at offset %d — OSI layer %d (%s), TCP/IP %s layer", l.Name, l.Len, l.Offset, l.OSI, l.OSIName, l.TCPIP), report.DefaultWidth, "", "  ") {
			b.WriteString(line + "\n")
		}
		t := report.Table{Header: []string{"  offset", "bytes", "field", "value"},
			Columns: []report.Column{{Align: report.AlignLeft}, {Align: report.AlignLeft}, {Align: report.AlignLeft}, {Align: report.AlignLeft, Fold: true}}}
		for _, f := range l.Fields {
			hx := f.Hex
			if len(hx) > 30 {
				hx = hx[:27] + "…"
			}
			t.Row(fmt.Sprintf("  %d", f.Offset), hx, f.Name, f.Value)
		}
		if err := t.Write(&b); err != nil {
			return err
		}
		for _, n := range l.Notes {
			for _, line := range report.Wrap(n, report.DefaultWidth, "  note: ", "        ") {
				b.WriteString(line + "\n")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "The whole packet as it crosses %s (what a capture shows):\n", p.Medium)
	for line := range strings.Lines(hex.Dump(p.Bytes)) {
		b.WriteString("  " + line)
	}
	var legend []string
	for _, l := range p.Layers {
		legend = append(legend, fmt.Sprintf("%d-%d %s", l.Offset, l.Offset+l.Len-1, shortName(l.Name)))
	}
	fmt.Fprintf(&b, "  bytes %s\n", strings.Join(legend, ", "))
	_, err := io.WriteString(w, b.String())
	return err
}

func shortName(n string) string {
	n = strings.TrimSuffix(n, " header")
	n = strings.TrimSuffix(n, " (application data)")
	return n
}

// CaptureTable lists the captured packets, one row each.
func CaptureTable(c *Capture) *report.Table {
	left := report.Column{Align: report.AlignLeft}
	t := &report.Table{Header: []string{"#", "time", "direction", "flags", "seq", "ack", "len", "window", "what it is"},
		Columns: []report.Column{{Align: report.AlignRight}, {}, left, left, {}, {}, {}, {Drop: 1}, {Align: report.AlignLeft, Fold: true}}}
	for i, p := range c.Packets {
		flags, seq, ack, win := p.Flags, fmt.Sprint(p.RelSeq), fmt.Sprint(p.RelAck), fmt.Sprint(p.Window)
		if c.Transport == "udp" {
			flags, seq, ack, win = "(UDP)", "–", "–", "–"
		} else if !strings.Contains(flags, "ACK") {
			ack = "–"
		}
		note := p.Note
		if opts := OptionsSummary(p.Frame); opts != "" && strings.Contains(flags, "SYN") {
			note += "; options: " + opts
		}
		t.Row(fmt.Sprint(i+1), report.Duration(p.At), p.FromPeer, flags, seq, ack, fmt.Sprint(p.Len), win, note)
	}
	return t
}
