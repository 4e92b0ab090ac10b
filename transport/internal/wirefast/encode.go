package wirefast

import (
	"strconv"
	"unicode/utf8"

	"github.com/netlab/netlab/transport"
)

// AppendEncode appends exactly what transport.AppendEncode appends, without
// encoding/json's reflection for the common case: strings that need no
// escaping and Data that is valid UTF-8 (a fuzz test checks the bytes are
// identical).
func AppendEncode(b []byte, m transport.Message) []byte {
	if !plain(m.Event) || !plain(m.Room) || !plainBytes(m.Data) {
		return transport.AppendEncode(b, m)
	}
	if need := len(b) + len(m.Event) + len(m.Room) + len(m.Data) + 64; cap(b) < need {
		b = append(make([]byte, 0, need), b...)
	}
	start := len(b)
	b = append(b, '{')
	if m.Seq != 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	if m.Event != "" {
		b = comma(b, start)
		b = append(b, `"event":"`...)
		b = append(b, m.Event...)
		b = append(b, '"')
	}
	if m.Room != "" {
		b = comma(b, start)
		b = append(b, `"room":"`...)
		b = append(b, m.Room...)
		b = append(b, '"')
	}
	if !m.Sent.IsZero() {
		if ns := m.Sent.UnixNano(); ns != 0 {
			b = comma(b, start)
			b = append(b, `"sent_ns":`...)
			b = strconv.AppendInt(b, ns, 10)
		}
	}
	if len(m.Data) > 0 {
		b = comma(b, start)
		b = append(b, `"text":"`...)
		b = append(b, m.Data...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// comma appends a comma unless the object that starts at start is empty.
func comma(b []byte, start int) []byte {
	if len(b) > start+1 {
		return append(b, ',')
	}
	return b
}

// Encode returns the wire form of m, as transport.Encode does.
func Encode(m transport.Message) []byte { return AppendEncode(nil, m) }

func plain(s string) bool { return plainBytes(s) }

// plainBytes reports whether encoding/json would copy s into a string as is:
// valid UTF-8 with no '"', '\\', control characters, U+2028 or U+2029.
func plainBytes[S string | []byte](s S) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

func decodeRune[S string | []byte](s S) (rune, int) {
	return utf8.DecodeRuneInString(string(s)) // no copy: the compiler sees the conversion is only read
}
