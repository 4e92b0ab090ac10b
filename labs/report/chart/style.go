package chart

import (
	"image/color"
	"slices"
)

// A Style is how one transport looks in every chart: its colour, its name
// in the legend and its place in the legend's order.
type Style struct {
	Transport string // netlab's name: "tcp", "ws"... (the tables' column heads)
	Label     string // the legend's name: the tables' name, then what it is
	Color     color.RGBA
}

// styles is the one table of transports. The colours are Okabe and Ito's
// palette, which stays distinct for readers with a colour-vision deficiency
// and on a projector, without its black (black and grey are the marks:
// MarkColor, ServerColor), plus a purple and a brown for the two QUIC
// transports. Charts draw transports in the order the run (and so its
// table) had them; the table's order is for names it does not know.
var styles = []Style{
	{"tcp", "tcp", color.RGBA{0x00, 0x72, 0xb2, 0xff}},                          // blue
	{"udp", "udp", color.RGBA{0xe6, 0x9f, 0x00, 0xff}},                          // orange
	{"quic", "quic", color.RGBA{0x6a, 0x3d, 0x9a, 0xff}},                        // purple
	{"quic-streams", "quic-streams", color.RGBA{0x8c, 0x56, 0x4b, 0xff}},        // brown
	{"poll", "poll (short polling)", color.RGBA{0xcc, 0x79, 0xa7, 0xff}},        // reddish purple
	{"longpoll", "longpoll (long polling)", color.RGBA{0x00, 0x9e, 0x73, 0xff}}, // bluish green
	{"sse", "sse (Server-Sent Events)", color.RGBA{0x99, 0x99, 0x33, 0xff}},     // olive (Okabe and Ito's yellow is too pale on white)
	{"ws", "ws (WebSocket)", color.RGBA{0xd5, 0x5e, 0x00, 0xff}},                // vermilion
	{"socketio", "socketio (Socket.IO)", color.RGBA{0x56, 0xb4, 0xe9, 0xff}},    // sky blue
}

// Colours of what is not a transport: marks (a message that never arrived,
// a retransmitted segment, the p50 and p99 glyphs in a legend) are black;
// what the server or the other side did (events produced, ACKs) is grey.
// No transport has either.
var (
	MarkColor   = color.RGBA{0x00, 0x00, 0x00, 0xff}
	ServerColor = color.RGBA{0x88, 0x88, 0x88, 0xff}
)

// fallback colours for transports the table does not know yet.
var fallback = []color.RGBA{
	{0xe7, 0x29, 0x8a, 0xff}, {0x66, 0xcc, 0x00, 0xff}, {0x00, 0x44, 0x44, 0xff},
}

// StyleOf returns the style of transport name; a name the table does not
// know gets a fallback colour and its own name.
func StyleOf(name string) Style {
	for _, s := range styles {
		if s.Transport == name {
			return s
		}
	}
	h := 0
	for _, r := range name {
		h = h*31 + int(r)
	}
	return Style{Transport: name, Label: name, Color: fallback[(h%len(fallback)+len(fallback))%len(fallback)]}
}

// Styles lists the table, in order.
func Styles() []Style { return slices.Clone(styles) }

// sortByTransport returns items in the order the run had them, which is the
// order of its tables' columns, so a chart and the table beside it agree.
// Items of the same transport are kept together, at its first place.
func sortByTransport[T any](items []T, name func(T) string) []T {
	first := map[string]int{}
	for i, it := range items {
		if _, ok := first[name(it)]; !ok {
			first[name(it)] = i
		}
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int { return first[name(a)] - first[name(b)] })
	return out
}
