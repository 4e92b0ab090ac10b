package transport

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The wire form is encoded and decoded by hand: encoding/json costs several
// microseconds a message (reflection, a Decoder per call), as much as a
// loopback round trip. The result is byte for byte what encoding/json
// produces with SetEscapeHTML(false), and FuzzDecodeMatchesEncodingJSON
// checks the decoder against encoding/json.

// appendMessage appends the JSON object for m, exactly as encoding/json
// would encode the wireMessage for m.
func appendMessage(b []byte, m *Message) []byte {
	b = append(b, '{')
	start := len(b)
	if m.Seq != 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	if m.Event != "" {
		b = append(comma(b, start), `"event":`...)
		b = appendString(b, m.Event)
	}
	if m.Room != "" {
		b = append(comma(b, start), `"room":`...)
		b = appendString(b, m.Room)
	}
	if !m.Sent.IsZero() {
		if ns := m.Sent.UnixNano(); ns != 0 {
			b = append(comma(b, start), `"sent_ns":`...)
			b = strconv.AppendInt(b, ns, 10)
		}
	}
	if len(m.Data) > 0 {
		if utf8.Valid(m.Data) {
			b = append(comma(b, start), `"text":`...)
			b = appendString(b, m.Data)
		} else {
			b = append(comma(b, start), `"data":"`...)
			b = base64.StdEncoding.AppendEncode(b, m.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

// comma appends a comma unless nothing was written since start.
func comma(b []byte, start int) []byte {
	if len(b) > start {
		return append(b, ',')
	}
	return b
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// without HTML escaping: quote, backslash, control characters, invalid
// UTF-8 (as U+FFFD) and U+2028/U+2029.
func appendString[S string | []byte](b []byte, s S) []byte {
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
		r, size := utf8.DecodeRuneInString(string(s[i:])) // no copy: the conversion is only read
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

var (
	errSyntax = errors.New("not a netlab message object")
	errBoth   = fmt.Errorf("%w: both text and data set", ErrMalformed)
)

// parseMessage parses the JSON object in b into m. It accepts only what
// encoding/json accepts for wireMessage with DisallowUnknownFields, with the
// same result; on anything it does not handle itself (keys in another
// case, fractions, null, errors) it returns errSyntax and the caller lets
// encoding/json decide.
func parseMessage(b []byte, m *Message) error {
	p := parser{b: b}
	var text, data []byte
	hasData := false
	p.space()
	if !p.eat('{') {
		return errSyntax
	}
	p.space()
	if !p.eat('}') {
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
			switch string(k) {
			case "seq":
				if m.Seq, ok = p.uint(); !ok {
					return errSyntax
				}
			case "sent_ns":
				ns, ok := p.int()
				if !ok {
					return errSyntax
				}
				m.Sent = time.Time{}
				if ns != 0 {
					m.Sent = time.Unix(0, ns)
				}
			case "event", "room":
				v, ok := p.str()
				if !ok {
					return errSyntax
				}
				if string(k) == "event" {
					m.Event = string(v)
				} else {
					m.Room = string(v)
				}
			case "text":
				if text, ok = p.str(); !ok {
					return errSyntax
				}
			case "data":
				v, ok := p.str()
				if !ok {
					return errSyntax
				}
				d, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(v))), v)
				if err != nil {
					return errSyntax
				}
				data, hasData = d, true
			default:
				return errSyntax
			}
			p.space()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return errSyntax
			}
		}
	}
	if err := p.end(); err != nil {
		return err
	}
	if len(text) > 0 && hasData {
		return errBoth
	}
	switch {
	case len(text) > 0:
		m.Data = bytes.Clone(text)
	case hasData:
		m.Data = data
	}
	return nil
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

// number returns the sign and digits of a JSON integer, or false for
// anything else (fractions and exponents are left to the fallback).
func (p *parser) number() (neg bool, digits []byte, ok bool) {
	if p.i < len(p.b) && p.b[p.i] == '-' {
		neg = true
		p.i++
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == start || (p.b[start] == '0' && p.i-start > 1) {
		return false, nil, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return false, nil, false
	}
	return neg, p.b[start:p.i], true
}

// magnitude converts decimal digits to a uint64, or false on overflow.
func magnitude(digits []byte) (uint64, bool) {
	var v uint64
	for _, c := range digits {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func (p *parser) uint() (uint64, bool) {
	neg, digits, ok := p.number()
	if !ok {
		return 0, false
	}
	if neg { // encoding/json refuses any sign on an unsigned field, "-0" too
		return 0, false
	}
	return magnitude(digits)
}

func (p *parser) int() (int64, bool) {
	neg, digits, ok := p.number()
	if !ok {
		return 0, false
	}
	v, ok := magnitude(digits)
	switch {
	case !ok:
		return 0, false
	case neg && v <= 1<<63:
		return int64(-v), true // -v wraps to the right value, including -2^63
	case !neg && v <= math.MaxInt64:
		return int64(v), true
	}
	return 0, false
}

// str parses a JSON string and returns its bytes: a view into the input
// when there are no escapes, else a new buffer. Invalid UTF-8 inside it
// becomes U+FFFD, as encoding/json does.
func (p *parser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) { // fast path: no escapes
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			return validUTF8(s), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	out := make([]byte, 0, p.i-start+16)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return validUTF8(out), true
		case c < 0x20:
			return nil, false
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			return nil, false
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
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					lo, ok := p.hex4()
					if !ok {
						return nil, false
					}
					if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
						r2 = d
					} else {
						p.i = save
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

// validUTF8 returns s, or a copy with each invalid byte replaced by U+FFFD.
func validUTF8(s []byte) []byte {
	if utf8.Valid(s) {
		return s
	}
	return []byte(string([]rune(string(s))))
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
