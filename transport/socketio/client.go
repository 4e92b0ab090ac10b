package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/transport/socketio/packet"
)

// The Client is the upper layer (socket.io-client's lib/socket.ts and
// lib/manager.ts): one socket in one namespace over the engine. It sends the
// CONNECT packet (with the pid and offset of the previous session, so the
// server can recover it), encodes events and acks, keeps emits in a send
// buffer while it is disconnected, and reconnects with a growing, jittered
// delay when the engine session is lost (not when the server or the user
// disconnected on purpose).

// ClientOptions configure a Client. The zero value is the JS client's
// defaults, minus reconnection.
type ClientOptions struct {
	// Transports lists what the client tries, in order: [polling websocket]
	// (the default) opens with polling and upgrades; [websocket] opens on
	// WebSocket at once; [polling] never upgrades.
	Transports []string
	// Path is the server's Engine.IO path (default /socket.io/).
	Path string
	// Namespace is the namespace to connect to (default "/").
	Namespace string
	// Header is sent with every HTTP request (an Origin, say).
	Header http.Header
	// Reconnection turns automatic reconnection on.
	Reconnection bool
	// ReconnectionDelay is the first delay (default 1s); each attempt
	// doubles it, up to ReconnectionDelayMax (default 5s), with ±50% jitter.
	ReconnectionDelay, ReconnectionDelayMax time.Duration
	// ConnectTimeout bounds each connection attempt (default 20s).
	ConnectTimeout time.Duration
	// ReconnectGate, if set, is waited for before each reconnection
	// attempt (a lab keeps the client offline with it).
	ReconnectGate func(ctx context.Context) error
}

// An Event is what the client receives: an event the server emitted, or one
// of the client's own lifecycle events ("connect", "disconnect",
// "connect_error"), as the JS client emits them on the socket.
type Event struct {
	Name string
	Args []json.RawMessage // the event's arguments, as JSON
	// Attachments are the binary parts of a binary event, in order; the
	// Args keep their {"_placeholder":true,"num":N} markers.
	Attachments [][]byte
	// Reason is why a "disconnect" happened ("io server disconnect",
	// "io client disconnect", "transport close", "ping timeout", ...).
	Reason string
	// Recovered reports, on "connect", whether the server restored the
	// previous session (same id, rooms, and the packets missed meanwhile).
	Recovered bool

	ack func(args ...any) error
}

// Ack answers an event the server emitted with an acknowledgement callback.
// It returns an error if the server asked for none. A []byte argument is
// sent as a binary attachment (a BINARY_ACK), as in Emit.
func (ev Event) Ack(args ...any) error {
	if ev.ack == nil {
		return errors.New("socketio: the server asked for no ack")
	}
	return ev.ack(args...)
}

// WantsAck reports whether the server asked for an acknowledgement.
func (ev Event) WantsAck() bool { return ev.ack != nil }

// ErrDisconnected is returned by operations on a client that is closed or
// that the server disconnected for good.
var ErrDisconnected = errors.New("socketio: disconnected")

// A Client is a Socket.IO client. All its methods are safe for concurrent
// use.
type Client struct {
	opts  ClientOptions
	cfg   engineConfig
	stats engineStats

	events chan Event
	done   chan struct{} // closed when the client stopped for good
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	eng       *engine // nil while disconnected
	connected bool
	id, pid   string
	offset    string                  // the last offset the server appended to an event
	recovered bool                    // the last connect restored the session
	sendBuf   [][]packet.EnginePacket // emits made while disconnected, each its packets
	nextID    int64
	acks      map[int64]chan ackReply
	closing   bool
	err       error // why the client stopped
}

