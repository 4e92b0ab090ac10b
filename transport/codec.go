package transport

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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
	Seq    uint64 `json:"seq"`
	Event  string `json:"event"`
	Room   string `json:"room"`
	SentNs int64  `json:"sent_ns"`
	Text   string `json:"text"`
	Data   []byte `json:"data,format:base64"`
}

// The wire form is decoded by github.com/go-json-experiment/json (what
// becomes encoding/json/v2): unknown members, duplicate names and text after
// the object are errors; invalid UTF-8 inside a string becomes U+FFFD, as
// encoding/json has always done. It is encoded by AppendEncode, field by
// field in the order above, with the same library's string quoting: a
// struct through json.Marshal costs about five times as much (reflection and
// a copy), and every message pays it on both ends.
var unmarshalOpts = json.JoinOptions(json.RejectUnknownMembers(true), jsontext.AllowInvalidUTF8(true))

// ErrMalformed is returned when bytes that claim to be a message (a JSON
// object) cannot be decoded.
var ErrMalformed = errors.New("malformed message")

// Encode returns the JSON wire form of m (without a trailing newline).
func Encode(m Message) []byte {
	return AppendEncode(nil, m)
}

// AppendEncode appends the JSON wire form of m to b.
func AppendEncode(b []byte, m Message) []byte {
	b = append(b, '{')
	start := len(b)
	name := func(n string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, n...)
	}
	// AppendQuote only fails on invalid UTF-8, which it has replaced by
	// U+FFFD: the output is valid either way.
	if m.Seq != 0 {
		name(`"seq":`)
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	if m.Event != "" {
		name(`"event":`)
		b, _ = jsontext.AppendQuote(b, m.Event)
	}
	if m.Room != "" {
		name(`"room":`)
		b, _ = jsontext.AppendQuote(b, m.Room)
	}
	if !m.Sent.IsZero() {
		if ns := m.Sent.UnixNano(); ns != 0 {
			name(`"sent_ns":`)
			b = strconv.AppendInt(b, ns, 10)
		}
	}
	if len(m.Data) > 0 {
		if utf8.Valid(m.Data) {
			name(`"text":`)
			b, _ = jsontext.AppendQuote(b, m.Data)
		} else {
			name(`"data":"`)
			b = base64.StdEncoding.AppendEncode(b, m.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

// IsPlainText reports whether b (a line, datagram, frame or body a peer
// sent) is plain text rather than a message in wire form: after leading
// spaces and tabs it does not start with '{'. This is netlab's one rule for
// telling someone typing (nc, curl, wscat) from a program speaking JSON.
func IsPlainText(b []byte) bool {
	b = bytes.TrimLeft(b, " \t")
	return len(b) == 0 || b[0] != '{'
}

// SendsAsPlainText reports whether m can go to a plain-text peer as its bare
// bytes with nothing lost: m has only Data, that Data is text (valid UTF-8
// without NUL) and it reads back as the same message: plain (see
// IsPlainText) and, when the peer reads lines (lines is true: TCP, an HTTP
// body of lines), one line that is not blank. Any other message goes to a
// plain-text peer in wire form all the same.
func SendsAsPlainText(m Message, lines bool) bool {
	if m.Seq != 0 || m.Event != "" || m.Room != "" || !m.Sent.IsZero() ||
		!utf8.Valid(m.Data) || bytes.IndexByte(m.Data, 0) >= 0 || !IsPlainText(m.Data) {
		return false
	}
	return !lines || (!bytes.ContainsAny(m.Data, "\r\n") && len(bytes.TrimSpace(m.Data)) > 0)
}

// Decode reads one message in wire form. Plain text (see IsPlainText) is a
// message whose bytes are Data; input that starts with '{' but is not valid
// JSON of the wire form is an error matching ErrMalformed.
func Decode(b []byte) (Message, error) {
	if IsPlainText(b) {
		return Message{Data: bytes.Clone(b)}, nil
	}
	var w wireMessage
	if err := json.Unmarshal(b, &w, unmarshalOpts); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
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
