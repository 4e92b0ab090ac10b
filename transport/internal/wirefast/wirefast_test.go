package wirefast

import (
	"bytes"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

func same(a, b transport.Message) bool {
	return a.Seq == b.Seq && a.Event == b.Event && a.Room == b.Room && a.Sent.Equal(b.Sent) &&
		a.Sent.IsZero() == b.Sent.IsZero() && bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

func check(t *testing.T, b []byte) {
	got, gerr := Decode(b)
	want, werr := transport.Decode(b)
	if (gerr == nil) != (werr == nil) || !same(got, want) {
		t.Fatalf("Decode(%q) = %+v, %v; transport.Decode gives %+v, %v", b, got, gerr, want, werr)
	}
}

func seeds() [][]byte {
	sent := time.Unix(1732650000, 123456789)
	out := [][]byte{
		[]byte(`{}`), []byte(`{"seq":0}`), []byte(`{"seq":01}`), []byte(`{"seq":1.5}`), []byte(`{"seq":-1}`),
		[]byte(`{"seq":18446744073709551615}`), []byte(`{"seq":18446744073709551616}`),
		[]byte(`{"seq":1,"seq":2}`), []byte(`{"text":""}`), []byte(`{"text":"a\nb"}`), []byte(`{"text":"é"}`),
		[]byte(`{"text":"\xff"}`), []byte(`{"sent_ns":-5}`), []byte(`{"sent_ns":0}`), []byte(`{"x":1}`),
		[]byte(`{"seq":1,}`), []byte(`{"seq":1} `), []byte(` {"seq":1}`), []byte(`plain`), []byte(``),
		[]byte(`{"event":"a","room":"r","text":"hi","seq":3}`), []byte(`{"seq":1}{"seq":2}`),
	}
	for _, m := range []transport.Message{
		{Seq: 1, Event: "echo", Room: "lobby", Sent: sent, Data: []byte("hello")},
		{Seq: 2, Data: []byte{0xff, 0}},
		{Data: []byte("quote \" and \\ and <b>")},
		{Seq: 9, Event: "e", Data: bytes.Repeat([]byte("x"), 64)},
	} {
		out = append(out, transport.Encode(m))
	}
	return out
}

func TestMatchesTransportDecode(t *testing.T) {
	for _, b := range seeds() {
		check(t, b)
	}
}

func FuzzMatchesTransportDecode(f *testing.F) {
	for _, b := range seeds() {
		f.Add(b)
	}
	f.Fuzz(check)
}

func BenchmarkDecode(b *testing.B) {
	e := transport.Encode(transport.Message{Seq: 12345, Event: "echo", Sent: time.Now(), Data: bytes.Repeat([]byte("x"), 64)})
	b.Run("wirefast", func(b *testing.B) {
		for b.Loop() {
			Decode(e)
		}
	})
	b.Run("transport", func(b *testing.B) {
		for b.Loop() {
			transport.Decode(e)
		}
	})
}

func FuzzEncodeMatchesTransport(f *testing.F) {
	f.Add(uint64(1), "echo", "lobby", int64(1732650000123456789), []byte("hello"))
	f.Add(uint64(0), "", "", int64(0), []byte{})
	f.Add(uint64(5), "a\"b", "r\u2028", int64(-1), []byte{0xff})
	f.Add(uint64(5), "é", "<b>&", int64(1), []byte("line\nbreak"))
	f.Fuzz(func(t *testing.T, seq uint64, event, room string, ns int64, data []byte) {
		m := transport.Message{Seq: seq, Event: event, Room: room, Data: data}
		if ns != 0 {
			m.Sent = time.Unix(0, ns)
		}
		got, want := Encode(m), transport.Encode(m)
		if !bytes.Equal(got, want) {
			t.Fatalf("Encode(%+v) = %s, transport.Encode gives %s", m, got, want)
		}
		back, err := Decode(got)
		if err != nil || back.Seq != m.Seq {
			t.Fatalf("Decode(Encode(m)) = %+v, %v", back, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	m := transport.Message{Seq: 12345, Event: "echo", Sent: time.Now(), Data: bytes.Repeat([]byte("x"), 64)}
	b.Run("wirefast", func(b *testing.B) {
		for b.Loop() {
			Encode(m)
		}
	})
	b.Run("transport", func(b *testing.B) {
		for b.Loop() {
			transport.Encode(m)
		}
	})
}
