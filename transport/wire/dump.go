package wire

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// hexDump formats up to limit bytes of b with encoding/hex.Dump (the layout
// of hexdump -C: offset, 16 bytes in hex, the printable ones as ASCII), plus a
// note of what was left out.
func hexDump(b []byte, limit int) []string {
	shown := b
	if limit >= 0 && len(shown) > limit {
		shown = shown[:limit]
	}
	var lines []string
	if len(shown) > 0 {
		lines = strings.Split(strings.TrimSuffix(hex.Dump(shown), "\n"), "\n")
	}
	if len(shown) < len(b) {
		lines = append(lines, fmt.Sprintf("          … %d more bytes not shown", len(b)-len(shown)))
	}
	return lines
}

// hexBytes formats b as space-separated hex pairs.
func hexBytes(b []byte) string { return fmt.Sprintf("% x", b) }

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
