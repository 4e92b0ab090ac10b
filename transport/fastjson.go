package transport

import (
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The wire form is encoded and decoded by hand: encoding/json costs several
// microseconds a message (reflection, a Decoder per call), as much as a
// loopback round trip. The result is byte for byte what encoding/json
// produces with SetEscapeHTML(false), and FuzzDecodeMatchesEncodingJSON
// checks the decoder against encoding/json.

// appendWire appends the JSON object for w.
func appendWire(b []byte, w *wireMessage) []byte {
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	if w.Seq != 0 {
		key("seq")
		b = strconv.AppendUint(b, w.Seq, 10)
	}
	if w.Event != "" {
		key("event")
		b = appendString(b, w.Event)
	}
	if w.Room != "" {
		key("room")
		b = appendString(b, w.Room)
	}
	if w.SentNs != 0 {
		key("sent_ns")
		b = strconv.AppendInt(b, w.SentNs, 10)
	}
	if w.Text != "" {
		key("text")
		b = appendString(b, w.Text)
	}
	if len(w.Data) > 0 {
		key("data")
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, w.Data)
		b = append(b, '"')
	}
	return append(b, '}')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// without HTML escaping: quote, backslash, control characters, invalid
// UTF-8 (as U+FFFD) and U+2028/U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

var errSyntax = errors.New("not a netlab message object")

// parseWire parses the JSON object in b into w. It accepts what
// encoding/json would accept for wireMessage with DisallowUnknownFields,
// except that it returns errSyntax for inputs it does not handle itself
// (the caller then falls back to encoding/json, which decides).
func parseWire(b []byte, w *wireMessage) error {
	p := parser{b: b}
	p.space()
	if !p.eat('{') {
		return errSyntax
	}
	p.space()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return errSyntax
		}
		p.space()
		if !p.eat(':') {
			return errSyntax
		}
		p.space()
		switch k {
		case "seq":
			v, ok := p.uint()
			if !ok {
				return errSyntax
			}
			w.Seq = v
		case "sent_ns":
			v, ok := p.int()
			if !ok {
				return errSyntax
			}
			w.SentNs = v
		case "event", "room", "text":
			v, ok := p.str()
			if !ok {
				return errSyntax
			}
			switch k {
			case "event":
				w.Event = v
			case "room":
				w.Room = v
			default:
				w.Text = v
			}
		case "data":
			v, ok := p.str()
			if !ok {
				return errSyntax
			}
			d, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return errSyntax
			}
			w.Data = d
		default:
			return errSyntax
		}
		p.space()
		if p.eat('}') {
			return p.end()
		}
		if !p.eat(',') {
			return errSyntax
		}
	}
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) end() error {
	p.space()
	if p.i != len(p.b) {
		return errSyntax
	}
	return nil
}

// number returns the digits of a JSON integer (optionally negative), or
// false for anything else (fractions and exponents are left to the
// fallback).
func (p *parser) number() (string, bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || (p.b[digits] == '0' && p.i-digits > 1) {
		return "", false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return "", false
	}
	return string(p.b[start:p.i]), true
}

func (p *parser) uint() (uint64, bool) {
	s, ok := p.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

func (p *parser) int() (int64, bool) {
	s, ok := p.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// str parses a JSON string. Invalid UTF-8 inside it becomes U+FFFD, as
// encoding/json does.
func (p *parser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	// Fast path: no escapes, all ASCII or valid UTF-8.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if utf8.Valid(s) {
				return string(s), true
			}
			return string([]rune(string(s))), true // invalid bytes to U+FFFD
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	// Slow path: escapes.
	out := make([]byte, 0, p.i-start+16)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if utf8.Valid(out) {
				return string(out), true
			}
			return string([]rune(string(out))), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			return "", false
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							p.i = save
						}
					} else {
						return "", false
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
