package socketio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport/internal/countconn"
	"github.com/netlab/netlab/transport/socketio/packet"
)

// The engine is the lower layer of the client (engine.io-client's
// lib/socket.ts): one Engine.IO session. It opens the session over HTTP
// long-polling (or straight over WebSocket), upgrades polling to WebSocket
// with the 2probe/3probe/5 exchange, answers the server's pings, and moves
// Engine.IO packets: the socket layer above queues packets on out and reads
// the message packets that arrive from in.
//
// Over polling, readPump is a loop of GETs (each held by the server until it
// has packets) and writePump POSTs what is queued, several packets joined by
// 0x1e in one body. Over WebSocket they are gorilla's readPump and writePump:
// one frame per packet; only readPump reads, and writes are serialized by
// wmu (writePump writes what is queued; send writes a frame itself when
// nothing is).

// Transport names, as the query's transport= and the JS client's
// transports option spell them.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// errEngineClosed is returned by send after the session ended.
var errEngineClosed = errors.New("socketio: engine.io session closed")

// engineStats counts what crossed the real connections of every session of
// one client, HTTP headers and WebSocket framing included.
type engineStats struct {
	bytes      countconn.Counter
	requests   atomic.Int64 // HTTP requests: polls, posts, the WebSocket handshake
	emptyPolls atomic.Int64 // GETs answered with only a noop
}

type engineConfig struct {
	base       string // http://host:port/socket.io/
	transports []string
	header     http.Header
	stats      *engineStats
	// takeAck, if set, is offered each text message packet on the
	// reading goroutine before it is queued for the socket layer; it
	// reports whether it took the packet (an ACK it answered).
	takeAck func(data []byte) bool
}

type engine struct {
	cfg    engineConfig
	hs     packet.Handshake
	client *http.Client

	out  chan packet.EnginePacket // to writePump
	in   chan packet.EnginePacket // message packets, to the socket layer
	done chan struct{}            // closed when the session ended

	ctx    context.Context // cancelled when the session ends: aborts polls
	cancel context.CancelFunc

	mu        sync.Mutex
	name      string          // current transport
	ws        *websocket.Conn // after the upgrade (or when opened on websocket)
	pause     chan struct{}   // closed to stop the polling pumps for the upgrade
	pollers   sync.WaitGroup  // the polling pumps
	heartbeat *time.Timer

	smu     sync.Mutex   // serializes send: one emit's packets stay together
	wmu     sync.Mutex   // serializes WebSocket writes (gorilla allows one writer)
	wbuf    []byte       // frame buffer, under wmu
	queued  atomic.Int64 // packets queued on out and not yet written
	err     error        // why the session ended
	endOnce sync.Once
}

// openEngine opens a session: a polling handshake (then an upgrade in the
// background if the server offers websocket and cfg allows it), or a
// WebSocket one when websocket is the first transport.
func openEngine(ctx context.Context, cfg engineConfig) (*engine, error) {
	e := &engine{
		cfg:  cfg,
		out:  make(chan packet.EnginePacket, 256),
		in:   make(chan packet.EnginePacket, 256),
		done: make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.client = &http.Client{Transport: &http.Transport{
		DialContext:         e.dial,
		MaxIdleConnsPerHost: 2, // one GET held open and one POST
		// No "Accept-Encoding: gzip": the bodies are counted as sent, as
		// the Node client sends them (a browser accepts gzip, and the
		// server then compresses polling bodies over 1 KB).
		DisableCompression: true,
		IdleConnTimeout:    90 * time.Second,
	}}
	var err error
	if cfg.transports[0] == WebSocket {
		err = e.openWebSocket(ctx)
	} else {
		err = e.openPolling(ctx)
	}
	if err != nil {
		e.end(err)
		return nil, err
	}
	return e, nil
}

// dial opens a TCP connection whose bytes are counted.
func (e *engine) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return countconn.New(c, &e.cfg.stats.bytes), nil
}

func (e *engine) query(transportName string) string {
	q := url.Values{"EIO": {"4"}, "transport": {transportName}}
	if e.hs.SID != "" {
		q.Set("sid", e.hs.SID)
	}
	return q.Encode()
}

