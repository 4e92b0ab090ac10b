package wire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// QUIC (RFC 9000) encrypts almost everything it sends: a tap can read the
// first byte of each packet, and for a long-header packet its version and
// connection ids, but not what the packet carries. describeQUIC says what
// can be read of a datagram: each QUIC packet in it (a datagram may carry
// several, "coalesced", RFC 9000 §12.2), its kind and size. All of the
// datagram's bytes are Encrypted in its cost: the tap cannot tell the
// application's data from QUIC's frames and the AEAD tag.
//
// A long-header packet names its version, so it is recognised anywhere. A
// short-header packet (1-RTT, after the handshake) has only its first two
// bits to go by, which plain text and netlab's JSON can have too, so it is
// recognised only once the tap has seen a long-header packet (afterLong).
func describeQUIC(b []byte, afterLong bool) (lines []string, long bool, ok bool) {
	for len(b) > 0 {
		desc, n, isLong, ok := quicPacket(b, afterLong)
		if !ok {
			if len(lines) == 0 {
				return nil, false, false
			}
			lines = append(lines, fmt.Sprintf("and %d B the tap cannot read as a QUIC packet", len(b)))
			break
		}
		long = long || isLong
		lines = append(lines, desc)
		b = b[n:]
	}
	if len(lines) > 1 {
		lines = append(lines, fmt.Sprintf("(%d QUIC packets in one datagram: coalesced, RFC 9000 §12.2)", len(lines)))
	}
	return lines, long, true
}

// The long-header packet types of QUIC version 1 (RFC 9000 §17.2), from
// bits 0x30 of the first byte (header protection leaves them readable).
var quicLongTypes = [4]string{"Initial", "0-RTT", "Handshake", "Retry"}

// quicPacket describes the QUIC packet at the start of b and says how many
// bytes it takes.
func quicPacket(b []byte, afterLong bool) (desc string, n int, long, ok bool) {
	if len(b) == 0 {
		return "", 0, false, false
	}
	if b[0]&0x80 == 0 { // short header: 1-RTT, to the end of the datagram
		if !afterLong || b[0]&0x40 == 0 || json.Valid(b) {
			return "", 0, false, false // (netlab's JSON starts with '{', 0x7b: bits 01)
		}
		return fmt.Sprintf("QUIC 1-RTT packet (short header), %d B: encrypted", len(b)), len(b), false, true
	}
	// Long header: first byte, version, then each connection id with its length.
	if len(b) < 7 {
		return "", 0, false, false
	}
	version := binary.BigEndian.Uint32(b[1:5])
	if version != 0 && b[0]&0x40 == 0 {
		return "", 0, false, false // the fixed bit is 1 in every packet but Version Negotiation
	}
	i := 5
	dcid, ok := quicCID(b, &i)
	if !ok {
		return "", 0, false, false
	}
	scid, ok := quicCID(b, &i)
	if !ok {
		return "", 0, false, false
	}
	ids := fmt.Sprintf("dcid %s, scid %s", dcid, scid)
	if version == 0 {
		if (len(b)-i)%4 != 0 || len(b) == i {
			return "", 0, false, false
		}
		var vs []string
		for j := i; j < len(b); j += 4 {
			vs = append(vs, fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(b[j:j+4])))
		}
		return fmt.Sprintf("QUIC Version Negotiation, %d B, not encrypted (%s): the server speaks %v (RFC 9000 §17.2.1)", len(b), ids, vs), len(b), true, true
	}
	if version != 1 {
		if !afterLong && len(b) < 1200 {
			// Not known to be QUIC: a client's first datagram is at least
			// 1200 bytes (RFC 9000 §14.1), and text can start like this.
			return "", 0, false, false
		}
		return fmt.Sprintf("QUIC long-header packet of version 0x%08x, %d B (%s): a version this tap does not know", version, len(b), ids), len(b), true, true
	}
	kind := quicLongTypes[(b[0]>>4)&3]
	if kind == "Retry" { // a token and an integrity tag, to the end of the datagram
		return fmt.Sprintf("QUIC v1 Retry packet, %d B (%s): the server asks the client to prove its address", len(b), ids), len(b), true, true
	}
	if kind == "Initial" { // a token, with its length, before the packet's length
		tl, ok := quicVarint(b, &i)
		if !ok || uint64(len(b)-i) < tl {
			return "", 0, false, false
		}
		i += int(tl)
	}
	length, ok := quicVarint(b, &i)
	if !ok || uint64(len(b)-i) < length {
		return "", 0, false, false
	}
	n = i + int(length)
	how := "encrypted"
	if kind == "Initial" {
		// RFC 9001 §5.2: Initial keys come from the client's first dcid
		// and a published salt: they keep off those who cannot see the
		// packets, not a reader on the path.
		how = "encrypted with keys anyone can derive from the client's first dcid (RFC 9001 §5.2); the tap does not decrypt"
	}
	return fmt.Sprintf("QUIC v1 %s packet (long header), %d B (%s): %s", kind, n, ids, how), n, true, true
}

// quicCID reads a connection id (a length byte, up to 20 bytes, RFC 9000
// §17.2) at b[*i] and shows it in hex.
func quicCID(b []byte, i *int) (string, bool) {
	if *i >= len(b) {
		return "", false
	}
	l := int(b[*i])
	*i++
	if l > 20 || len(b)-*i < l {
		return "", false
	}
	id := b[*i : *i+l]
	*i += l
	if l == 0 {
		return "(empty)", true
	}
	return fmt.Sprintf("%x", id), true
}

// quicVarint reads a variable-length integer (RFC 9000 §16) at b[*i]: the
// first byte's top two bits give its length, 1, 2, 4 or 8 bytes.
func quicVarint(b []byte, i *int) (uint64, bool) {
	if *i >= len(b) {
		return 0, false
	}
	l := 1 << (b[*i] >> 6)
	if len(b)-*i < l {
		return 0, false
	}
	v := uint64(b[*i] & 0x3f)
	for j := 1; j < l; j++ {
		v = v<<8 | uint64(b[*i+j])
	}
	*i += l
	return v, true
}
