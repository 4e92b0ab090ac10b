package wire

import (
	"bytes"
	"fmt"
	"strings"
)

// A Proto says how the tap decodes a TCP connection.
type Proto int

const (
	// Auto looks at the first bytes the client sends: an HTTP method means
	// HTTP (and WebSocket after an Upgrade answered by 101), anything else
	// is netlab's raw TCP framing.
	Auto Proto = iota
	// TCP decodes reads as netlab's newline-delimited messages.
	TCP
	// HTTP decodes HTTP/1.x requests and responses.
	HTTP
	// WS decodes a WebSocket connection: the HTTP Upgrade, then frames.
	WS
)

var protoNames = []string{"auto", "tcp", "http", "ws"}

func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return fmt.Sprintf("Proto(%d)", int(p))
}

// ParseProto parses "auto", "tcp", "http" or "ws".
func ParseProto(s string) (Proto, error) {
	for i, n := range protoNames {
		if s == n {
			return Proto(i), nil
		}
	}
	return 0, fmt.Errorf("wire: unknown protocol %q (want auto, tcp, http or ws)", s)
}

// A Dir is the direction bytes travel.
type Dir int

const (
	ClientToServer Dir = iota
	ServerToClient
)

func (d Dir) String() string {
	if d == ClientToServer {
		return "c→s"
	}
	return "s→c"
}

type mode int

const (
	mDetect mode = iota
	mLines
	mHTTP
	mAwaitUpgrade // client bytes after an Upgrade request, until the answer
	mWS
	mOpaque // counted, not decoded
)

const (
	lineMax    = 64 << 10 // longest TCP line decoded as a message
	pendingMax = 64 << 10 // bytes held while detecting or awaiting an upgrade
)

// Totals counts what a tap or a decoder saw. Every byte the tap forwarded
// for a decoded message is in Cost.
type Totals struct {
	Conns          int64 `json:"connections"`
	Reads          int64 `json:"reads"`
	BytesToServer  int64 `json:"bytes_client_to_server"`
	BytesToClient  int64 `json:"bytes_server_to_client"`
	Messages       int64 `json:"netlab_messages"`
	Lines          int64 `json:"tcp_lines"`
	Datagrams      int64 `json:"udp_datagrams"`
	Requests       int64 `json:"http_requests"`
	Responses      int64 `json:"http_responses"`
	Frames         int64 `json:"ws_frames"`
	DecodeStopped  int64 `json:"connections_decoding_stopped"`
	Cost           Cost  `json:"cost"`
	UndecodedBytes int64 `json:"undecoded_bytes"`
}

// Add adds o to t.
func (t *Totals) Add(o Totals) {
	t.Conns += o.Conns
	t.Reads += o.Reads
	t.BytesToServer += o.BytesToServer
	t.BytesToClient += o.BytesToClient
	t.Messages += o.Messages
	t.Lines += o.Lines
	t.Datagrams += o.Datagrams
	t.Requests += o.Requests
	t.Responses += o.Responses
	t.Frames += o.Frames
	t.DecodeStopped += o.DecodeStopped
	t.Cost.Add(o.Cost)
	t.UndecodedBytes += o.UndecodedBytes
}

type dirState struct {
	mode    mode
	line    []byte
	lineLen int64 // bytes of the current line, including those not kept
	http    httpHalf
	ws      *wsParser
	pending []byte
	reads   int64
	nlines  int64

	// A Socket.IO binary packet over WebSocket: how many of the
	// attachments it announced are still to come, of how many.
	attachDue, attachTotal int
}

// A Decoder annotates the bytes of one TCP connection, both directions, for
// a learner. Feed it each read in the order the tap saw them. It is not safe
// for concurrent use.
type Decoder struct {
	name      string
	proto     Proto
	out       func(string)
	dumpBytes int
	dirs      [2]*dirState

	methods   []string // methods of requests not yet answered
	wsKey     string   // Sec-WebSocket-Key of a pending upgrade
	upgrading bool

	t       Totals
	httpHdr [2]int64 // running header bytes per direction
	httpBdy [2]int64
}

