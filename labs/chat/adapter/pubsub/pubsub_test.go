package pubsub

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter"
	"github.com/netlab/netlab/transport"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	e := Envelope{
		Broadcast: adapter.Broadcast{Origin: "s1", Rooms: []string{"a", "b"}, Except: []string{"c1"},
			Msg: transport.Message{Seq: 3, Event: "chat", Room: "a", Sent: time.Unix(1, 5), Data: []byte("héllo <b>")}},
		Boot: "ff00", Seq: 7, Published: time.Unix(2, 9),
	}
	got, err := Decode(Encode(e))
	if err != nil {
		t.Fatal(err)
	}
	g, w := got.Broadcast, e.Broadcast
	if g.Origin != w.Origin || !slices.Equal(g.Rooms, w.Rooms) || !slices.Equal(g.Except, w.Except) ||
		g.Msg.Seq != w.Msg.Seq || g.Msg.Event != w.Msg.Event || g.Msg.Room != w.Msg.Room ||
		!g.Msg.Sent.Equal(w.Msg.Sent) || string(g.Msg.Data) != string(w.Msg.Data) ||
		got.Boot != e.Boot || got.Seq != e.Seq || !got.Published.Equal(e.Published) {
		t.Errorf("round trip: got %+v, want %+v", got, e)
	}
	// Binary data survives too (base64 in the message's "data").
	e.Broadcast.Msg.Data = []byte{0xff, 0, 1}
	got, err = Decode(Encode(e))
	if err != nil || string(got.Broadcast.Msg.Data) != string(e.Broadcast.Msg.Data) {
		t.Errorf("binary round trip: got %q, %v", got.Broadcast.Msg.Data, err)
	}
}

func TestEnvelopeWireForm(t *testing.T) {
	e := Envelope{Broadcast: adapter.Broadcast{Origin: "s1", Rooms: []string{"lobby"},
		Msg: transport.Message{Event: "chat", Data: []byte("hi")}}, Boot: "b", Seq: 1, Published: time.Unix(0, 42)}
	want := `{"v":1,"origin":"s1","boot":"b","seq":1,"pub_ns":42,"rooms":["lobby"],"msg":{"event":"chat","text":"hi"}}`
	if got := string(Encode(e)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, in := range []string{
		``, `hello`, `[]`, `{}`,
		`{"v":2,"origin":"s","seq":1,"msg":{}}`,
		`{"v":1,"seq":1,"msg":{}}`,
		`{"v":1,"origin":"s","msg":{}}`,
		`{"v":1,"origin":"s","seq":1,"msg":"text"}`,
		`{"v":1,"origin":"s","seq":1}`,
		`{"v":1,"origin":"s","seq":1,"msg":{"seq":"x"}}`,
		`{"v":1,"origin":"s","seq":1,"msg":{},"extra":1}`,
		`{"v":1,"origin":"s","seq":1,"msg":{}} {}`,
	} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q): got %v, want ErrMalformed", in, err)
		}
	}
}

func TestCoreCountsOwnGapsAndDuplicates(t *testing.T) {
	pub, sub := NewCore("s1"), NewCore("s2")
	var got []uint64
	if err := sub.SetHandler(func(b adapter.Broadcast) { got = append(got, b.Msg.Seq) }); err != nil {
		t.Fatal(err)
	}
	var sealed [][]byte
	for i := range 6 {
		data, err := pub.Seal(adapter.Broadcast{Msg: transport.Message{Seq: uint64(i + 1)}})
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, data)
	}
	// Deliver 1, 2, 2 (duplicate), 5 (3 and 4 lost), 6; and one of s2's own.
	for _, i := range []int{0, 1, 1, 4, 5} {
		sub.Deliver(sealed[i])
	}
	own, _ := sub.Seal(adapter.Broadcast{})
	sub.Deliver(own)
	sub.Deliver([]byte("not an envelope"))
	if want := []uint64{1, 2, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("handler got %v, want %v", got, want)
	}
	st := sub.Stats()
	want := Stats{Received: 4, Missed: 2, Duplicates: 1, Own: 1, Malformed: 1, Connected: true}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	// A restarted s1 (new boot) starts again at 1: not duplicates.
	again := NewCore("s1")
	data, _ := again.Seal(adapter.Broadcast{Msg: transport.Message{Seq: 100}})
	sub.Deliver(data)
	if st := sub.Stats(); st.Received != 5 || st.Duplicates != 1 || st.Missed != 2 {
		t.Errorf("after a restarted publisher: %+v", st)
	}
}

func TestCoreTooLarge(t *testing.T) {
	c := NewCore("s1")
	_, err := c.Seal(adapter.Broadcast{Msg: transport.Message{Data: make([]byte, MaxEnvelope)}})
	if !errors.Is(err, transport.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if st := c.Stats(); st.PublishErrors != 1 {
		t.Errorf("publish errors %d, want 1", st.PublishErrors)
	}
}

func TestCoreConnectedTransitions(t *testing.T) {
	c := NewCore("")
	if c.ID() == "" {
		t.Fatal("empty id not replaced by a random one")
	}
	c.Disconnected()
	c.Disconnected()
	c.Reconnected()
	c.Reconnected()
	if st := c.Stats(); st.Disconnects != 1 || st.Reconnects != 1 || !st.Connected {
		t.Errorf("stats %+v, want 1 disconnect, 1 reconnect, connected", st)
	}
}

// FuzzDecode feeds Decode arbitrary bytes, as a broker subject or channel
// anyone can publish on may carry: it must never panic, and what it accepts
// must survive a round trip.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"origin":"s1","boot":"b","seq":1,"pub_ns":42,"rooms":["lobby"],"msg":{"event":"chat","text":"hi"}}`))
	f.Add([]byte(`{"v":1,"origin":"s","seq":1,"msg":{"data":"/wA="}}`))
	f.Add([]byte(`{"v":1,"origin":"s","seq":1,"msg":"x"}`))
	f.Add([]byte(`hello`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(Encode(e))
		if err != nil {
			t.Fatalf("re-decode of %q: %v", Encode(e), err)
		}
		if again.Broadcast.Origin != e.Broadcast.Origin || again.Seq != e.Seq ||
			string(again.Broadcast.Msg.Data) != string(e.Broadcast.Msg.Data) {
			t.Fatalf("round trip changed %+v into %+v", e, again)
		}
	})
}

// FuzzDecodePresence feeds the presence decoder arbitrary bytes: it must
// never panic, and what it accepts must survive a round trip.
func FuzzDecodePresence(f *testing.F) {
	f.Add([]byte(`{"v":1,"origin":"s1","room":"math","reply":"x.1"}`))
	f.Add([]byte(`{"v":1,"origin":"s2","members":[{"server":"s2","id":"a","name":"bo","door":"ws"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req PresenceRequest
		if DecodePresence(b, &req) == nil {
			var again PresenceRequest
			if err := DecodePresence(EncodeJSON(req), &again); err != nil || again != req {
				t.Fatalf("request round trip: %+v -> %+v, %v", req, again, err)
			}
		}
		var ans PresenceAnswer
		if DecodePresence(b, &ans) == nil {
			var again PresenceAnswer
			if err := DecodePresence(EncodeJSON(ans), &again); err != nil || len(again.Members) != len(ans.Members) {
				t.Fatalf("answer round trip: %+v -> %+v, %v", ans, again, err)
			}
		}
	})
}
