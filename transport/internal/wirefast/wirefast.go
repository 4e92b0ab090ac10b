// Package wirefast decodes netlab's wire form (transport.Encode) quickly.
//
// transport.Decode goes through encoding/json's Decoder and costs about 4 µs
// for a 64-byte message on this project's machines — more than a loopback
// round trip's worth of netlab overhead. Decode here reads the plain case
// directly: a JSON object whose keys are the wire form's (each at most once),
// whose numbers are plain integers and whose strings hold no escapes and
// valid UTF-8. Anything else, and every error, goes to transport.Decode, so
// the result is always exactly what transport.Decode returns (a fuzz test
// checks that).
package wirefast

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/netlab/netlab/transport"
)

// Decode returns what transport.Decode(b) returns, faster for the common
// shapes.
func Decode(b []byte) (transport.Message, error) {
	if m, ok := fast(b); ok {
		return m, nil
	}
	return transport.Decode(b)
}

// fast parses the plain case; ok is false when transport.Decode must decide.
func fast(b []byte) (m transport.Message, ok bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return m, false
	}
	p := b[1 : len(b)-1]
	if len(p) == 0 {
		return m, true // {}
	}
	var seen [5]bool
	var text []byte
	for {
		key, rest, ok := str(p)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return m, false
		}
		p = rest[1:]
		var k int
		switch string(key) {
		case "seq":
			k = 0
			n, rest, ok := uint64Num(p)
			if !ok {
				return m, false
			}
			m.Seq, p = n, rest
		case "event":
			k = 1
			s, rest, ok := str(p)
			if !ok {
				return m, false
			}
			m.Event, p = string(s), rest
		case "room":
			k = 2
			s, rest, ok := str(p)
			if !ok {
				return m, false
			}
			m.Room, p = string(s), rest
		case "sent_ns":
			k = 3
			neg := len(p) > 0 && p[0] == '-'
			if neg {
				p = p[1:]
			}
			n, rest, ok := uint64Num(p)
			if !ok || n > 1<<62 {
				return m, false
			}
			ns := int64(n)
			if neg {
				ns = -ns
			}
			if ns != 0 {
				m.Sent = time.Unix(0, ns)
			}
			p = rest
		case "text":
			k = 4
			s, rest, ok := str(p)
			if !ok {
				return m, false
			}
			text, p = s, rest
		default:
			return m, false // "data" (base64) or a key Decode refuses
		}
		if seen[k] {
			return m, false
		}
		seen[k] = true
		if len(p) == 0 {
			break
		}
		if p[0] != ',' {
			return m, false
		}
		p = p[1:]
	}
	if len(text) > 0 {
		m.Data = bytes.Clone(text)
	}
	return m, true
}

// str reads a JSON string without escapes or control characters, holding
// valid UTF-8, at the start of p.
func str(p []byte) (s, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"':
			s = p[1:i]
			if !utf8.Valid(s) {
				return nil, nil, false
			}
			return s, p[i+1:], true
		case c == '\\' || c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// uint64Num reads a JSON integer (no sign, no leading zero, no fraction or
// exponent) at the start of p.
func uint64Num(p []byte) (n uint64, rest []byte, ok bool) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 || (p[0] == '0' && i > 1) {
		return 0, nil, false
	}
	if i < len(p) && (p[i] == '.' || p[i] == 'e' || p[i] == 'E') {
		return 0, nil, false
	}
	for _, c := range p[:i] {
		n = n*10 + uint64(c-'0')
	}
	return n, p[i:], true
}
