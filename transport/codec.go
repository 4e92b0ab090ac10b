package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// The wire form of a Message, shared by every netlab transport (a line on
// TCP, a datagram on UDP, a text frame on WebSocket, an element of a polling
// response): one JSON object, with empty fields left out.
//
//	{"seq":1,"event":"echo","room":"lobby","sent_ns":1732650000000000000,"text":"hello"}
//
//	seq      Message.Seq
//	event    Message.Event
//	room     Message.Room
//	sent_ns  Message.Sent as nanoseconds since the Unix epoch
//	text     Message.Data when it is valid UTF-8 (readable in nc, curl, wscat)
//	data     Message.Data, base64 (RFC 4648 standard), when it is not
//
// A line or datagram that is not a JSON object is read as a plain text
// message: its bytes are Data, the other fields are empty. That is what lets
// nc, curl and wscat users type plain words at netlab's servers.
type wireMessage struct {
	Seq    uint64 `json:"seq,omitempty"`
	Event  string `json:"event,omitempty"`
	Room   string `json:"room,omitempty"`
	SentNs int64  `json:"sent_ns,omitempty"`
	Text   string `json:"text,omitempty"`
	Data   []byte `json:"data,omitempty"`
}

// ErrMalformed is returned when bytes that claim to be a message (a JSON
// object) cannot be decoded.
var ErrMalformed = errors.New("malformed message")

// Encode returns the JSON wire form of m (without a trailing newline).
func Encode(m Message) []byte {
	return AppendEncode(nil, m)
}

// AppendEncode appends the JSON wire form of m to b.
func AppendEncode(b []byte, m Message) []byte {
	w := wireMessage{Seq: m.Seq, Event: m.Event, Room: m.Room}
	if !m.Sent.IsZero() {
		w.SentNs = m.Sent.UnixNano()
	}
	if utf8.Valid(m.Data) {
		w.Text = string(m.Data)
	} else {
		w.Data = m.Data
	}
	return appendWire(b, &w)
}

// Decode reads one message in wire form. Input that does not start with '{'
// (after spaces) is a plain text message; input that does but is not valid
// JSON of the wire form is an error matching ErrMalformed.
func Decode(b []byte) (Message, error) {
	trimmed := bytes.TrimLeft(b, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Message{Data: bytes.Clone(b)}, nil
	}
	var w wireMessage
	if err := parseWire(trimmed, &w); err == nil {
		return fromWire(w)
	}
	// The fast parser declined: let encoding/json decide (and explain).
	w = wireMessage{}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Message{}, fmt.Errorf("%w: text after the JSON object", ErrMalformed)
	}
	return fromWire(w)
}

func fromWire(w wireMessage) (Message, error) {
	if w.Text != "" && w.Data != nil {
		return Message{}, fmt.Errorf("%w: both text and data set", ErrMalformed)
	}
	m := Message{Seq: w.Seq, Event: w.Event, Room: w.Room, Data: w.Data}
	if w.Text != "" {
		m.Data = []byte(w.Text)
	}
	if w.SentNs != 0 {
		m.Sent = time.Unix(0, w.SentNs)
	}
	return m, nil
}