// openPolling makes the first GET, whose answer is the open packet.
func (e *engine) openPolling(ctx context.Context) error {
	body, err := e.get(ctx)
	if err != nil {
		return fmt.Errorf("socketio: polling handshake: %w", err)
	}
	ps, err := packet.ParsePayload(body)
	if err != nil || len(ps) == 0 || ps[0].Type != packet.Open {
		return fmt.Errorf("socketio: polling handshake: want an open packet, got %.80q", body)
	}
	if err := e.setHandshake(ps[0].Data); err != nil {
		return err
	}
	e.name = Polling
	e.pause = make(chan struct{})
	e.pollers.Add(2)
	go e.pollReadPump()
	go e.pollWritePump()
	for _, p := range ps[1:] {
		e.handle(p)
	}
	if slices.Contains(e.cfg.transports, WebSocket) && slices.Contains(e.hs.Upgrades, WebSocket) {
		go e.upgrade()
	}
	return nil
}

func (e *engine) setHandshake(data []byte) error {
	if err := json.Unmarshal(data, &e.hs); err != nil || e.hs.SID == "" {
		return fmt.Errorf("socketio: bad open packet %.80q", data)
	}
	if e.hs.MaxPayload <= 0 {
		e.hs.MaxPayload = 1_000_000
	}
	// The server pings every pingInterval; a server silent for
	// pingInterval+pingTimeout is gone.
	e.heartbeat = time.AfterFunc(e.heartbeatWait(), func() { e.end(errors.New("ping timeout")) })
	return nil
}

func (e *engine) heartbeatWait() time.Duration {
	return time.Duration(e.hs.PingInterval+e.hs.PingTimeout) * time.Millisecond
}

// get makes one polling GET and returns its body.
func (e *engine) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.cfg.base+"?"+e.query(Polling), nil)
	if err != nil {
		return nil, err
	}
	return e.do(req)
}

func (e *engine) do(req *http.Request) ([]byte, error) {
	for k, v := range e.cfg.header {
		req.Header[k] = v
	}
	e.cfg.stats.requests.Add(1)
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := int64(2*max(e.hs.MaxPayload, 1_000_000) + 1024)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// pollReadPump GETs until the session ends or the upgrade pauses polling.
// Every packet of a response is handled, the last one before the pause
// included (a 40 that arrives there must not be lost).
func (e *engine) pollReadPump() {
	defer e.pollers.Done()
	for {
		select {
		case <-e.pause:
			return
		default:
		}
		body, err := e.get(e.ctx)
		if err != nil {
			e.end(fmt.Errorf("transport error: %w", err))
			return
		}
		ps, err := packet.ParsePayload(body)
		if err != nil {
			e.end(fmt.Errorf("parse error: %w", err))
			return
		}
		if len(ps) == 1 && ps[0].Type == packet.Noop {
			e.cfg.stats.emptyPolls.Add(1)
		}
		for _, p := range ps {
			e.handle(p)
		}
	}
}

// pollWritePump POSTs what is queued: as many packets as fit in maxPayload
// in one body.
func (e *engine) pollWritePump() {
	defer e.pollers.Done()
	var batch []packet.EnginePacket
	var body []byte
	for {
		select {
		case <-e.pause:
			return
		case <-e.done:
			return
		case p := <-e.out:
			batch = append(batch[:0], p)
		}
		size := wireLen(batch[0])
		// Fill the body with what else is queued, but send a close packet
		// on its own, after the rest (as the JS client does).
		var pending *packet.EnginePacket
	fill:
		for size < e.hs.MaxPayload && batch[0].Type != packet.Close {
			select {
			case p := <-e.out:
				if p.Type == packet.Close {
					pending = &p
					break fill
				}
				batch = append(batch, p)
				size += wireLen(p) + 1
			default:
				break fill
			}
		}
		body = packet.AppendPayload(body[:0], batch)
		req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.cfg.base+"?"+e.query(Polling), bytes.NewReader(body))
		if err != nil {
			e.end(err)
			return
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		_, err = e.do(req)
		e.queued.Add(-int64(len(batch)))
		if err != nil {
			e.end(fmt.Errorf("transport error: %w", err))
			return
		}
		if batch[len(batch)-1].Type == packet.Close {
			e.end(nil)
			return
		}
		if pending != nil {
			e.queued.Add(-1)
			batch = append(batch[:0], *pending)
			body = packet.AppendPayload(body[:0], batch)
			req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.cfg.base+"?"+e.query(Polling), bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
				e.do(req)
			}
			e.end(nil)
			return
		}
	}
}

