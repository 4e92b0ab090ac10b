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

// styles is the one table of transports: the order is the order of netlab's
// tables (raw sockets, then HTTP from the most chatty to the least, then
// what issues add), the colours Okabe and Ito's palette, which stays
// distinct for readers with a colour-vision deficiency and on a projector.
var styles = []Style{
	{"tcp", "tcp", color.RGBA{0x00, 0x72, 0xb2, 0xff}},                          // blue
	{"udp", "udp", color.RGBA{0xe6, 0x9f, 0x00, 0xff}},                          // orange
	{"poll", "poll (short polling)", color.RGBA{0xcc, 0x79, 0xa7, 0xff}},        // reddish purple
	{"longpoll", "longpoll (long polling)", color.RGBA{0x00, 0x9e, 0x73, 0xff}}, // bluish green
	{"ws", "ws (WebSocket)", color.RGBA{0xd5, 0x5e, 0x00, 0xff}},                // vermilion
	{"socketio", "socketio (Socket.IO)", color.RGBA{0x56, 0xb4, 0xe9, 0xff}},    // sky blue
	{"sse", "sse (Server-Sent Events)", color.RGBA{0xb8, 0xa8, 0x00, 0xff}},     // yellow, darkened to read on white
	{"quic", "quic", color.RGBA{0x00, 0x00, 0x00, 0xff}},                        // black
	{"quic-streams", "quic-streams", color.RGBA{0x77, 0x77, 0x77, 0xff}},        // grey
}

// fallback colours for transports the table does not know yet.
var fallback = []color.RGBA{
	{0x99, 0x44, 0x00, 0xff}, {0x44, 0x00, 0x99, 0xff}, {0x00, 0x44, 0x44, 0xff},
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

// rank is name's place in the order (unknown names after the known ones).
func rank(name string) int {
	for i, s := range styles {
		if s.Transport == name {
			return i
		}
	}
	return len(styles)
}

// sortByTransport orders items by their transport's place in the table,
// keeping the order of those with the same rank.
func sortByTransport[T any](items []T, name func(T) string) []T {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int { return rank(name(a)) - rank(name(b)) })
	return out
}
