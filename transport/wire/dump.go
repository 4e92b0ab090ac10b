package wire

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// hexDump formats up to limit bytes of b as lines of 16 bytes in hex with an
// ASCII column, the way hexdump -C does, plus a note of what was left out.
func hexDump(b []byte, limit int) []string {
	shown := b
	if limit >= 0 && len(shown) > limit {
		shown = shown[:limit]
	}
	var lines []string
	for off := 0; off < len(shown); off += 16 {
		row := shown[off:min(off+16, len(shown))]
		var hx, asc strings.Builder
		for i := 0; i < 16; i++ {
			if i == 8 {
				hx.WriteByte(' ')
			}
			if i < len(row) {
				fmt.Fprintf(&hx, "%02x ", row[i])
				if row[i] >= 0x20 && row[i] < 0x7f {
					asc.WriteByte(row[i])
				} else {
					asc.WriteByte('.')
				}
			} else {
				hx.WriteString("   ")
			}
		}
		lines = append(lines, fmt.Sprintf("%04x  %s |%s|", off, hx.String(), asc.String()))
	}
	if len(shown) < len(b) {
		lines = append(lines, fmt.Sprintf("      … %d more bytes not shown", len(b)-len(shown)))
	}
	return lines
}

// hexBytes formats b as space-separated hex pairs.
func hexBytes(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

// quotePreview quotes up to max bytes of b as a Go string literal, marking a
// cut with an ellipsis after the quote.
func quotePreview(b []byte, max int) string {
	cut := len(b) > max
	if cut {
		b = b[:max]
		// do not split a UTF-8 sequence at the cut
		for len(b) > 0 && !utf8.Valid(b) && len(b) > max-4 {
			b = b[:len(b)-1]
		}
	}
	q := strconv.Quote(string(b))
	if cut {
		q += "…"
	}
	return q
}

// plural returns "1 request" or "2 requests".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}
