package socketio

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport/internal/wsframe"
)

// A wsGuard watches the WebSocket connections that the Socket.IO library
// upgrades with gorilla. On each connection it hijacks (see Frames), the two
// protocol errors gorilla lets through (see transport/internal/wsframe) are
// answered with close 1002, as netlab's WebSocket server (transport/ws)
// answers them, and a text message that is not UTF-8 (which gorilla does
// not check) with close 1007 (RFC 6455 8.1), and the connection is closed.
// And when the library closes a connection without a close frame (the
// Socket.IO engine always does: on a ping timeout, a socket disconnected
// by the server, the server shutting down), the guard sends one first, as
// RFC 6455 7.1.1 and 7.1.2 ask: one with no status code, as Node's ws does,
// or, after GoingAway, 1001 "server shutting down"; then it waits for the
// client's close frame in answer before it closes the TCP connection, as
// 7.1.2 asks ("once an endpoint has both sent and received a Close control
// frame"). Everything else passes through unchanged.
//
// gorilla must build its reader on the hijacked connection (any
// Upgrader.ReadBufferSize but 0), as the Socket.IO engine's does. The zero
// wsGuard is ready to use; it is safe for concurrent use.
type wsGuard struct {
	// goodbye bounds a goodbye: writing the close frame, then waiting for
	// the client's answer; past it the connection is closed anyway (a
	// client that reads nothing, or never answers). 0: a second. (Node's
	// ws waits 30 s for the answer.)
	goodbye time.Duration

	mu        sync.Mutex
	goingAway bool
	closing   map[*guardConn]bool // connections saying goodbye
}

// Frames returns w for one WebSocket upgrade, its connection watched by g.
func (gd *wsGuard) Frames(w http.ResponseWriter) http.ResponseWriter { return &guardWriter{w, gd} }

// GoingAway makes every connection closed from now on say 1001 (going
// away) "server shutting down": RFC 6455 7.4.1 gives 1001 for "a server
// going down". (Node's ws sends a close frame with no status code there,
// as on every close; netlab says 1001, as its other WebSocket doors do
// when they stop.)
func (gd *wsGuard) GoingAway() {
	gd.mu.Lock()
	gd.goingAway = true
	gd.mu.Unlock()
}

// Wait returns once the connections being closed are closed: each within
// goodbye (a client that reads nothing, or does not answer, is cut off),
// all at once.
func (gd *wsGuard) Wait() {
	gd.mu.Lock()
	var conns []*guardConn
	for g := range gd.closing {
		conns = append(conns, g)
	}
	gd.mu.Unlock()
	for _, g := range conns {
		<-g.gone
	}
}

type guardWriter struct {
	http.ResponseWriter
	guard *wsGuard
}

func (w *guardWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return newGuardConn(nc, w.guard), brw, nil
}

