package ws

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// Why a server reads its socket through a frameWatch: gorilla answers almost
// every protocol error a peer can make with the close frame RFC 6455 asks
// for (see doc.go), and reading ends. Two it lets through:
//
//   - a 64-bit payload length with its most significant bit set (5.2: "the
//     most significant bit MUST be 0"): gorilla's length overflows and it
//     returns its read-limit error without sending a close frame;
//   - a close frame whose body is 1 byte (5.5.1: a body, if any, starts
//     with a 2-byte code): gorilla reads it as "no status" and answers with
//     an empty close frame, as if all were well.
//
// Both should get 1002 (protocol error). gorilla does not show us the frame
// headers, so the frameWatch reads them as they go by: it passes every byte
// through unchanged and only raises a flag, which the wire's readError and
// closeFrame look at. It is read only by the read pump (gorilla's reads, and
// the close handler gorilla calls from inside them).

// hijacker hands gorilla the hijacked socket inside a frameWatch
// (Server.ServeHTTP upgrades through it).
type hijacker struct {
	http.ResponseWriter
	watch *frameWatch
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.watch = &frameWatch{Conn: nc}
	return h.watch, brw, nil
}

// frameWatch is the server's socket as gorilla reads it, following the
// frame headers going by.
type frameWatch struct {
	net.Conn
	head       [14]byte // the current frame's header, as far as it arrived
	n          int      // bytes of head filled
	skip       uint64   // payload bytes left in the current frame
	badLength  bool
	shortClose bool

	// onHeader and onPayload, when set, see each frame as it goes by: its
	// header once whole (size is its payload length), then each piece of
	// its payload (off is where the piece starts in it). The server's own
	// read path leaves them nil; a Guard uses them.
	onHeader  func(head []byte, size uint64)
	onPayload func(b []byte, off uint64)
	size      uint64 // the current frame's payload length
}

func (f *frameWatch) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	f.watch(p[:n])
	return n, err
}

// watch follows frame boundaries through b.
func (f *frameWatch) watch(b []byte) {
	for len(b) > 0 {
		if f.skip > 0 {
			k := uint64(len(b))
			if k > f.skip {
				k = f.skip
			}
			if f.onPayload != nil {
				f.onPayload(b[:k], f.size-f.skip)
			}
			f.skip -= k
			b = b[k:]
			continue
		}
		f.head[f.n] = b[0]
		f.n++
		b = b[1:]
		if f.n < 2 || f.n < headerSize(f.head[1]) {
			continue
		}
		var size uint64
		switch l := f.head[1] & 0x7f; l {
		case 126:
			size = uint64(binary.BigEndian.Uint16(f.head[2:]))
		case 127:
			size = binary.BigEndian.Uint64(f.head[2:])
			if size>>63 != 0 {
				f.badLength = true
			}
		default:
			size = uint64(l)
		}
		if f.head[0]&0x0f == websocket.CloseMessage && size == 1 {
			f.shortClose = true
		}
		if f.onHeader != nil {
			f.onHeader(f.head[:f.n], size)
		}
		f.n, f.skip, f.size = 0, size, size
	}
}

// headerSize is the length of a frame header whose second byte is b1.
func headerSize(b1 byte) int {
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
