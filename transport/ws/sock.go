package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
	"time"
)

// sock sits between gorilla/websocket and the socket. It lets Recv read the
// socket itself (no hand-off from a reader goroutine, which costs a wake-up
// per message) while a cancelled ctx still interrupts it safely:
//
//   - The reader fills sock's buffer from the socket until a whole message
//     (with any control frames before it) is there, and only then asks
//     gorilla for it. A read deadline that interrupts the wait (ctx done, or
//     a Recv taking over from the background reader) interrupts sock, never
//     gorilla, whose read errors are permanent; nothing is lost.
//   - sock gives gorilla at most the rest of the current frame per Read, so
//     gorilla's own buffer never holds bytes of a message nobody asked for:
//     after each message, everything not yet read is in sock's buffer.
//
// A client's sock starts in handshake mode: it hands gorilla the HTTP
// response up to its blank line only, so frames the server sends right
// behind its 101 stay in sock's buffer too.
type sock struct {
	net.Conn
	server bool  // frames from the peer are masked
	limit  int64 // the read limit: bigger data goes to gorilla, which refuses it

	buf  []byte // buf[r:w] came from the socket and is not yet gorilla's
	r, w int
	err  error // the read error to give gorilla once buf is empty
	got  bool  // bytes arrived since the heartbeat last looked

	mode    int
	hsMatch int    // handshake mode: bytes of "\r\n\r\n" matched so far
	status  []byte // handshake mode: the start of the status line
	left    int64  // frame mode: bytes of the current frame gorilla has not had

	wdl time.Time // the socket's write deadline (gorilla serializes writes)
}

const (
	sockFrames    = iota // hand gorilla one frame at a time
	sockHandshake        // client: hand gorilla the HTTP response header only
	sockRaw              // no WebSocket frames follow (a refused handshake)
)

// sockBuffer is the size sock's buffer starts at, small because every idle
// connection holds one; it doubles when a read fills it, and a buffer
// bigger than sockKeep is dropped once everything in it is read.
const (
	sockBuffer = 1024
	sockKeep   = 16 << 10
)

func newSock(c net.Conn, server bool, limit int64, mode int) *sock {
	return &sock{Conn: c, server: server, limit: limit, mode: mode}
}

// fill reads once from the socket into buf, making room first.
func (s *sock) fill() error {
	if s.r == s.w {
		s.r, s.w = 0, 0
		if len(s.buf) > sockKeep {
			s.buf = nil // a big message went by: give its buffer back
		}
	}
	if s.buf == nil {
		s.buf = make([]byte, sockBuffer)
	}
	if s.w == len(s.buf) {
		if s.r > 0 {
			s.w = copy(s.buf, s.buf[s.r:s.w])
			s.r = 0
		} else {
			s.buf = append(s.buf, make([]byte, len(s.buf))...)
		}
	}
	n, err := s.Conn.Read(s.buf[s.w:])
	s.w += n
	if n > 0 {
		s.got = true
	}
	return err
}

// ready reports whether gorilla can be asked for the next message without
// reading the socket: a whole message is buffered, or a close frame, or
// something gorilla refuses as soon as it sees the header. Past twice the
// read limit (a message in very many fragments) it also says yes and lets
// gorilla read the rest itself; an interrupt then breaks the connection.
func (s *sock) ready() bool {
	if s.mode != sockFrames || s.left != 0 || int64(s.w-s.r) > 2*s.limit+sockBuffer {
		return true
	}
	b := s.buf[s.r:s.w]
	var data int64
	for {
		h, n, ok := frameSize(b)
		if !ok {
			return false
		}
		fin, op, masked := b[0]&0x80 != 0, b[0]&0x0f, b[1]&0x80 != 0
		switch {
		case b[0]&0x70 != 0, masked != s.server, n < 0:
			return true // reserved bits, wrong masking, bad length: refused
		case op <= 2: // continuation, text, binary
			if data += n; data > s.limit {
				return true
			}
		case op >= 8 && op <= 10: // close, ping, pong
			if !fin || n > 125 {
				return true
			}
		default:
			return true // unknown opcode
		}
		if int64(len(b)-h) < n {
			return false
		}
		if op == 8 || (op <= 2 && fin) {
			return true
		}
		b = b[int64(h)+n:]
	}
}

// control takes a whole ping or pong frame off the front of the buffer
// (between messages, where gorilla need not see it) and returns its opcode
// and unmasked payload; ok is false when the buffer does not start with one.
// Frames gorilla would refuse are left for gorilla.
func (s *sock) control() (op byte, payload []byte, ok bool) {
	if s.mode != sockFrames || s.left != 0 {
		return 0, nil, false
	}
	b := s.buf[s.r:s.w]
	h, n, ok := frameSize(b)
	if !ok || b[0] != 0x80|9 && b[0] != 0x80|10 || n > 125 || (b[1]&0x80 != 0) != s.server || len(b)-h < int(n) {
		return 0, nil, false
	}
	payload = bytes.Clone(b[h : h+int(n)])
	if s.server {
		key := b[h-4 : h]
		for i := range payload {
			payload[i] ^= key[i&3]
		}
	}
	s.r += h + int(n)
	return b[0] & 0x0f, payload, true
}