func newGuardConn(nc net.Conn, gd *wsGuard) *guardConn {
	g := &guardConn{Conn: nc, guard: gd, gone: make(chan struct{})}
	g.in.OnHeader, g.in.OnPayload = g.header, g.payload
	g.out.OnHeader = func(head []byte, _ uint64) {
		if head[0]&0x0f == websocket.CloseMessage {
			g.sentClose = true // gorilla's answer to the client's close frame, or its own 1002 or 1009
		}
	}
	return g
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
	in wsframe.Watch // the client's frames

	// The text message being read, checked for UTF-8 as it goes by.
	inText  bool    // a text message is open (its first frame came, its last not yet)
	textNow bool    // the current frame is part of it
	fin     bool    // the current frame ends its message
	key     [4]byte // the current frame's masking key
	size    uint64  // the current frame's payload length
	carry   []byte  // the start of a character the next piece ends
	badText bool

	wmu       sync.Mutex
	handshook bool          // the 101 response is written (gorilla writes it whole, in one Write)
	out       wsframe.Watch // the server's frames written so far
	sentClose bool          // one of them was a close frame
	closing   bool          // the guard's close frame is sent, or waits in pending
	pending   []byte        // the close frame, until the frame being written ends
	answer    bool          // after the close frame, wait for the client's (a goodbye, not a refusal)
	gotClose  bool          // the client's close frame has come

	guard    *wsGuard
	shutOnce sync.Once
	gone     chan struct{} // closed once the connection is
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	g.in.Feed(p[:n])
	switch {
	case g.in.BadLength:
		g.refuse("64-bit payload length with the most significant bit set")
	case g.in.ShortClose:
		g.refuse("close frame with a 1-byte body")
	case g.badText:
		g.closeWith(websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8", false)
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
	if op == websocket.CloseMessage {
		g.closeCame()
	}
	switch op {
	case websocket.TextMessage:
		g.inText, g.carry = true, g.carry[:0]
	case websocket.BinaryMessage:
		g.inText = false
	}
	g.textNow = g.inText && (op == websocket.TextMessage || op == 0)
	g.key = [4]byte{}
	if head[1]&0x80 != 0 { // masked (gorilla refuses an unmasked frame anyway)
		hs := wsframe.HeaderSize(head[1])
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
	g.closeWith(websocket.CloseProtocolError, reason, false)
}

// closeCame is the client's close frame coming: if the guard's goodbye is
// sent and waits for it, the closing handshake is done.
func (g *guardConn) closeCame() {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.gotClose = true
	if g.answer && g.closing && g.pending == nil {
		g.shut()
	}
}

// closeWith sends a close frame with code and reason (code 0: a close
// frame with no body, so no status code) between two of the server's
// frames and closes the connection: at once, or, if answer, once the
// client's close frame has come. Past the guard's goodbye (a client that
// reads nothing lets the frame being written hang; one may never answer)
// the connection is closed anyway. Only the first call sends.
//
// A refusal (1002, 1007) does not wait: RFC 6455 7.1.7 has an endpoint that
// fails the connection send a close frame and close it.
func (g *guardConn) closeWith(code int, reason string, answer bool) {
	wait := cmp.Or(g.guard.goodbye, time.Second)
	time.AfterFunc(wait, g.shut) // (set before the lock, which a Write that hangs holds)
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closing {
		return
	}
	g.closing, g.answer = true, answer
	if !g.handshook || g.sentClose {
		g.shut() // no WebSocket yet, or the server's close frame is sent
		return
	}
	body := []byte{} // no status code
	if code != 0 {
		body = websocket.FormatCloseMessage(code, reason)
	}
	g.pending = append([]byte{0x88, byte(len(body))}, body...)
	if g.out.Between() {
		g.sendPending()
	}
}

// sendPending writes the close frame and closes, or leaves the closing to
// the client's answer (closeCame) or the goodbye timer. Call with wmu held.
func (g *guardConn) sendPending() {
	g.Conn.SetWriteDeadline(time.Now().Add(cmp.Or(g.guard.goodbye, time.Second)))
	_, err := g.Conn.Write(g.pending)
	g.pending = nil
	if !g.answer || g.gotClose || err != nil {
		g.shut()
	}
}

// shut closes the connection (the first call does).
func (g *guardConn) shut() {
	g.shutOnce.Do(func() {
		g.Conn.Close()
		close(g.gone)
		g.guard.mu.Lock()
		delete(g.guard.closing, g)
		g.guard.mu.Unlock()
	})
}

// Close is the library closing the connection: the guard sends a close
// frame first, unless one was sent (gorilla answers the client's close
// frame with one), with no status code, or 1001 after GoingAway, and the
// connection is closed once the client's close frame comes (the library's
// reader is still reading: it reads it), or after goodbye. Close returns
// at once, the goodbye said on a goroutine of its own, because the library
// closes its sessions one after another and a client that reads nothing
// would hold up the others.
func (g *guardConn) Close() error {
	code, reason := 0, ""
	g.guard.mu.Lock()
	if g.guard.goingAway {
		code, reason = websocket.CloseGoingAway, "server shutting down"
	}
	select {
	case <-g.gone:
	default:
		if g.guard.closing == nil {
			g.guard.closing = map[*guardConn]bool{}
		}
		g.guard.closing[g] = true
	}
	g.guard.mu.Unlock()
	go g.closeWith(code, reason, true)
	return nil
}

func (g *guardConn) Write(p []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closing && g.pending == nil {
		return 0, net.ErrClosed
	}
	n, err := g.Conn.Write(p)
	if w := p[:n]; g.handshook {
		g.out.Feed(w)
	} else if i := bytes.Index(w, []byte("\r\n\r\n")); i >= 0 {
		g.handshook = true
		g.out.Feed(w[i+4:])
	}
	if g.pending != nil && g.out.Between() {
		g.sendPending()
	}
	return n, err
}
