package wire

import (
	"bytes"
	"strings"
	"testing"
)

// quicLong builds a QUIC v1 long-header packet of type typ (0 Initial, 2
// Handshake) with an empty token and body bytes after the length.
func quicLong(typ byte, dcid, scid []byte, body int) []byte {
	b := []byte{0xc0 | typ<<4, 0, 0, 0, 1, byte(len(dcid))}
	b = append(b, dcid...)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	if typ == 0 {
		b = append(b, 0) // token length 0
	}
	b = append(b, 0x40|byte(body>>8), byte(body)) // a 2-byte varint
	return append(b, bytes.Repeat([]byte{0xaa}, body)...)
}

func TestDescribeQUIC(t *testing.T) {
	dcid, scid := []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{9, 9, 9, 9}
	initial := quicLong(0, dcid, scid, 1178) // 22 B of header: 1200 B
	handshake := quicLong(2, scid, dcid, 300)
	short := append([]byte{0x41}, bytes.Repeat([]byte{0xbb}, 60)...)
	vn := []byte{0x80, 0, 0, 0, 0, 4, 9, 9, 9, 9, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf}

	cases := []struct {
		name      string
		in        []byte
		afterLong bool
		want      []string // each in order, one line each
	}{
		{"Initial", initial, false, []string{"QUIC v1 Initial packet (long header), 1200 B (dcid 0102030405060708, scid 09090909)"}},
		{"coalesced", append(append([]byte{}, handshake...), short...), true, []string{
			"QUIC v1 Handshake packet (long header), 321 B", "QUIC 1-RTT packet (short header), 61 B", "2 QUIC packets in one datagram"}},
		{"short after the handshake", short, true, []string{"QUIC 1-RTT packet (short header), 61 B: encrypted"}},
		{"Version Negotiation", vn, false, []string{"QUIC Version Negotiation, 27 B, not encrypted", "[0x00000001 0x6b3343cf]"}},
		{"a truncated Initial, then bytes", append(initial[:40:40], 0xc0), false, nil},
	}
	for _, c := range cases {
		lines, _, ok := describeQUIC(c.in, c.afterLong)
		got := strings.Join(lines, "\n")
		if c.want == nil {
			if ok {
				t.Errorf("%s: took it for QUIC: %q", c.name, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not recognised as QUIC", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
	// What is not QUIC stays what it was: netlab's JSON and plain text,
	// even after a QUIC handshake crossed the tap; text that starts with a
	// byte over 0x7f is not taken for a long header.
	for _, notQUIC := range []string{`{"seq":1,"data":"aGk="}`, "hello", "été 2026", "\xc3\xa9t\xc3\xa9 and a much longer line"} {
		for _, after := range []bool{false, true} {
			if lines, _, ok := describeQUIC([]byte(notQUIC), after); ok && (notQUIC[0] == '{' || !after) {
				t.Errorf("%q (afterLong %v) taken for QUIC: %q", notQUIC, after, lines)
			}
		}
	}
}

// Any datagram: describeQUIC never panics, and a packet it accepts never
// claims more bytes than the datagram has.
func FuzzQUIC(f *testing.F) {
	f.Add(quicLong(0, []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{9}, 40), false)
	f.Add([]byte{0x41, 1, 2, 3}, true)
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, false)
	f.Fuzz(func(t *testing.T, datagram []byte, afterLong bool) {
		describeQUIC(datagram, afterLong)
		for b := datagram; len(b) > 0; {
			_, n, _, ok := quicPacket(b, afterLong)
			if !ok {
				break
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("quicPacket claimed %d B of %d", n, len(b))
			}
			b = b[n:]
		}
	})
}
