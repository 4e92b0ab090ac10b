package sse

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	gosse "github.com/tmaxmax/go-sse"

	"github.com/netlab/netlab/transport"
)

// FuzzEventRoundTrip: any message, written as an event the way the server
// writes it (appendEvent) and parsed by go-sse as the client parses it,
// arrives unchanged, as exactly one event.
func FuzzEventRoundTrip(f *testing.F) {
	f.Add(uint64(1), "tick", "", int64(0), []byte("1"))
	f.Add(uint64(0), "", "", int64(0), []byte("plain text"))
	f.Add(uint64(0), "", "", int64(0), []byte(" leading space"))
	f.Add(uint64(0), "", "", int64(0), []byte("two\nlines\r\nthree\rfour"))
	f.Add(uint64(3), "bin", "room", int64(1732650000123456789), []byte{0, 0xff, '\n', ':'})
	f.Add(uint64(0), "", "", int64(0), []byte("{not json"))
	f.Add(uint64(0), "", "", int64(0), []byte("data: fake\n\nid: 9"))
	f.Fuzz(func(t *testing.T, seq uint64, event, room string, sent int64, data []byte) {
		m := transport.Message{Seq: seq, Event: event, Room: room, Data: data}
		if sent != 0 {
			m.Sent = time.Unix(0, sent)
		}
		stream := bytes.NewBuffer(appendEvent(nil, 7, encodeData(m)))
		n := 0
		for got, err := range gosse.Read(stream, &gosse.ReadConfig{MaxEventSize: 1 << 20}) {
			if err != nil {
				t.Fatalf("parsing %q: %v", stream.String(), err)
			}
			n++
			back, err := transport.Decode([]byte(got.Data))
			if err != nil {
				// Encode refuses nothing the fuzzer makes but non-UTF-8
				// event or room names, which Decode then rejects.
				if validUTF8(event) && validUTF8(room) {
					t.Fatalf("decode %q: %v", got.Data, err)
				}
				return
			}
			if back.Seq != m.Seq || !bytes.Equal(back.Data, m.Data) || !back.Sent.Equal(m.Sent) ||
				(validUTF8(event) && validUTF8(room) && (back.Event != m.Event || back.Room != m.Room)) {
				t.Fatalf("sent %+v, the event %q read back %+v (sent equal %v)", m, got.Data, back, back.Sent.Equal(m.Sent))
			}
			if got.LastEventID != "7" {
				t.Fatalf("id %q, want 7", got.LastEventID)
			}
		}
		if n != 1 {
			t.Fatalf("%d events read from %q, want 1", n, stream.String())
		}
	})
}

// FuzzPostBody: any POST body is either refused with a status or decoded
// into messages within the limits; it never panics.
func FuzzPostBody(f *testing.F) {
	f.Add([]byte("hello\nworld\n"))
	f.Add([]byte(`{"seq":1,"text":"x"}` + "\r\n" + `{"seq":`))
	f.Add([]byte(`{"data":"AAEC"}`))
	o := Options{MaxMessage: 64}.withDefaults()
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, status, err := decodeLines(body, o)
		if err != nil {
			if status != 400 && status != 413 {
				t.Fatalf("error %v with status %d", err, status)
			}
			return
		}
		for _, m := range msgs {
			if len(m.Data) > o.MaxMessage {
				t.Fatalf("a %d-byte message passed the %d-byte limit", len(m.Data), o.MaxMessage)
			}
		}
	})
}

func validUTF8(s string) bool { return utf8.ValidString(s) }

// FuzzEventStream: any bytes a server sends down the stream, read as the
// client reads them (go-sse's parser, with the client's buffer limit; then
// the client's own step, messageOf): never a panic, never an event past the
// buffer limit, never a message past MaxMessage.
func FuzzEventStream(f *testing.F) {
	f.Add([]byte("retry: 1000\n\nid: 1\ndata: hello\n\n"))
	f.Add([]byte("event: session\ndata: abc\n\n: ping\n\nid: 2\ndata: {\"seq\":2,\"data\":\"AAEC\"}\n\n"))
	f.Add([]byte("data: {\"seq\":\ndata: 3}\r\n\r\nid: \x00\n"))
	f.Add([]byte("event: end\ndata: closed\n\n"))
	o := Options{MaxMessage: 64}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		limit := o.wireLimit() + 64
		for ev, err := range gosse.Read(bytes.NewReader(b), &gosse.ReadConfig{MaxEventSize: limit}) {
			if err != nil {
				return // the client reconnects
			}
			if len(ev.Data) > limit {
				t.Fatalf("a %d-byte event passed the %d-byte buffer", len(ev.Data), limit)
			}
			if m, ok, _ := o.messageOf(ev); ok && len(m.Data) > o.MaxMessage {
				t.Fatalf("a %d-byte message (limit %d) out of a %d-byte event", len(m.Data), o.MaxMessage, len(ev.Data))
			}
		}
	})
}
