package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/netlab/netlab/transport"
)

// A Cost splits bytes on the wire by what they are for. Adding the five
// gives every byte the tap forwarded for the messages counted.
type Cost struct {
	// Payload is the bytes the application meant to send: Message.Data, or
	// the whole line, datagram or body when it is not a netlab message.
	Payload int64 `json:"payload_bytes"`
	// Envelope is netlab's JSON around the payload: seq, event, sent_ns,
	// quotes and escapes.
	Envelope int64 `json:"envelope_bytes"`
	// Framing is what marks where a message ends: TCP's newline, a
	// WebSocket frame header, HTTP chunk-size lines.
	Framing int64 `json:"framing_bytes"`
	// Headers is HTTP start lines and header fields, blank line included.
	Headers int64 `json:"header_bytes"`
	// Encrypted is bytes the tap cannot read (QUIC packets): the
	// application's data, QUIC's frames and the AEAD tag, not told apart.
	Encrypted int64 `json:"encrypted_bytes"`
}

// Total is the sum of the parts.
func (c Cost) Total() int64 { return c.Payload + c.Envelope + c.Framing + c.Headers + c.Encrypted }

// Add adds o to c.
func (c *Cost) Add(o Cost) {
	c.Payload += o.Payload
	c.Envelope += o.Envelope
	c.Framing += o.Framing
	c.Headers += o.Headers
	c.Encrypted += o.Encrypted
}

// String reads "42 B = payload 2 B + envelope 37 B + framing 1 B + headers 2 B",
// leaving out zero parts.
func (c Cost) String() string {
	parts := []string{}
	add := func(name string, n int64) {
		if n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d B", name, n))
		}
	}
	add("payload", c.Payload)
	add("envelope", c.Envelope)
	add("framing", c.Framing)
	add("headers", c.Headers)
	add("encrypted", c.Encrypted)
	if len(parts) == 0 {
		return "0 B"
	}
	return fmt.Sprintf("%d B = %s", c.Total(), strings.Join(parts, " + "))
}

// describeMessage says what b (a line, datagram, frame payload or element
// of a body) is as a netlab wire message, and what its bytes are for.
func describeMessage(b []byte) (desc string, c Cost, seq uint64, isMsg bool) {
	m, err := transport.Decode(b)
	if err != nil {
		return fmt.Sprintf("not a netlab message: %v", err), Cost{Payload: int64(len(b))}, 0, false
	}
	if transport.IsPlainText(b) {
		return "plain text " + quotePreview(b, 60), Cost{Payload: int64(len(b))}, 0, false
	}
	var s strings.Builder
	s.WriteString("netlab message")
	if m.Seq != 0 {
		fmt.Fprintf(&s, " seq=%d", m.Seq)
	}
	if m.Event != "" {
		fmt.Fprintf(&s, " event=%s", quotePreview([]byte(m.Event), 20))
	}
	if m.Room != "" {
		fmt.Fprintf(&s, " room=%s", quotePreview([]byte(m.Room), 20))
	}
	fmt.Fprintf(&s, " data=%s", quotePreview(m.Data, 32))
	return s.String(), Cost{Payload: int64(len(m.Data)), Envelope: int64(len(b) - len(m.Data))}, m.Seq, true
}

// describeBody says what an HTTP body is: one netlab message, a JSON array
// of them (a poll answer), empty, or something else. complete reports
// whether body holds the whole body.
func describeBody(body []byte, complete bool) (lines []string, c Cost) {
	if !complete {
		return []string{"body too large to decode here; counted as payload"}, Cost{Payload: int64(len(body))}
	}
	for _, dec := range payloadDecoders {
		if lines, c, ok := dec(body, false); ok {
			return lines, c
		}
	}
	t := bytes.TrimSpace(body)
	switch {
	case len(t) == 0:
		return nil, Cost{}
	case t[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(t, &elems); err == nil {
			if len(elems) == 0 {
				return []string{"body: [] — no messages (an empty poll)"}, Cost{Envelope: int64(len(body))}
			}
			var inner int64
			for i, e := range elems {
				d, ec, _, _ := describeMessage(e)
				if i < 8 {
					lines = append(lines, fmt.Sprintf("body[%d]: %s", i, d))
				}
				c.Add(ec)
				inner += int64(len(e))
			}
			if len(elems) > 8 {
				lines = append(lines, fmt.Sprintf("… and %d more messages", len(elems)-8))
			}
			c.Envelope += int64(len(body)) - inner // brackets, commas, spaces
			return lines, c
		}
	}
	if t[0] == '{' && bytes.IndexByte(body, '\n') >= 0 {
		// newline-delimited messages, one JSON object a line
		parts := bytes.Split(t, []byte("\n"))
		var inner int64
		for i, part := range parts {
			d, pc, _, _ := describeMessage(bytes.TrimSuffix(part, []byte("\r")))
			switch {
			case len(parts) == 1:
				lines = append(lines, "body: "+d)
			case i < 8:
				lines = append(lines, fmt.Sprintf("body line %d: %s", i+1, d))
			}
			pc.Envelope += int64(len(part)) - pc.Payload - pc.Envelope // a \r counts as envelope
			c.Add(pc)
			inner += int64(len(part))
		}
		if len(parts) > 8 {
			lines = append(lines, fmt.Sprintf("… and %d more lines", len(parts)-8))
		}
		c.Framing += int64(len(body)) - inner // newlines and surrounding space
		return lines, c
	}
	d, c, _, _ := describeMessage(body)
	return []string{"body: " + d}, c
}
