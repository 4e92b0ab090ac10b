package transport

import (
	"bytes"
	"errors"
	"testing"
	"time"
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
