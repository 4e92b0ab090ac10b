package wire

import (
	"fmt"
	"mime"
	"strings"
)

const (
	sseLineMax   = 64 << 10 // longest event-stream line kept to decode
	sseFieldsMax = 64       // most field lines shown for one event
	sseDataMax   = 64 << 10 // most data: bytes of one event kept to decode
)

// isEventStream reports whether m is a response that streams Server-Sent
// Events: Content-Type text/event-stream, with a body.
func isEventStream(m *httpMsg) bool {
	mt, _, err := mime.ParseMediaType(m.header("Content-Type"))
	return m.resp && err == nil && mt == "text/event-stream" && m.bodyKind != "none"
}

// An sseParser reads a text/event-stream body as it arrives (the WHATWG
// HTML standard, "Server-sent events", §9.2.6 "Interpreting an event
// stream"), from bytes in any split, in bounded memory, and reports each
// event when the blank line that ends it arrives, and each comment line.
// Lines end with CRLF, LF or CR.
type sseParser struct {
	line    []byte
	lineLen int  // bytes of the current line, including those not kept
	afterCR bool // the last byte was a CR: a LF now ends no line

	fields   []string // the current event's field lines, as they came
	data     []string // its data: values, up to sseDataMax bytes
	dataLen  int      // bytes in data
	dataSeen int64    // bytes of all its data: values
	bytes    int64    // its bytes on the wire, line ends included
	stray    int64    // bytes of no event or comment: extra blank lines, a CRLF's LF after one

	events, comments int64 // events dispatched (with data), comment lines
	report           func(title string, lines []string, c Cost, isMsg bool)
}

func (p *sseParser) feed(b []byte) {
	for len(b) > 0 {
		if p.afterCR && b[0] == '\n' {
			p.afterCR = false
			if len(p.fields) == 0 && p.bytes == 0 {
				p.stray++
			} else {
				p.bytes++
			}
			b = b[1:]
			continue
		}
		p.afterCR = false
		i := strings.IndexAny(string(b), "\r\n")
		if i < 0 {
			p.keep(b)
			return
		}
		p.keep(b[:i])
		p.afterCR = b[i] == '\r'
		p.bytes += 1
		b = b[i+1:]
		p.endLine()
	}
}

func (p *sseParser) keep(b []byte) {
	p.lineLen += len(b)
	p.bytes += int64(len(b))
	if room := sseLineMax - len(p.line); room > 0 {
		p.line = append(p.line, b[:min(room, len(b))]...)
	}
}

// endLine handles one whole line: a blank line dispatches the event, a line
// starting with a colon is a comment, anything else a field.
func (p *sseParser) endLine() {
	line, cut := string(p.line), p.lineLen > len(p.line)
	p.line, p.lineLen = p.line[:0], 0
	switch {
	case line == "" && !cut:
		p.dispatch()
	case line[0] == ':':
		p.comments++
		p.bytes -= int64(len(line)) + 1 // a comment is not part of the event
		c := Cost{Framing: int64(len(line)) + 1}
		note := "a comment, which the client ignores: on an idle stream, a heartbeat"
		p.report("SSE comment "+quotePreview([]byte(line), 60), []string{note, "cost " + c.String()}, c, false)
	default:
		if cut {
			line += fmt.Sprintf(" … (a line over %d B: the rest not decoded)", sseLineMax)
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		if name == "data" {
			p.dataSeen += int64(len(value))
			if p.dataLen+len(value) <= sseDataMax {
				p.data = append(p.data, value)
				p.dataLen += len(value)
			}
		}
		if len(p.fields) < sseFieldsMax {
			p.fields = append(p.fields, line)
		}
	}
}

// dispatch reports the event the blank line ended.
func (p *sseParser) dispatch() {
	if len(p.fields) == 0 {
		p.stray += p.bytes // a blank line with no event before it
		p.bytes = 0
		return
	}
	var lines []string
	var c Cost
	isMsg := false
	for _, f := range p.fields {
		name, value, _ := strings.Cut(f, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			f += "   (the client sends it back as Last-Event-ID when it reconnects)"
		case "event":
			f += "   (the event's type: EventSource calls that name's listeners)"
		case "retry":
			if value != "" && strings.Trim(value, "0123456789") == "" {
				f += fmt.Sprintf("   (the client waits %s ms before reconnecting)", value)
			} else {
				f += "   (not all digits: the client ignores it)"
			}
		case "data":
			if r := []rune(f); len(r) > 80 {
				f = string(r[:79]) + "…"
			}
		default:
			f += "   (not a field the standard knows: ignored)"
		}
		lines = append(lines, quoteIfOdd(f))
	}
	// The data buffer is the data: values joined with line feeds; an empty
	// one dispatches nothing.
	dispatched := p.dataSeen > 0 || len(p.data) > 1
	switch {
	case !dispatched:
		lines = append(lines, "no data: the client dispatches no event (id: and retry: still take effect)")
	case p.dataSeen > int64(p.dataLen):
		lines = append(lines, fmt.Sprintf("data: %d B, over the %d B this tap decodes; counted as payload", p.dataSeen, sseDataMax))
		c.Payload = p.dataSeen
	default:
		data := strings.Join(p.data, "\n")
		desc, dc, _, ok := describeMessage([]byte(data))
		lines = append(lines, "data "+desc)
		c.Add(dc)
		isMsg = ok
	}
	c.Framing = p.bytes - c.Payload - c.Envelope
	lines = append(lines, "cost "+c.String())
	title := "SSE fields, no event"
	if dispatched {
		p.events++
		title = fmt.Sprintf("SSE event %d", p.events)
	}
	p.report(title, lines, c, isMsg)
	p.fields, p.data, p.dataLen, p.dataSeen, p.bytes = p.fields[:0], p.data[:0], 0, 0, 0
}

// unreported is the bytes no event or comment reported: stray line ends,
// and an event the stream ended inside.
func (p *sseParser) unreported() int64 { return p.stray + p.bytes }

// pending says what an ended stream left undispatched, or "".
func (p *sseParser) pending() string {
	if len(p.fields) == 0 && p.lineLen == 0 {
		return ""
	}
	return fmt.Sprintf("the stream ended inside an event (%d field lines without the blank line that ends an event): the client drops it", len(p.fields))
}
