package transport

import (
	"bytes"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	sent := time.Unix(1732650000, 123456789)
	cases := []Message{
		{},
		{Seq: 1, Event: "echo", Data: []byte("hello")},
		{Seq: 42, Event: "chat", Room: "lobby", Sent: sent, Data: []byte("héllo <b>&</b> \"quoted\"\n")},
		{Seq: 7, Data: []byte{0xff, 0x00, 0x80}},
	}
	for _, m := range cases {
		b := Encode(m)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		if got.Seq != m.Seq || got.Event != m.Event || got.Room != m.Room || !got.Sent.Equal(m.Sent) || !bytes.Equal(got.Data, m.Data) {
			t.Errorf("round trip of %+v gave %+v (wire %s)", m, got, b)
		}
	}
}

func TestEncodeIsReadable(t *testing.T) {
	got := string(Encode(Message{Seq: 1, Event: "echo", Data: []byte("hi <there>")}))
	want := `{"seq":1,"event":"echo","text":"hi <there>"}`
	if got != want {
		t.Fatalf("Encode = %s, want %s", got, want)
	}
}

func TestDecodePlainText(t *testing.T) {
	m, err := Decode([]byte("hello there"))
	if err != nil || string(m.Data) != "hello there" || m.Seq != 0 {
		t.Fatalf("Decode(plain) = %+v, %v", m, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, in := range []string{`{`, `{"seq":-1}`, `{"seq":1}{}`, `{"nope":1}`, `{"text":"a","data":"YQ=="}`, `{"data":"***"}`, `{"room":"r","room":"s"}`, `{"SEQ":3}`, `{"seq":1.5}`, `{"seq":01}`} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%s) err = %v, want ErrMalformed", in, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"seq":1,"event":"echo","text":"hi"}`))
	f.Add([]byte(`{"data":"AAEC"}`))
	f.Add([]byte("plain"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same message.
		m2, err := Decode(Encode(m))
		if err != nil || m2.Seq != m.Seq || m2.Event != m.Event || !bytes.Equal(m2.Data, m.Data) {
			t.Fatalf("re-decode of %q: %+v, %v", b, m2, err)
		}
	})
}

func FuzzEncodeDecode(f *testing.F) {
	f.Add(uint64(1), "echo", "room", int64(5), []byte("text \"q\" \n\t\x01 é \u2028 <>&"))
	f.Add(uint64(0), "", "", int64(0), []byte{0xff, 0})
	f.Fuzz(func(t *testing.T, seq uint64, event, room string, sent int64, data []byte) {
		if !utf8.ValidString(event) || !utf8.ValidString(room) {
			return // names are text; invalid bytes in them become U+FFFD
		}
		m := Message{Seq: seq, Event: event, Room: room, Data: data}
		if sent != 0 {
			m.Sent = time.Unix(0, sent)
		}
		b := Encode(m)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)) = %v (wire %s)", m, err, b)
		}
		if got.Seq != m.Seq || got.Event != m.Event || got.Room != m.Room || !got.Sent.Equal(m.Sent) || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("round trip of %+v gave %+v (wire %s)", m, got, b)
		}
	})
}

func TestEncodeEscapesOnlyWhatJSONNeeds(t *testing.T) {
	got := string(Encode(Message{Event: "a\"b", Data: []byte("<&>\\\n\x01")}))
	want := `{"event":"a\"b","text":"<&>\\\n\u0001"}`
	if got != want {
		t.Fatalf("Encode = %s, want %s", got, want)
	}
	if got := Encode(Message{Event: "bad\xff"}); string(got) != `{"event":"bad\ufffd"}` && string(got) != "{\"event\":\"bad\uFFFD\"}" && string(got) != "{\"event\":\"bad\xef\xbf\xbd\"}" {
		t.Fatalf("Encode of invalid UTF-8 = %q, want U+FFFD in its place", got)
	}
}

func TestAppendEncodeAppends(t *testing.T) {
	got := AppendEncode([]byte("x:"), Message{Seq: 3})
	if string(got) != `x:{"seq":3}` {
		t.Fatalf("AppendEncode = %q", got)
	}
}

func TestPlainTextRule(t *testing.T) {
	for in, want := range map[string]bool{
		"hello": true, "": true, "  hi {": true, `{"seq":1}`: false, " \t{": false, "[1]": true,
	} {
		if got := IsPlainText([]byte(in)); got != want {
			t.Errorf("IsPlainText(%q) = %v, want %v", in, got, want)
		}
	}
	for _, c := range []struct {
		m           Message
		line, whole bool // as a line (TCP), as a whole datagram or frame (UDP, WebSocket)
	}{
		{Message{Data: []byte("hi there")}, true, true},
		{Message{Data: []byte("héllo")}, true, true},
		{Message{Seq: 1, Data: []byte("hi")}, false, false},
		{Message{Event: "chat", Data: []byte("hi")}, false, false},
		{Message{Room: "r", Data: []byte("hi")}, false, false},
		{Message{Sent: time.Unix(1, 0), Data: []byte("hi")}, false, false},
		{Message{Data: []byte("two\nlines")}, false, true},
		{Message{Data: []byte("hello\n")}, false, true},
		{Message{Data: []byte("cr\r")}, false, true},
		{Message{Data: []byte(" ")}, false, true},
		{Message{}, false, true},
		{Message{Data: []byte("nul\x00")}, false, false},
		{Message{Data: []byte{0xff}}, false, false},
		{Message{Data: []byte(` {"seq":1}`)}, false, false},
	} {
		if got := SendsAsPlainText(c.m, true); got != c.line {
			t.Errorf("SendsAsPlainText(%+v, lines) = %v, want %v", c.m, got, c.line)
		}
		if got := SendsAsPlainText(c.m, false); got != c.whole {
			t.Errorf("SendsAsPlainText(%+v, whole) = %v, want %v", c.m, got, c.whole)
		}
		if SendsAsPlainText(c.m, false) {
			// What goes out as plain text reads back as the same message.
			back, err := Decode(c.m.Data)
			if err != nil || !bytes.Equal(back.Data, c.m.Data) || back.Seq != 0 || back.Event != "" {
				t.Errorf("plain %q reads back as %+v, %v", c.m.Data, back, err)
			}
		}
	}
}

func TestDecodeNumberEdges(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		seq    uint64
		sentNs int64
	}{
		{`{"seq":18446744073709551615}`, true, 1<<64 - 1, 0},
		{`{"seq":18446744073709551616}`, false, 0, 0},
		{`{"seq":-0}`, false, 0, 0},
		{`{"seq":-1}`, false, 0, 0},
		{`{"sent_ns":-9223372036854775808}`, true, 0, -1 << 63},
		{`{"sent_ns":9223372036854775807}`, true, 0, 1<<63 - 1},
		{`{"sent_ns":9223372036854775808}`, false, 0, 0},
		{`{"sent_ns":-0}`, true, 0, 0},
	}
	for _, c := range cases {
		m, err := Decode([]byte(c.in))
		if (err == nil) != c.ok {
			t.Errorf("Decode(%s) err = %v, want ok %v", c.in, err, c.ok)
			continue
		}
		var ns int64
		if !m.Sent.IsZero() {
			ns = m.Sent.UnixNano()
		}
		if c.ok && (m.Seq != c.seq || ns != c.sentNs) {
			t.Errorf("Decode(%s) = seq %d sent %d, want %d %d", c.in, m.Seq, ns, c.seq, c.sentNs)
		}
	}
}