// Connect connects to the Socket.IO server at addr (HOST:PORT or an
// http:// URL) and waits until the namespace is joined or ctx ends. With
// Reconnection on, a lost session is re-established in the background.
func Connect(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	if len(opts.Transports) == 0 {
		opts.Transports = []string{Polling, WebSocket}
	}
	for _, t := range opts.Transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("socketio: unknown transport %q: choose polling or websocket", t)
		}
	}
	if opts.Path == "" {
		opts.Path = "/socket.io/"
	}
	if !strings.HasSuffix(opts.Path, "/") {
		opts.Path += "/"
	}
	if opts.Namespace == "" {
		opts.Namespace = "/"
	}
	if opts.ReconnectionDelay <= 0 {
		opts.ReconnectionDelay = time.Second
	}
	if opts.ReconnectionDelayMax <= 0 {
		opts.ReconnectionDelayMax = 5 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 20 * time.Second
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base = strings.TrimRight(base, "/") + opts.Path
	c := &Client{
		opts:   opts,
		events: make(chan Event, 256),
		done:   make(chan struct{}),
		acks:   map[int64]chan ackReply{},
	}
	c.cfg = engineConfig{base: base, transports: opts.Transports, header: opts.Header, stats: &c.stats, takeAck: c.takeAck}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	connected := make(chan error, 1)
	go c.run(connected)
	select {
	case err := <-connected:
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// run owns the connection: it opens an engine session, joins the
// namespace, reads packets until the session ends, and reconnects while
// that is wanted. first gets the result of the first attempt.
func (c *Client) run(first chan<- error) {
	defer close(c.done)
	attempt := 0
	for {
		err := c.session(first)
		first = nil
		c.mu.Lock()
		stop := c.closing || !c.opts.Reconnection || errors.Is(err, errServerDisconnect) || errors.Is(err, errConnectRefused)
		c.mu.Unlock()
		if stop {
			c.mu.Lock()
			c.err = err
			c.failAcks()
			c.mu.Unlock()
			return
		}
		attempt++
		delay := c.backoff(attempt)
		if c.opts.ReconnectGate != nil && c.opts.ReconnectGate(c.ctx) != nil {
			delay = 0 // closed while held: the select below sees it
		}
		select {
		case <-time.After(delay):
		case <-c.ctx.Done():
			c.mu.Lock()
			c.err = ErrDisconnected
			c.failAcks()
			c.mu.Unlock()
			return
		}
	}
}

var (
	errServerDisconnect = errors.New("io server disconnect")
	errConnectRefused   = errors.New("connect_error")
)

// backoff is the Manager's delay: ReconnectionDelay doubled per attempt, at
// most ReconnectionDelayMax, randomized by ±50%.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.ReconnectionDelay << min(attempt-1, 16)
	if d > c.opts.ReconnectionDelayMax || d <= 0 {
		d = c.opts.ReconnectionDelayMax
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// session runs one engine session and returns why it ended.
func (c *Client) session(first chan<- error) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ConnectTimeout)
	eng, err := openEngine(ctx, c.cfg)
	cancel()
	if err != nil {
		c.deliver(Event{Name: "connect_error", Reason: err.Error()})
		if first != nil {
			first <- err
		}
		return err
	}
	// CONNECT, with the previous session's pid and offset when there is one.
	conn := packet.SocketPacket{Type: packet.Connect, Namespace: c.opts.Namespace, ID: packet.NoID}
	c.mu.Lock()
	if c.pid != "" {
		conn.Data, _ = json.Marshal(map[string]string{"pid": c.pid, "offset": c.offset})
	}
	c.mu.Unlock()
	eng.send(c.ctx, message(conn))

	// A binary packet (5 event, 6 ack) is followed by its attachments, one
	// binary Engine.IO packet each; it waits here until they are all in.
	var binary *packet.SocketPacket
	var attachments [][]byte
	// Events that arrive before the CONNECT answer wait for it: a server
	// that recovers a session sends the missed packets first (as the JS
	// client's receiveBuffer holds them).
	joined := false
	var early []Event
	deliver := func(ev Event) {
		if joined {
			c.deliver(ev)
		} else {
			early = append(early, ev)
		}
	}
	connectTimer := time.NewTimer(c.opts.ConnectTimeout)
	defer connectTimer.Stop()
	for {
		var p packet.EnginePacket
		select {
		case p = <-eng.in:
		case <-eng.done:
			// What arrived before the end (a 41, say) is read first.
			select {
			case p = <-eng.in:
			default:
				return c.lost(eng, eng.reason(), first)
			}
		case <-c.ctx.Done():
			return c.lost(eng, ErrDisconnected, first)
		case <-connectTimer.C:
			if first != nil {
				err := errors.New("socketio: connect timeout: no CONNECT answer")
				first <- err
				first = nil
				eng.end(err)
			}
		}
		if p.Type != packet.Message {
			continue
		}
		if p.Binary {
			if binary == nil {
				continue // stray attachment
			}
			attachments = append(attachments, p.Data)
			if len(attachments) == binary.Attachments {
				c.dispatch(eng, *binary, attachments, deliver)
				binary, attachments = nil, nil
			}
			continue
		}
		sp, err := packet.ParseSocket(p.Data)
		if err != nil || sp.Namespace != c.opts.Namespace {
			continue // the JS client ignores what it cannot decode
		}
		switch sp.Type {
		case packet.Connect:
			var answer struct {
				SID string `json:"sid"`
				PID string `json:"pid"`
			}
			json.Unmarshal(sp.Data, &answer)
			c.onConnect(eng, answer.SID, answer.PID)
			joined = true
			for _, ev := range early {
				c.deliver(ev)
			}
			early = nil
			connectTimer.Stop()
			if first != nil {
				first <- nil
				first = nil
			}
		case packet.ConnectError:
			var e struct {
				Message string `json:"message"`
			}
			json.Unmarshal(sp.Data, &e)
			err := fmt.Errorf("%w: %s", errConnectRefused, e.Message)
			c.deliver(Event{Name: "connect_error", Reason: e.Message})
			if first != nil {
				first <- err
			}
			eng.close()
			return err
		case packet.Disconnect:
			eng.close()
			c.onDisconnect("io server disconnect")
			return errServerDisconnect
		default: // events and acks
			if sp.Attachments > 0 { // 5 or 6: wait for the attachments
				binary, attachments = &sp, nil
				continue
			}
			c.dispatch(eng, sp, nil, deliver)
		}
	}
}

// dispatch hands an event to deliver, or an ack to the EmitWithAck that
// waits for it, with the binary attachments that followed it.
func (c *Client) dispatch(eng *engine, sp packet.SocketPacket, attachments [][]byte, deliver func(Event)) {
	switch sp.Type {
	case packet.Event, packet.BinaryEvent:
		ev, err := c.event(eng, sp)
		if err != nil {
			return
		}
		ev.Attachments = attachments
		deliver(ev)
	case packet.Ack, packet.BinaryAck:
		c.answer(sp, attachments)
	}
}

// takeAck answers the EmitWithAck that waits for a plain ACK (3…) at once,
// on the engine's reading goroutine: passing it through the session
// goroutine first would cost a goroutine wake-up, a good part of a
// loopback round trip. (A BINARY_ACK waits there for its attachments.)
func (c *Client) takeAck(data []byte) bool {
	if len(data) == 0 || packet.SocketType(data[0]) != packet.Ack {
		return false
	}
	sp, err := packet.ParseSocket(data)
	if err != nil || sp.Namespace != c.opts.Namespace {
		return false // the session loop ignores it
	}
	c.answer(sp, nil)
	return true
}

// answer hands an ACK's arguments to the EmitWithAck waiting for its id.
func (c *Client) answer(sp packet.SocketPacket, attachments [][]byte) {
	var args []json.RawMessage
	json.Unmarshal(sp.Data, &args)
	c.mu.Lock()
	ch := c.acks[sp.ID]
	delete(c.acks, sp.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- ackReply{args, attachments}
	}
}

// ackReply is what an ACK carried.
type ackReply struct {
	args        []json.RawMessage
	attachments [][]byte
}

// lost handles the end of a session.
func (c *Client) lost(eng *engine, why error, first chan<- error) error {
	if why == nil {
		why = errors.New("transport close")
	}
	reason := why.Error()
	if i := strings.IndexByte(reason, ':'); i > 0 {
		reason = reason[:i] // "transport error: ..." -> "transport error"
	}
	c.mu.Lock()
	if c.closing {
		reason = "io client disconnect"
	}
	c.mu.Unlock()
	if first != nil {
		first <- fmt.Errorf("socketio: %w", why)
	}
	c.onDisconnect(reason)
	eng.end(nil)
	return why
}

func (c *Client) onConnect(eng *engine, sid, pid string) {
	c.mu.Lock()
	c.recovered = pid != "" && pid == c.pid
	c.id, c.pid = sid, pid
	c.eng = eng
	// Flush what was emitted while disconnected, before anything newer.
	for _, ps := range c.sendBuf {
		eng.send(c.ctx, ps...)
	}
	c.sendBuf = nil
	c.connected = true
	recovered := c.recovered
	c.mu.Unlock()
	c.deliver(Event{Name: "connect", Recovered: recovered})
}

func (c *Client) onDisconnect(reason string) {
	c.mu.Lock()
	was := c.connected
	c.connected = false
	c.eng = nil
	c.mu.Unlock()
	if was {
		c.deliver(Event{Name: "disconnect", Reason: reason})
	}
}

// event decodes an EVENT packet; with recovery on, the server appends its
// offset as a last string argument, which the client remembers (and, as
// the JS client does, leaves in Args).
func (c *Client) event(eng *engine, sp packet.SocketPacket) (Event, error) {
	name, args, err := packet.EventName(sp.Data)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Name: name, Args: args}
	c.mu.Lock()
	if c.pid != "" && len(args) > 0 && len(args[len(args)-1]) > 0 && args[len(args)-1][0] == '"' {
		json.Unmarshal(args[len(args)-1], &c.offset)
	}
	c.mu.Unlock()
	if sp.ID != packet.NoID {
		id, ns := sp.ID, sp.Namespace
		var once sync.Once
		ev.ack = func(a ...any) error {
			err := errors.New("socketio: ack already sent")
			once.Do(func() {
				if a == nil {
					a = []any{} // an ACK carries an array, empty or not
				}
				ps, merr := encode(packet.Ack, ns, id, a)
				if merr != nil {
					err = merr
					return
				}
				err = eng.send(c.ctx, ps...)
			})
			return err
		}
	}
	return ev, nil
}

