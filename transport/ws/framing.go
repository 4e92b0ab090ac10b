package ws

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
)

// wire is one WebSocket connection's framing for the pump: one netlab
// message per text frame, read and written with gorilla/websocket.
type wire struct {
	ws    *websocket.Conn
	opts  Options
	idle  time.Duration // no frame for this long: the peer is dead
	watch *frameWatch   // nil on a client
	// deadline is the read deadline set last (read pump only).
	deadline time.Time
	// plainPeer reports whether the peer has sent a plain text frame
	// (wscat, a browser): messages that are only text go back to it plain.
	// Set by the read pump, read by Send.
	plainPeer atomic.Bool
	// binaryPeer reports whether the peer has sent a binary frame (a
	// third-party client sending raw bytes): messages that are only data go
	// back to it as binary frames, the same bytes, as an echo server should.
	binaryPeer atomic.Bool
}

func newWire(wc *websocket.Conn, watch *frameWatch, opts Options) *wire {
	w := &wire{ws: wc, opts: opts, idle: opts.PingInterval + opts.PongTimeout, watch: watch}
	wc.SetReadLimit(opts.ReadLimit)
	// The heartbeat: every frame from the peer (a message, a ping, the pong
	// answering our ping) moves the read deadline; a peer silent for
	// PingInterval+PongTimeout is dead and the read fails.
	w.alive()
	wc.SetPongHandler(func(string) error { w.alive(); return nil })
	ping := wc.PingHandler() // gorilla's: answers with a pong
	wc.SetPingHandler(func(data string) error { w.alive(); return ping(data) })
	wc.SetCloseHandler(w.closeFrame)
	return w
}

// alive moves the read deadline: a frame arrived. Only the read pump calls
// it. The deadline is set a quarter window long (idle*5/4 from now) and
// moved only once less than a whole window is left, which saves a timer
// update per message on a busy connection: a silent peer is cut off between
// one and one and a quarter windows after its last frame.
func (w *wire) alive() {
	now := time.Now()
	if w.deadline.Sub(now) < w.idle {
		w.deadline = now.Add(w.idle + w.idle/4)
		w.ws.SetReadDeadline(w.deadline)
	}
}

// ReadMessage reads one message: a text frame holds its wire form (or plain
// text), a binary frame is Data alone. What the peer gets wrong is answered
// with the RFC 6455 close code, and reading ends.
func (w *wire) ReadMessage() (transport.Message, error) {
	typ, p, err := w.ws.ReadMessage()
	if err != nil {
		return transport.Message{}, w.readError(err)
	}
	w.alive()
	var m transport.Message
	if typ == websocket.BinaryMessage {
		m.Data = p
		w.binaryPeer.Store(true)
	} else {
		if !utf8.Valid(p) {
			return transport.Message{}, w.refuse(websocket.CloseInvalidFramePayloadData, "text frame is not valid UTF-8")
		}
		m, err = transport.Decode(p)
		if err != nil || transport.IsPlainText(p) {
			// Someone typing (wscat, a browser): from now on, messages
			// that are only text go back as plain text. Sticky, so the
			// answer does not depend on what the peer sent last.
			w.plainPeer.Store(true)
		}
		if err != nil {
			return transport.Message{}, fmt.Errorf("ws: recv: %w", err) // the connection stays usable
		}
	}
	if len(m.Data) > w.opts.MaxMessage {
		w.refuse(websocket.CloseMessageTooBig, fmt.Sprintf("message of %d bytes is over the %d-byte limit", len(m.Data), w.opts.MaxMessage))
		return transport.Message{}, fmt.Errorf("ws: recv %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, w.opts.MaxMessage)
	}
	return m, nil
}

// readError turns gorilla's read errors into netlab's: a clean close is
// io.EOF, an over-long frame ErrTooLarge.
func (w *wire) readError(err error) error {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway || ce.Code == websocket.CloseNoStatusReceived):
		if w.watch != nil && w.watch.ShortClose {
			return errors.New("ws: read: close frame with a 1-byte body: closed the connection with 1002")
		}
		return io.EOF
	case errors.Is(err, websocket.ErrReadLimit) && w.watch != nil && w.watch.BadLength:
		// gorilla refuses the length but sends no close frame.
		return w.refuse(websocket.CloseProtocolError, "64-bit payload length with the most significant bit set")
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("ws: read: frame over %d bytes: %w", w.opts.ReadLimit, transport.ErrTooLarge)
	}
	return fmt.Errorf("ws: read: %w", err)
}

// closeFrame answers the peer's close frame (gorilla's default handler
// echoes the code), except that a close frame with a 1-byte body, which
// gorilla reads as "no status", is a protocol error (RFC 6455 5.5.1).
func (w *wire) closeFrame(code int, _ string) error {
	msg := websocket.FormatCloseMessage(code, "")
	if w.watch != nil && w.watch.ShortClose {
		msg = websocket.FormatCloseMessage(websocket.CloseProtocolError, "close frame with a 1-byte body")
	}
	w.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(w.opts.WriteTimeout))
	return nil
}

// refuse sends a close frame with code and returns the error that ends
// reading.
func (w *wire) refuse(code int, text string) error {
	w.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(w.opts.WriteTimeout))
	return fmt.Errorf("ws: read: closed the connection with %d: %s", code, text)
}

// WriteMessage writes m as one text frame (a binary frame of m.Data alone
// to a peer that sends binary frames).
func (w *wire) WriteMessage(m transport.Message, deadline time.Time) error {
	frame, b := websocket.TextMessage, m.Data
	switch {
	case w.binaryPeer.Load() && m.Seq == 0 && m.Event == "" && m.Room == "" && m.Sent.IsZero():
		frame = websocket.BinaryMessage
	case w.plainPeer.Load() && transport.SendsAsPlainText(m, false):
	default:
		b = transport.Encode(m)
	}
	if int64(len(b)) > w.opts.ReadLimit {
		return fmt.Errorf("ws: send: %d-byte frame: %w (read limit %d)", len(b), transport.ErrTooLarge, w.opts.ReadLimit)
	}
	w.ws.SetWriteDeadline(deadline)
	return w.ws.WriteMessage(frame, b)
}

// Ping writes a ping frame.
func (w *wire) Ping(deadline time.Time) error {
	return w.ws.WriteControl(websocket.PingMessage, nil, deadline)
}

// Goodbye sends a close frame; the peer answers with its own (RFC 6455
// 5.5.1), which the read pump reads.
func (w *wire) Goodbye(code int, reason string, deadline time.Time) bool {
	if len(reason) > 120 { // a close frame's reason must fit in 123 bytes
		reason = reason[:120]
	}
	return w.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline) == nil
}

// Close closes the socket.
func (w *wire) Close() error { return w.ws.Close() }