// message takes a whole message off the front of the buffer when it is one
// frame that needs nothing from gorilla: text or binary, final, no reserved
// bits, masked as it must be, within the read limit. The payload is
// unmasked in place and stays valid until the next fill. Anything else is
// left for gorilla.
func (s *sock) message() (op byte, payload []byte, ok bool) {
	if s.mode != sockFrames || s.left != 0 {
		return 0, nil, false
	}
	b := s.buf[s.r:s.w]
	h, n, ok := frameSize(b)
	if !ok || b[0] != 0x80|1 && b[0] != 0x80|2 || (b[1]&0x80 != 0) != s.server ||
		n < 0 || n > s.limit || int64(len(b)-h) < n {
		return 0, nil, false
	}
	payload = b[h : h+int(n)]
	if s.server {
		key := b[h-4 : h]
		for i := range payload {
			payload[i] ^= key[i&3]
		}
	}
	s.r += h + int(n)
	return b[0] & 0x0f, payload, true
}

// frameSize returns the header and payload length of the frame b starts
// with; ok is false until the whole header is in b. A length with the top
// bit set comes back negative.
func frameSize(b []byte) (h int, n int64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	h, n = 2, int64(b[1]&0x7f)
	switch n {
	case 126:
		h = 4
	case 127:
		h = 10
	}
	if b[1]&0x80 != 0 {
		h += 4
	}
	if len(b) < h {
		return 0, 0, false
	}
	switch n {
	case 126:
		n = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n = int64(binary.BigEndian.Uint64(b[2:]))
	}
	return h, n, true
}

// Read gives gorilla buffered bytes, at most to the end of the current frame
// (or of the HTTP response in handshake mode). It reads the socket only when
// gorilla needs bytes that are not buffered, which the reader avoids by
// waiting for ready first.
func (s *sock) Read(p []byte) (int, error) {
	for s.r == s.w {
		if s.err != nil {
			return 0, s.err
		}
		if err := s.fill(); err != nil && s.r == s.w {
			return 0, err
		}
	}
	avail := s.buf[s.r:s.w]
	switch s.mode {
	case sockHandshake:
		for i, c := range avail {
			if len(s.status) < 13 {
				s.status = append(s.status, c)
			}
			switch {
			case c == "\r\n\r\n"[s.hsMatch]:
				s.hsMatch++
			case c == '\r':
				s.hsMatch = 1
			default:
				s.hsMatch = 0
			}
			if s.hsMatch == 4 {
				avail = avail[:i+1]
				s.mode = sockRaw
				if bytes.HasPrefix(s.status, []byte("HTTP/1.1 101 ")) {
					s.mode = sockFrames
				}
				s.status = nil
				break
			}
		}
		n := copy(p, avail)
		s.r += n
		return n, nil
	case sockFrames:
		if s.left == 0 { // a frame starts: learn its size
			for {
				h, n, ok := frameSize(s.buf[s.r:s.w])
				if ok {
					s.left = int64(h) + n
					if s.left < 0 {
						s.left = 1 << 62 // gorilla refuses it after the header
					}
					break
				}
				if err := s.fill(); err != nil {
					if s.r == s.w {
						return 0, err
					}
					s.err = err
					break // give gorilla what there is; it then sees err
				}
			}
			avail = s.buf[s.r:s.w]
		}
		if s.left > 0 && int64(len(avail)) > s.left {
			avail = avail[:s.left]
		}
		n := copy(p, avail)
		s.r += n
		if s.left > 0 {
			s.left -= int64(n)
		}
		return n, nil
	}
	n := copy(p, avail)
	s.r += n
	return n, nil
}

// SetWriteDeadline: gorilla sets the write deadline before every frame, a
// timer update each time, a good part of a loopback round trip. sock moves
// it only when it must, so each write gets at least the time asked for and
// at most a second more.
func (s *sock) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && !s.wdl.IsZero() && !t.After(s.wdl) && s.wdl.Sub(t) <= time.Second {
		return nil
	}
	if !t.IsZero() {
		t = t.Add(time.Second)
	}
	s.wdl = t
	return s.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines exactly.
func (s *sock) SetDeadline(t time.Time) error {
	s.wdl = t
	return s.Conn.SetDeadline(t)
}

// hijacker wraps the server's ResponseWriter so that the connection gorilla
// takes over is a sock.
type hijacker struct {
	http.ResponseWriter
	limit int64
	sk    *sock
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.sk = newSock(nc, true, h.limit, sockFrames)
	return h.sk, brw, nil
}