func (c *Client) deliver(ev Event) {
	select {
	case c.events <- ev: // room in the queue: delivered even while closing
		return
	default:
	}
	select {
	case c.events <- ev:
	case <-c.ctx.Done():
	}
}

func message(sp packet.SocketPacket) packet.EnginePacket {
	return packet.EnginePacket{Type: packet.Message, Data: packet.AppendSocket(nil, sp)}
}

// Next returns the next event (or lifecycle event). After the client has
// stopped and every event was read it returns the error that stopped it.
func (c *Client) Next(ctx context.Context) (Event, error) {
	select {
	case ev := <-c.events:
		return ev, nil
	default:
	}
	select {
	case ev := <-c.events:
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	case <-c.done:
		select {
		case ev := <-c.events:
			return ev, nil
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err == nil || c.closing {
			return Event{}, ErrDisconnected
		}
		return Event{}, fmt.Errorf("%w: %v", ErrDisconnected, c.err)
	}
}

// Emit sends an event. While the client is disconnected (and may come
// back) the packet waits in the send buffer and leaves on the next connect,
// as the JS client's does.
//
// A []byte argument (at the top, or inside a []any or map[string]any) is
// sent as a binary attachment, as a Buffer is by the JS client: the event
// becomes a BINARY_EVENT, 51-["name",{"_placeholder":true,"num":0}], and
// the bytes follow it as a binary Engine.IO packet (a binary WebSocket
// frame; over polling, "b" and base64 in the body).
func (c *Client) Emit(ctx context.Context, name string, args ...any) error {
	return c.emit(ctx, name, packet.NoID, false, args)
}

// EmitVolatile sends an event only if the client is connected now; a
// volatile event is never buffered.
func (c *Client) EmitVolatile(ctx context.Context, name string, args ...any) error {
	return c.emit(ctx, name, packet.NoID, true, args)
}

// EmitWithAck sends an event and waits for the server's acknowledgement.
// A binary value in the ack comes back as its {"_placeholder":true,"num":N}
// marker: EmitWithAckBinary returns the bytes too.
func (c *Client) EmitWithAck(ctx context.Context, name string, args ...any) ([]json.RawMessage, error) {
	a, _, err := c.EmitWithAckBinary(ctx, name, args...)
	return a, err
}

// EmitWithAckBinary is EmitWithAck that also returns the ack's binary
// attachments, in the order of their "num".
func (c *Client) EmitWithAckBinary(ctx context.Context, name string, args ...any) ([]json.RawMessage, [][]byte, error) {
	ch := make(chan ackReply, 1)
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.emit(ctx, name, id, false, args); err != nil {
		c.mu.Lock()
		delete(c.acks, id)
		c.mu.Unlock()
		return nil, nil, err
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return nil, nil, ErrDisconnected
		}
		return a.args, a.attachments, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.acks, id)
		c.mu.Unlock()
		return nil, nil, ctx.Err()
	}
}