// wireLen is the length of p in a polling body.
func wireLen(p packet.EnginePacket) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data)) // "b" and base64
	}
	return 1 + len(p.Data)
}

// upgrade probes a WebSocket for the session and, when the server answers
// 3probe, pauses polling (waits for the GET and POST in flight to finish),
// sends 5 and moves both pumps to the WebSocket. If the probe fails the
// session stays on polling.
func (e *engine) upgrade() {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	ws, err := e.dialWebSocket(ctx)
	if err != nil {
		return
	}
	// A session that ends while probing takes the probe with it.
	stop := context.AfterFunc(e.ctx, func() { ws.Close() })
	defer stop()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if ws.WriteMessage(websocket.TextMessage, []byte("2probe")) != nil {
		ws.Close()
		return
	}
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		ws.Close()
		return
	}
	ws.SetReadDeadline(time.Time{})
	e.mu.Lock()
	close(e.pause)
	e.mu.Unlock()
	e.pollers.Wait()
	if ws.WriteMessage(websocket.TextMessage, []byte{byte(packet.Upgrade)}) != nil {
		ws.Close()
		e.end(errors.New("transport error: upgrade failed"))
		return
	}
	e.startWebSocket(ws)
}

func (e *engine) dialWebSocket(ctx context.Context) (*websocket.Conn, error) {
	u := "ws" + e.cfg.base[len("http"):] + "?" + e.query(WebSocket)
	d := websocket.Dialer{NetDialContext: e.dial, HandshakeTimeout: 10 * time.Second}
	e.cfg.stats.requests.Add(1)
	ws, resp, err := d.DialContext(ctx, u, e.cfg.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
		}
		return nil, err
	}
	ws.SetReadLimit(int64(2*max(e.hs.MaxPayload, 1_000_000) + 1024))
	return ws, nil
}

// openWebSocket opens the session on WebSocket directly: the first frame
// is the open packet.
func (e *engine) openWebSocket(ctx context.Context) error {
	ws, err := e.dialWebSocket(ctx)
	if err != nil {
		return fmt.Errorf("socketio: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		ws.SetReadDeadline(dl)
	}
	_, msg, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return fmt.Errorf("socketio: websocket handshake: %w", err)
	}
	p, err := packet.ParseEngine(msg)
	if err != nil || p.Type != packet.Open {
		ws.Close()
		return fmt.Errorf("socketio: websocket handshake: want an open packet, got %.80q", msg)
	}
	ws.SetReadDeadline(time.Time{})
	if err := e.setHandshake(p.Data); err != nil {
		ws.Close()
		return err
	}
	e.startWebSocket(ws)
	return nil
}

func (e *engine) startWebSocket(ws *websocket.Conn) {
	e.mu.Lock()
	e.name, e.ws = WebSocket, ws
	e.mu.Unlock()
	select {
	case <-e.done: // ended while upgrading
		ws.Close()
		return
	default:
	}
	go e.wsReadPump(ws)
	go e.wsWritePump(ws)
}

// wsReadPump reads one packet per frame.
func (e *engine) wsReadPump(ws *websocket.Conn) {
	for {
		kind, msg, err := ws.ReadMessage()
		if err != nil {
			e.end(fmt.Errorf("transport close: %w", err))
			return
		}
		if kind == websocket.BinaryMessage {
			e.handle(packet.EnginePacket{Type: packet.Message, Data: msg, Binary: true})
			continue
		}
		p, err := packet.ParseEngine(msg)
		if err != nil {
			e.end(fmt.Errorf("parse error: %w", err))
			return
		}
		e.handle(p)
	}
}