// NewDecoder returns a decoder for a connection called name ("conn 1")
// that writes each annotated event, a block of lines ending in "\n", to
// out. dumpBytes limits each raw read's hex dump (negative: no dump).
func NewDecoder(name string, proto Proto, dumpBytes int, out func(string)) *Decoder {
	d := &Decoder{name: name, proto: proto, out: out, dumpBytes: dumpBytes}
	d.dirs[0] = &dirState{http: httpHalf{}}
	d.dirs[1] = &dirState{http: httpHalf{resp: true}}
	var m mode
	switch proto {
	case TCP:
		m = mLines
	case HTTP, WS:
		m = mHTTP
	}
	d.dirs[0].mode, d.dirs[1].mode = m, m
	d.t.Conns = 1
	return d
}

// Totals returns what the decoder counted so far.
func (d *Decoder) Totals() Totals { return d.t }

func (d *Decoder) emit(dir Dir, title string, lines ...string) {
	if d.out == nil {
		return
	}
	prefix := fmt.Sprintf("%s %s  ", d.name, dir)
	indent := strings.Repeat(" ", len([]rune(prefix)))
	var b strings.Builder
	b.WriteString(prefix + title + "\n")
	for _, l := range lines {
		b.WriteString(indent + l + "\n")
	}
	d.out(b.String())
}

// Feed decodes one read of b bytes that travelled in direction dir.
func (d *Decoder) Feed(dir Dir, b []byte) {
	if len(b) == 0 {
		return
	}
	st := d.dirs[dir]
	st.reads++
	d.t.Reads++
	if dir == ClientToServer {
		d.t.BytesToServer += int64(len(b))
	} else {
		d.t.BytesToClient += int64(len(b))
	}
	if st.mode == mDetect {
		if dir == ServerToClient {
			// the server spoke first: not HTTP
			d.setMode(mLines)
		} else {
			st.pending = append(st.pending, b...)
			yes, more := isHTTPStart(st.pending)
			if more && len(st.pending) < 8 {
				return
			}
			b, st.pending = st.pending, nil
			if yes {
				d.setMode(mHTTP)
				d.emit(dir, "protocol: HTTP (the first bytes are a request line)")
			} else {
				d.setMode(mLines)
			}
		}
	}
	d.feedMode(dir, b)
}

func (d *Decoder) setMode(m mode) {
	for _, st := range d.dirs {
		st.mode = m
	}
}

func (d *Decoder) feedMode(dir Dir, b []byte) {
	st := d.dirs[dir]
	switch st.mode {
	case mLines:
		d.feedLines(dir, b)
	case mHTTP:
		d.feedHTTP(dir, b)
	case mAwaitUpgrade:
		if len(st.pending)+len(b) > pendingMax {
			d.stop(dir, "too many bytes sent before the upgrade was answered")
			return
		}
		st.pending = append(st.pending, b...)
	case mWS:
		d.feedWS(dir, b)
	case mOpaque:
		d.t.UndecodedBytes += int64(len(b))
	}
}

// stop ends decoding of one direction with a note.
func (d *Decoder) stop(dir Dir, why string) {
	st := d.dirs[dir]
	if st.mode == mOpaque {
		return
	}
	st.mode = mOpaque
	st.pending = nil
	d.t.DecodeStopped = 1
	d.emit(dir, "decoding stopped: "+why, "the tap keeps forwarding these bytes unchanged; they are counted, not decoded")
}

