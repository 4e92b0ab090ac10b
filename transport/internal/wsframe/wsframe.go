// Package wsframe follows WebSocket frames (RFC 6455 §5.2) through a byte
// stream without changing it: where each frame's header starts and ends,
// its payload length, and the two protocol errors gorilla/websocket lets
// through, which netlab's WebSocket doors answer themselves:
//
//   - a 64-bit payload length with its most significant bit set (§5.2:
//     "the most significant bit MUST be 0"): gorilla's length overflows and
//     it returns its read-limit error without sending a close frame;
//   - a close frame whose body is 1 byte (§5.5.1: a body, if any, starts
//     with a 2-byte code): gorilla reads it as "no status" and answers with
//     an empty close frame, as if all were well.
//
// transport/ws reads its server sockets through a Watch; transport/socketio
// watches both directions of the connections its library upgrades.
package wsframe

import (
	"encoding/binary"

	"github.com/gorilla/websocket"
)

// A Watch follows the frames of one direction of a WebSocket. Feed it the
// bytes in order, in pieces of any size. The zero Watch is ready; it is not
// safe for concurrent use.
type Watch struct {
	head [14]byte // the current frame's header, as far as it arrived
	n    int      // bytes of head filled
	skip uint64   // payload bytes left in the current frame
	size uint64   // the current frame's payload length

	// BadLength and ShortClose are set by the first frame with that error
	// (see the package comment).
	BadLength  bool
	ShortClose bool

	// OnHeader and OnPayload, when set, see each frame as it goes by: its
	// header once whole (size is its payload length), then each piece of
	// its payload (off is where the piece starts in it).
	OnHeader  func(head []byte, size uint64)
	OnPayload func(b []byte, off uint64)
}

// Feed follows frame boundaries through b.
func (f *Watch) Feed(b []byte) {
	for len(b) > 0 {
		if f.skip > 0 {
			k := min(uint64(len(b)), f.skip)
			if f.OnPayload != nil {
				f.OnPayload(b[:k], f.size-f.skip)
			}
			f.skip -= k
			b = b[k:]
			continue
		}
		f.head[f.n] = b[0]
		f.n++
		b = b[1:]
		if f.n < 2 || f.n < HeaderSize(f.head[1]) {
			continue
		}
		var size uint64
		switch l := f.head[1] & 0x7f; l {
		case 126:
			size = uint64(binary.BigEndian.Uint16(f.head[2:]))
		case 127:
			size = binary.BigEndian.Uint64(f.head[2:])
			if size>>63 != 0 {
				f.BadLength = true
			}
		default:
			size = uint64(l)
		}
		if f.head[0]&0x0f == websocket.CloseMessage && size == 1 {
			f.ShortClose = true
		}
		if f.OnHeader != nil {
			f.OnHeader(f.head[:f.n], size)
		}
		f.n, f.skip, f.size = 0, size, size
	}
}

// Between reports whether the bytes fed so far end between two frames: a
// frame may be written next without landing inside another.
func (f *Watch) Between() bool { return f.n == 0 && f.skip == 0 }

// State is where the Watch is: header bytes of the next frame seen, and
// payload bytes of the current frame still to come.
func (f *Watch) State() (headerBytes int, payloadLeft uint64) { return f.n, f.skip }

// HeaderSize is the length of a frame header whose second byte is b1.
func HeaderSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}