// failAcks ends every pending ack wait; c.mu is held.
func (c *Client) failAcks() {
	for id, ch := range c.acks {
		close(ch)
		delete(c.acks, id)
	}
}

// EncodeEvent returns the EVENT packet (without the Engine.IO "4") that
// emitting name with args sends: 2["name",...] or, with an id, 2id[...].
// (Binary arguments are encoded as JSON here, base64 strings: Emit sends
// them as attachments.)
func EncodeEvent(namespace, name string, id int64, args ...any) ([]byte, error) {
	data, err := json.Marshal(append([]any{name}, args...))
	if err != nil {
		return nil, err
	}
	return packet.AppendSocket(nil, packet.SocketPacket{Type: packet.Event, Namespace: namespace, ID: id, Data: data}), nil
}

// encode returns the Engine.IO packets of a Socket.IO EVENT (t Event, values
// the event's name and arguments) or ACK (t Ack, values the ack's
// arguments): one message packet, or, when a value holds []byte, a
// BINARY_EVENT or BINARY_ACK and one binary packet per attachment
// (socket.io-parser's deconstructPacket).
func encode(t packet.SocketType, namespace string, id int64, values []any) ([]packet.EnginePacket, error) {
	var attachments [][]byte
	if slices.ContainsFunc(values, hasBinary) {
		values = deconstruct(values, &attachments).([]any)
	}
	data, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	sp := packet.SocketPacket{Type: t, Namespace: namespace, ID: id, Data: data}
	if len(attachments) > 0 {
		sp.Type, sp.Attachments = packet.BinaryEvent, len(attachments)
		if t == packet.Ack {
			sp.Type = packet.BinaryAck
		}
	}
	ps := make([]packet.EnginePacket, 0, 1+len(attachments))
	ps = append(ps, message(sp))
	for _, b := range attachments {
		ps = append(ps, packet.EnginePacket{Type: packet.Message, Data: b, Binary: true})
	}
	return ps, nil
}