func (d *Decoder) feedLines(dir Dir, b []byte) {
	st := d.dirs[dir]
	var lines []string
	if d.out != nil {
		lines = append(lines, fmt.Sprintf("read #%d: %d bytes arrived in one read", st.reads, len(b)))
		if d.dumpBytes > 0 { // negative: no dump (hexDump would show it all)
			lines = append(lines, hexDump(b, d.dumpBytes)...)
		}
	}
	if len(st.line) > 0 || st.lineLen > 0 {
		lines = append(lines, fmt.Sprintf("continues a line begun in an earlier read (%d B so far)", st.lineLen))
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		part := b
		if i >= 0 {
			part = b[:i]
		}
		st.lineLen += int64(len(part))
		if room := lineMax - len(st.line); room > 0 {
			st.line = append(st.line, part[:min(room, len(part))]...)
		}
		if i < 0 {
			lines = append(lines, fmt.Sprintf("partial line: %d B so far, no newline yet — the rest comes in a later read", st.lineLen))
			break
		}
		b = b[i+1:]
		d.t.Lines++
		st.nlines++
		var desc string
		var c Cost
		if st.lineLen > lineMax {
			desc = fmt.Sprintf("line of %d B, longer than %d B: counted, not decoded", st.lineLen, lineMax)
			c = Cost{Payload: st.lineLen}
		} else {
			l := bytes.TrimSuffix(st.line, []byte("\r"))
			var isMsg bool
			desc, c, _, isMsg = describeMessage(l)
			c.Framing += int64(len(st.line) - len(l))
			if isMsg {
				d.t.Messages++
			}
		}
		c.Framing++ // the newline
		d.t.Cost.Add(c)
		lines = append(lines, fmt.Sprintf("line %d: %s", st.nlines, desc), fmt.Sprintf("  cost %s (the \\n)", c))
		st.line, st.lineLen = st.line[:0], 0
	}
	d.emit(dir, "TCP read", lines...)
}

func (d *Decoder) feedHTTP(dir Dir, b []byte) {
	st := d.dirs[dir]
	hooks := httpHooks{
		bodyOf: func(m *httpMsg) (string, int64, bool, error) { return d.httpBodyOf(dir, m) },
		head:   func(m *httpMsg) { d.httpHead(dir, m) },
		done:   func(m *httpMsg) { d.httpDone(dir, m) },
	}
	rest, switched := st.http.feed(b, hooks)
	if st.http.failed != "" {
		d.stop(dir, st.http.failed)
		return
	}
	if switched {
		d.feedMode(dir, rest)
	}
}

func (d *Decoder) httpBodyOf(dir Dir, m *httpMsg) (string, int64, bool, error) {
	if dir == ClientToServer {
		kind, n, err := requestBody(m)
		if err != nil {
			return "", 0, false, err
		}
		if len(d.methods) < 1000 {
			d.methods = append(d.methods, m.method)
		}
		if m.headerHas("Upgrade", "websocket") {
			d.wsKey = m.header("Sec-WebSocket-Key")
			d.upgrading = true
			if kind == "none" {
				// hold what the client sends next until the server answers
				d.dirs[ClientToServer].mode = mAwaitUpgrade
				return kind, 0, true, nil
			}
		}
		return kind, n, false, nil
	}
	method := ""
	if m.status/100 != 1 || m.status == 101 {
		if len(d.methods) > 0 {
			method, d.methods = d.methods[0], d.methods[1:]
		}
	}
	kind, n, err := responseBody(m, method)
	if err != nil {
		return "", 0, false, err
	}
	return kind, n, m.status == 101, nil
}

// httpHead shows the head of a response that streams Server-Sent Events at
// once, and decodes its body event by event as it arrives: such a response
// stays open as long as the stream does.
func (d *Decoder) httpHead(dir Dir, m *httpMsg) {
	if !isEventStream(m) {
		return
	}
	lines := []string{}
	for _, h := range m.headers {
		lines = append(lines, "  "+h[0]+": "+quoteIfOdd(h[1]))
	}
	lines = append(lines, fmt.Sprintf("head %d B; the body is an event stream, held open: decoded below event by event", m.headBytes))
	c := Cost{Headers: m.headBytes}
	d.t.Cost.Add(c)
	d.httpHdr[dir] += m.headBytes
	lines = append(lines, "cost "+c.String())
	d.emit(dir, "HTTP response "+m.startLine, lines...)
	m.stream = &sseParser{report: func(title string, lines []string, c Cost, isMsg bool) {
		if isMsg {
			d.t.Messages++
		}
		d.t.Cost.Add(c)
		d.emit(dir, title, lines...)
	}}
}

