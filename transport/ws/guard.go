package ws

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// GuardFrames returns w for a WebSocket upgrade that another library makes
// with gorilla (the Socket.IO engine does): the connection that library
// hijacks answers the two protocol errors gorilla lets through (see
// frameWatch) with close 1002 itself, as this package's server does, and
// is closed. Everything else passes through unchanged.
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
	return &guardConn{Conn: nc}, brw, nil
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
	default:
		return n, err
	}
	return 0, errGuarded
}

// refuse sends close 1002 with reason between two of the server's frames
// and closes the connection.
func (g *guardConn) refuse(reason string) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.refused {
		return
	}
	g.refused = true
	g.pending = make([]byte, 0, 4+len(reason))
	g.pending = append(g.pending, 0x88, byte(2+len(reason)))
	g.pending = append(g.pending, websocket.FormatCloseMessage(websocket.CloseProtocolError, reason)...)
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