// placeholder stands in the JSON for attachment Num.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// deconstruct returns v with every []byte (inside []any and map[string]any
// too) replaced by a placeholder, the bytes appended to attachments. What
// holds no []byte is returned as it is.
func deconstruct(v any, attachments *[][]byte) any {
	switch v := v.(type) {
	case []byte:
		*attachments = append(*attachments, v)
		return placeholder{true, len(*attachments) - 1}
	case []any:
		if !hasBinary(v) {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deconstruct(x, attachments)
		}
		return out
	case map[string]any:
		if !hasBinary(v) {
			return v
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deconstruct(x, attachments)
		}
		return out
	}
	return v
}

// hasBinary reports whether v holds a []byte (socket.io-parser's
// hasBinary, on the shapes deconstruct looks into).
func hasBinary(v any) bool {
	switch v := v.(type) {
	case []byte:
		return true
	case []any:
		return slices.ContainsFunc(v, hasBinary)
	case map[string]any:
		for _, x := range v {
			if hasBinary(x) {
				return true
			}
		}
	}
	return false
}

func (c *Client) emit(ctx context.Context, name string, id int64, volatile bool, args []any) error {
	if reserved[name] {
		return fmt.Errorf("socketio: %q is a reserved event name", name)
	}
	ps, err := encode(packet.Event, c.opts.Namespace, id, append([]any{name}, args...))
	if err != nil {
		return fmt.Errorf("socketio: emit %q: %w", name, err)
	}
	for {
		c.mu.Lock()
		if c.closing || isClosed(c.done) {
			c.mu.Unlock()
			return ErrDisconnected
		}
		if !c.connected {
			if !volatile {
				c.sendBuf = append(c.sendBuf, ps)
			}
			c.mu.Unlock()
			return nil
		}
		eng := c.eng
		c.mu.Unlock()
		if err := eng.send(ctx, ps...); !errors.Is(err, errEngineClosed) {
			return err
		}
		// The session died under us: buffer it for the next one.
		c.onDisconnect("transport close")
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// reserved are the event names the JS client refuses to emit.
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// ID is the socket's id on the server ("" while disconnected).
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Recovered reports whether the last connect restored the previous session.
func (c *Client) Recovered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recovered
}

// Connected reports whether the client is connected now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Transport names the Engine.IO transport in use ("polling", "websocket"),
// or "" while disconnected.
func (c *Client) Transport() string {
	c.mu.Lock()
	eng := c.eng
	c.mu.Unlock()
	if eng == nil {
		return ""
	}
	return eng.transport()
}

// Buffered is the number of emits waiting for the next connect.
func (c *Client) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sendBuf)
}

// DropTransport closes the current engine session abruptly, as a lost
// network would (the server sees the transport close; no DISCONNECT is
// sent). With Reconnection on the client comes back.
func (c *Client) DropTransport() {
	c.mu.Lock()
	eng := c.eng
	c.mu.Unlock()
	if eng != nil {
		eng.end(errors.New("transport close"))
	}
}

// Stats returns the bytes and requests that crossed the real connections so
// far, over every session.
func (c *Client) Stats() (read, written, requests, emptyPolls int64) {
	r, w := c.stats.bytes.Load()
	return r, w, c.stats.requests.Load(), c.stats.emptyPolls.Load()
}

// Close sends DISCONNECT (after what is already queued), closes the engine
// session, and stops reconnecting. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closing = true
	eng := c.eng
	connected := c.connected
	c.mu.Unlock()
	if eng != nil && connected {
		eng.send(context.Background(), message(packet.SocketPacket{Type: packet.Disconnect, Namespace: c.opts.Namespace, ID: packet.NoID}))
		eng.close()
	}
	c.cancel()
	<-c.done
	return nil
}