// streamDone sums up an event stream's response when it has ended: with
// the last chunk, or (cut) with the connection.
func (d *Decoder) streamDone(dir Dir, m *httpMsg, cut bool) {
	d.t.Responses++
	d.httpBdy[dir] += m.bodyLen
	c := Cost{Framing: m.framing + m.stream.unreported()}
	d.t.Cost.Add(c)
	lines := []string{fmt.Sprintf("body %d B in %s (%d B of chunk framing): %s, %s",
		m.bodyLen, plural(int64(m.chunks), "chunk"), m.framing, plural(m.stream.events, "event"), plural(m.stream.comments, "comment"))}
	if p := m.stream.pending(); p != "" {
		lines = append(lines, p)
	}
	lines = append(lines, "cost of the rest (chunk framing, line ends outside events) "+c.String())
	title := "HTTP response ended " + m.startLine
	if cut {
		title = "the connection closed with the event stream open (" + m.startLine + ")"
		lines = append(lines, "an EventSource reconnects after retry: and sends the last id: it got as Last-Event-ID")
	}
	d.emit(dir, title, lines...)
}

func (d *Decoder) httpDone(dir Dir, m *httpMsg) {
	if m.stream != nil {
		d.streamDone(dir, m, false)
		return
	}
	var c Cost
	c.Headers = m.headBytes
	c.Framing = m.framing
	var lines []string
	title := "HTTP request  " + m.startLine
	if m.resp {
		title = "HTTP response " + m.startLine
		d.t.Responses++
	} else {
		d.t.Requests++
	}
	for _, h := range m.headers {
		lines = append(lines, "  "+h[0]+": "+quoteIfOdd(h[1]))
	}
	bodyLines, bc := describeBody(m.body, int64(len(m.body)) == m.bodyLen)
	switch m.bodyKind {
	case "none":
		lines = append(lines, fmt.Sprintf("head %d B, no body", m.headBytes))
	case "chunked":
		lines = append(lines, fmt.Sprintf("head %d B, body %d B in %s (Transfer-Encoding: chunked, %d B of chunk framing)",
			m.headBytes, m.bodyLen, plural(int64(m.chunks), "chunk"), m.framing))
	default:
		lines = append(lines, fmt.Sprintf("head %d B, body %d B (delimited by %s)", m.headBytes, m.bodyLen, m.bodyKind))
	}
	lines = append(lines, bodyLines...)
	c.Add(bc)
	for _, l := range bodyLines {
		if strings.Contains(l, "netlab message") {
			d.t.Messages++
		}
	}
	d.t.Cost.Add(c)
	d.httpHdr[dir] += m.headBytes
	d.httpBdy[dir] += m.bodyLen
	lines = append(lines, "cost "+c.String())
	hdr, bdy := d.httpHdr[0]+d.httpHdr[1], d.httpBdy[0]+d.httpBdy[1]
	lines = append(lines, fmt.Sprintf("so far on this connection: %s, %s; %d B of headers, %d B of bodies",
		plural(d.t.Requests, "request"), plural(d.t.Responses, "response"), hdr, bdy))

	if m.resp && d.upgrading {
		d.upgrading = false
		if m.status == 101 {
			lines = append(lines, d.acceptCheck(m)...)
		} else {
			lines = append(lines, fmt.Sprintf("the server refused the upgrade (status %d): the connection stays HTTP", m.status))
		}
	}
	d.emit(dir, title, lines...)

	if m.resp && m.status == 101 {
		ws := strings.EqualFold(m.header("Upgrade"), "websocket")
		for i, st := range d.dirs {
			if st.mode == mOpaque {
				continue // already given up on: stays counted only
			}
			pend := st.pending
			st.pending = nil
			if ws {
				st.mode = mWS
				st.ws = newWSParser(i == int(ClientToServer))
			} else {
				st.mode = mOpaque
			}
			if i == int(ClientToServer) && len(pend) > 0 {
				d.feedMode(ClientToServer, pend)
			}
		}
		if !ws {
			d.emit(dir, fmt.Sprintf("switched to %q, which this tap does not decode: bytes are counted only", m.header("Upgrade")))
		}
	} else if m.resp {
		if st := d.dirs[ClientToServer]; st.mode == mAwaitUpgrade {
			st.mode = mHTTP
			pend := st.pending
			st.pending = nil
			d.feedMode(ClientToServer, pend)
		}
	}
}

