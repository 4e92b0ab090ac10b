package layers

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/netlab/netlab/labs/report"
)

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
func ModelTable(p *Packet, transport string) *Grid {
	t := &Grid{Header: []string{"OSI model", "TCP/IP model", "in this packet", "bytes"}, Right: []bool{false, false, false, true}}
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
		fmt.Fprintf(&b, "%s — %d B at offset %d — OSI layer %d (%s), TCP/IP %s layer\n", l.Name, l.Len, l.Offset, l.OSI, l.OSIName, l.TCPIP)
		wName, wHex := len("field"), len("bytes")
		for _, f := range l.Fields {
			wName = max(wName, utf8.RuneCountInString(f.Name))
			wHex = max(wHex, min(len(f.Hex), 48))
		}
		fmt.Fprintf(&b, "  %-6s  %-*s  %-*s  %s\n", "offset", wHex, "bytes", wName, "field", "value")
		for _, f := range l.Fields {
			hx := f.Hex
			if len(hx) > 48 {
				hx = hx[:45] + "…"
			}
			val := f.Value
			if utf8.RuneCountInString(val) > 120 {
				val = string([]rune(val)[:119]) + "…"
			}
			fmt.Fprintf(&b, "  %-6d  %-*s  %-*s  %s\n", f.Offset, wHex, hx, wName, f.Name, val)
		}
		for _, n := range l.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
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
func CaptureTable(c *Capture) *Grid {
	t := &Grid{Header: []string{"#", "time", "direction", "flags", "seq", "ack", "len", "window", "what it is"},
		Right: []bool{true, true, false, false, true, true, true, true, false}}
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

// A Grid is a table with text columns left-aligned and number columns
// right-aligned (report.Table right-aligns every column after the first,
// which suits numbers, not the sentences these tables end with).
type Grid struct {
	Header []string
	Right  []bool
	Rows   [][]string
}

// Row appends a row.
func (g *Grid) Row(cells ...string) { g.Rows = append(g.Rows, cells) }

// Write prints the grid.
func (g *Grid) Write(w io.Writer) error {
	width := make([]int, len(g.Header))
	for _, r := range append([][]string{g.Header}, g.Rows...) {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	line := func(r []string) {
		var l strings.Builder
		for i := range width {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if i < len(g.Right) && g.Right[i] {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(g.Header)
	total := 2 * (len(width) - 1)
	for _, x := range width {
		total += x
	}
	b.WriteString(strings.Repeat("─", total) + "\n")
	for _, r := range g.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