// wsWritePump writes one frame per packet, what send queued. (When
// nothing is queued, send writes a frame itself: see send.)
func (e *engine) wsWritePump(ws *websocket.Conn) {
	for {
		var p packet.EnginePacket
		select {
		case <-e.done:
			return
		case p = <-e.out:
		}
		if p.Type == packet.Close {
			// Over WebSocket the client closes the socket itself (a close
			// frame, from end) rather than sending a close packet, as the
			// JS client does.
			e.end(nil)
			return
		}
		e.wmu.Lock()
		err := e.writeFrame(ws, p)
		e.queued.Add(-1)
		e.wmu.Unlock()
		if err != nil {
			e.end(fmt.Errorf("transport error: %w", err))
			return
		}
	}
}

// writeFrame writes p as one WebSocket frame; e.wmu is held.
func (e *engine) writeFrame(ws *websocket.Conn, p packet.EnginePacket) error {
	ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if p.Binary {
		return ws.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	e.wbuf = packet.AppendEngine(e.wbuf[:0], p)
	return ws.WriteMessage(websocket.TextMessage, e.wbuf)
}

// handle acts on one packet from the server: a ping is answered with a
// pong (and the heartbeat timer restarts), a message goes up to the socket
// layer, a close ends the session.
func (e *engine) handle(p packet.EnginePacket) {
	switch p.Type {
	case packet.Ping:
		e.heartbeat.Reset(e.heartbeatWait())
		e.send(context.Background(), packet.EnginePacket{Type: packet.Pong, Data: p.Data})
	case packet.Message:
		if !p.Binary && e.cfg.takeAck != nil && e.cfg.takeAck(p.Data) {
			return
		}
		select {
		case e.in <- p:
		case <-e.done:
		}
	case packet.Close:
		e.end(errors.New("transport close"))
	}
}

// send queues ps for writePump, in order and together: the packets of
// one binary event (the event, then its attachments) never have another
// emit's packets between them. Over WebSocket, when nothing is queued, it
// writes the frames itself instead: waking the writer goroutine would cost
// a good part of a loopback round trip for nothing (netlab's ws transport
// does the same). Frames still leave in the order of send.
func (e *engine) send(ctx context.Context, ps ...packet.EnginePacket) error {
	select {
	case <-e.done:
		return errEngineClosed
	default:
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	if ps[0].Type != packet.Close {
		e.wmu.Lock()
		e.mu.Lock()
		ws := e.ws
		e.mu.Unlock()
		if ws != nil && e.queued.Load() == 0 {
			var err error
			for _, p := range ps {
				if err = e.writeFrame(ws, p); err != nil {
					break
				}
			}
			e.wmu.Unlock()
			if err != nil {
				e.end(fmt.Errorf("transport error: %w", err))
				return errEngineClosed
			}
			return nil
		}
		e.wmu.Unlock()
	}
	for i, p := range ps {
		e.queued.Add(1)
		// Once the first packet is queued the rest must follow it (an
		// event without its attachments would leave the server waiting
		// for them), so only the first one gives up when ctx ends.
		cancel := ctx.Done()
		if i > 0 {
			cancel = nil
		}
		select {
		case e.out <- p:
		case <-cancel:
			e.queued.Add(-1)
			return ctx.Err()
		case <-e.done:
			return errEngineClosed
		}
	}
	return nil
}

// transport returns the name of the transport in use now.
func (e *engine) transport() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.name
}

// close queues a close packet behind what is already queued and waits (at
// most a second) for the writer to send it all, then ends the session.
func (e *engine) close() {
	if e.send(context.Background(), packet.EnginePacket{Type: packet.Close}) == nil {
		select {
		case <-e.done:
		case <-time.After(time.Second):
		}
	}
	e.end(nil)
}

// end ends the session once: err says why (nil for a close we asked for).
func (e *engine) end(err error) {
	e.endOnce.Do(func() {
		e.mu.Lock()
		e.err = err
		ws := e.ws
		e.mu.Unlock()
		if e.heartbeat != nil {
			e.heartbeat.Stop()
		}
		close(e.done)
		e.cancel()
		if ws != nil {
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			ws.Close()
		}
		e.client.CloseIdleConnections()
	})
}

// reason is why the session ended, as the JS client names it.
func (e *engine) reason() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}