// acceptCheck shows how Sec-WebSocket-Accept derives from the key.
func (d *Decoder) acceptCheck(m *httpMsg) []string {
	got := m.header("Sec-WebSocket-Accept")
	want := wsAccept(d.wsKey)
	verdict := "matches: the server really read this handshake (RFC 6455 §4.2.2)"
	if got != want {
		verdict = "DOES NOT MATCH: a client must fail the connection (RFC 6455 §4.1)"
	}
	return []string{
		"Sec-WebSocket-Accept = base64(SHA-1(Sec-WebSocket-Key + \"" + wsGUID + "\"))",
		fmt.Sprintf("  = base64(SHA-1(%q + GUID)) = %s", d.wsKey, want),
		fmt.Sprintf("  server sent %s: %s", got, verdict),
		"from here on both directions carry WebSocket frames, not HTTP",
	}
}

func quoteIfOdd(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return quotePreview([]byte(s), 100)
		}
	}
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

func (d *Decoder) feedWS(dir Dir, b []byte) {
	st := d.dirs[dir]
	st.ws.feed(b, func(ev wsEvent) {
		title, lines := describeFrame(ev)
		if !ev.early {
			d.t.Frames++
			hl := int64(len(ev.frame.Header))
			c := Cost{Framing: hl}
			if ev.msgDone {
				if pl, pc, ok := decodePayload(ev.msg, ev.msgOp == opText); ok {
					c.Payload, c.Envelope = pc.Payload, pc.Envelope
					lines = append(lines, pl...)
					n := wsAttachments(ev.msg)
					st.attachDue, st.attachTotal = n, n
				} else if ev.msgOp == opBinary && st.attachDue > 0 {
					c.Payload = ev.msgLen
					lines = append(lines, describeAttachment(st.attachTotal-st.attachDue, st.attachTotal, ev.msgLen))
					st.attachDue--
				} else if ev.msg != nil && ev.msgOp == opText {
					desc, mc, _, isMsg := describeMessage(ev.msg)
					if isMsg {
						d.t.Messages++
					}
					c.Payload, c.Envelope = mc.Payload, mc.Envelope
					if ev.msgParts > 1 {
						desc = fmt.Sprintf("message of %d frames: %s", ev.msgParts, desc)
					}
					lines = append(lines, desc)
				} else {
					c.Payload = ev.msgLen
					lines = append(lines, fmt.Sprintf("%s message of %d B in %s", opcodeName(ev.msgOp), ev.msgLen, plural(int64(ev.msgParts), "frame")))
				}
				if ev.msgParts > 1 {
					lines = append(lines, "  (the cost below counts this frame's header; earlier frames counted their own)")
				}
			} else if ev.frame.Opcode >= 8 {
				c.Payload = int64(ev.frame.Length)
			}
			lines = append(lines, "cost "+c.String())
			d.t.Cost.Add(c)
		}
		d.emit(dir, title, lines...)
	})
	if st.ws.failed != "" {
		d.stop(dir, st.ws.failed)
	}
}

// Close reports anything cut off by the end of the connection.
func (d *Decoder) Close() {
	for i, st := range d.dirs {
		dir := Dir(i)
		switch st.mode {
		case mLines:
			if st.lineLen > 0 {
				d.emit(dir, fmt.Sprintf("stream ended with %d B after the last newline: not a complete line", st.lineLen))
			}
		case mHTTP:
			if m := st.http.cur; m != nil && m.stream != nil && st.http.failed == "" {
				d.streamDone(dir, m, true)
				continue
			}
			hooks := httpHooks{
				bodyOf: func(m *httpMsg) (string, int64, bool, error) { return "none", 0, false, nil },
				done:   func(m *httpMsg) { d.httpDone(dir, m) },
			}
			if p := st.http.close(hooks); p != "" {
				d.emit(dir, p)
			}
		case mWS:
			if p := st.ws.partial(); p != "" {
				d.emit(dir, p)
			}
		}
	}
}
