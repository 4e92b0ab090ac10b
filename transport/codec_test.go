package transport

import (
	"bytes"
	"encoding/json"
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
	for _, in := range []string{`{`, `{"seq":-1}`, `{"seq":1}{}`, `{"nope":1}`, `{"text":"a","data":"YQ=="}`, `{"data":"***"}`} {
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

// decodeWithEncodingJSON is the reference decoder the hand-written one must
// agree with.
func decodeWithEncodingJSON(b []byte) (wireMessage, error) {
	var w wireMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, err
	}
	if dec.More() {
		return w, errors.New("more")
	}
	return w, nil
}

func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"event":"echo","text":"hi"}`, `{}`, ` { "seq" : 18446744073709551615 } `,
		`{"text":"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x"}`, `{"data":"AAEC"}`, `{"sent_ns":-5}`,
		`{"seq":01}`, `{"seq":1.5}`, `{"room":"r","room":"s"}`, "{\"text\":\"\xff\"}", `{"SEQ":3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Message
		err := parseMessage(b, &fast)
		if err == errSyntax {
			return // declined: Decode falls back to encoding/json itself
		}
		w, rerr := decodeWithEncodingJSON(b)
		if rerr != nil {
			t.Fatalf("fast parser accepted %q (err %v), encoding/json rejects it: %v", b, err, rerr)
		}
		ref, referr := fromWire(w)
		if (err == nil) != (referr == nil) {
			t.Fatalf("%q: fast parser err %v, reference %v", b, err, referr)
		}
		if err != nil {
			return
		}
		if fast.Seq != ref.Seq || fast.Event != ref.Event || fast.Room != ref.Room || !fast.Sent.Equal(ref.Sent) ||
			!bytes.Equal(fast.Data, ref.Data) || (fast.Data == nil) != (ref.Data == nil) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, ref)
		}
	})
}

func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add(uint64(1), "echo", "room", int64(5), []byte("text \"q\" \n\t\x01 é \u2028 <>&"))
	f.Add(uint64(0), "", "", int64(0), []byte{0xff, 0})
	f.Fuzz(func(t *testing.T, seq uint64, event, room string, sent int64, data []byte) {
		w := wireMessage{Seq: seq, Event: event, Room: room, SentNs: sent}
		if utf8.Valid(data) {
			w.Text = string(data)
		} else {
			w.Data = data
		}
		m := Message{Seq: seq, Event: event, Room: room, Data: data}
		if sent != 0 {
			m.Sent = time.Unix(0, sent)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(w)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendEncode(nil, m); !bytes.Equal(got, want) {
			t.Fatalf("AppendEncode = %s\nencoding/json = %s", got, want)
		}
	})
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
