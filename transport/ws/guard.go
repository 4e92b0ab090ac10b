package ws

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// GuardFrames returns w for a WebSocket upgrade that another library makes
// with gorilla (the Socket.IO engine does): the connection that library
// hijacks answers the two protocol errors gorilla lets through (see
// frameWatch) with close 1002 itself, as this package's server does, and a
// text message that is not UTF-8 (which gorilla does not check) with close
// 1007 (RFC 6455 8.1), and is closed. Everything else passes through
// unchanged.
//
// gorilla must build its reader on the hijacked connection (any
// Upgrader.ReadBufferSize but 0), as the Socket.IO engine's does.
func GuardFrames(w http.ResponseWriter) http.ResponseWriter { return &guardWriter{w} }

type guardWriter struct{ http.ResponseWriter }

func (g *guardWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(g.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	gc := &guardConn{Conn: nc}
	gc.in.onHeader, gc.in.onPayload = gc.header, gc.payload
	return gc, brw, nil
}

// errGuarded is what gorilla reads once the guard has refused a frame.
var errGuarded = errors.New("ws: protocol error: closed the connection with 1002")

// guardConn follows the frames both ways: the client's, to see the two
// errors, and the server's, so that its close frame goes between two of
// them and never inside one (gorilla may write a frame's header and its
// payload in two writes). Read is called by one goroutine (the library's
// reader); Write by any, serialized here.
type guardConn struct {
	net.Conn
	in frameWatch // the client's frames (only its state is used)

	// The text message being read, checked for UTF-8 as it goes by.
	inText  bool    // a text message is open (its first frame came, its last not yet)
	textNow bool    // the current frame is part of it
	fin     bool    // the current frame ends its message
	key     [4]byte // the current frame's masking key
	size    uint64  // the current frame's payload length
	carry   []byte  // the start of a character the next piece ends
	badText bool

	wmu       sync.Mutex
	handshook bool       // the 101 response is written (gorilla writes it whole, in one Write)
	out       frameWatch // the server's frames written so far
	refused   bool       // the close frame is sent, or waits in pending
	pending   []byte     // the close frame, until the frame being written ends
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	g.in.watch(p[:n])
	switch {
	case g.in.badLength:
		g.refuse("64-bit payload length with the most significant bit set")
	case g.in.shortClose:
		g.refuse("close frame with a 1-byte body")
	case g.badText:
		g.refuseWith(websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8")
	default:
		return n, err
	}
	return 0, errGuarded
}

// header starts a frame of the client's: a text frame (or a continuation
// of one) is checked as its payload goes by.
func (g *guardConn) header(head []byte, size uint64) {
	op := head[0] & 0x0f
	g.fin = head[0]&0x80 != 0
	switch op {
	case websocket.TextMessage:
		g.inText, g.carry = true, g.carry[:0]
	case websocket.BinaryMessage:
		g.inText = false
	}
	g.textNow = g.inText && (op == websocket.TextMessage || op == 0)
	g.key = [4]byte{}
	if head[1]&0x80 != 0 { // masked (gorilla refuses an unmasked frame anyway)
		hs := headerSize(head[1])
		copy(g.key[:], head[hs-4:hs])
	}
	g.size = size
	if g.textNow && size == 0 {
		g.payload(nil, 0)
	}
}

// payload checks a piece of a text frame: unmasked, what is complete of it
// must be UTF-8; a character cut at its end waits in carry for the next.
func (g *guardConn) payload(b []byte, off uint64) {
	if !g.textNow || g.badText {
		return
	}
	var buf [512]byte
	for len(b) > 0 || (off == g.size && g.fin) {
		k := copy(buf[len(g.carry):], b)
		n := copy(buf[:], g.carry)
		for i := range k {
			buf[n+i] = b[i] ^ g.key[(off+uint64(i))%4]
		}
		data := buf[:n+k]
		b, off = b[k:], off+uint64(k)
		i := 0
		for i < len(data) {
			if data[i] < utf8.RuneSelf {
				i++
				continue
			}
			if !utf8.FullRune(data[i:]) {
				break
			}
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				g.badText = true
				return
			}
			i += size
		}
		g.carry = append(g.carry[:0], data[i:]...)
		if off == g.size && g.fin {
			if len(g.carry) > 0 {
				g.badText = true // the message ends inside a character
			}
			g.inText = false
			return
		}
	}
}

// refuse sends close 1002 with reason between two of the server's frames
// and closes the connection.
func (g *guardConn) refuse(reason string) {
	g.refuseWith(websocket.CloseProtocolError, reason)
}

// refuseWith sends a close frame with code and reason between two of the
// server's frames and closes the connection.
func (g *guardConn) refuseWith(code int, reason string) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.refused {
		return
	}
	g.refused = true
	g.pending = make([]byte, 0, 4+len(reason))
	g.pending = append(g.pending, 0x88, byte(2+len(reason)))
	g.pending = append(g.pending, websocket.FormatCloseMessage(code, reason)...)
	if g.handshook && g.out.n == 0 && g.out.skip == 0 {
		g.sendPending()
		return
	}
	time.AfterFunc(time.Second, func() { g.Conn.Close() }) // a frame the client never lets us finish
}

// sendPending writes the close frame and closes. Call with wmu held.
func (g *guardConn) sendPending() {
	g.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	g.Conn.Write(g.pending)
	g.pending = nil
	g.Conn.Close()
}

func (g *guardConn) Write(p []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.refused && g.pending == nil {
		return 0, net.ErrClosed
	}
	n, err := g.Conn.Write(p)
	if w := p[:n]; g.handshook {
		g.out.watch(w)
	} else if i := bytes.Index(w, []byte("\r\n\r\n")); i >= 0 {
		g.handshook = true
		g.out.watch(w[i+4:])
	}
	if g.pending != nil && g.out.n == 0 && g.out.skip == 0 {
		g.sendPending()
	}
	return n, err
}
