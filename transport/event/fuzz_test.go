package event

import (
	"context"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

// FuzzDispatch feeds a socket whatever a peer could send, decoded from wire
// bytes as a transport would, and checks that every message is counted once:
// as handled, unhandled, or an ack (matched or late).
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"event":"tick","text":"1"}`,
		`{"seq":2,"event":"tick?","text":"2"}`,
		`{"seq":3,"event":"$ack","text":"ok"}`,
		`{"seq":4,"event":"?"}`,
		`{"seq":5,"event":"$nope?"}`,
		`{"event":""}`,
		`plain text from nc`,
		`{"seq":18446744073709551615,"event":"tick??","room":"r"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := transport.Decode(b)
		if err != nil {
			return
		}
		a, z := transporttest.Pipe()
		handled := make(chan Event, 1)
		s, err := NewSocket(z, Options{AckTimeout: time.Second, Handlers: map[string]Handler{
			"tick":    func(ctx context.Context, e Event) { e.Ack(ctx, nil); handled <- e },
			"message": func(ctx context.Context, e Event) { handled <- e },
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a.Send(ctx, m)
		a.Close()
		<-s.Done()
		st := s.Stats()
		if st.Received != 1 || st.Handled+st.Unhandled+st.AcksReceived+st.LateAcks != 1 {
			t.Fatalf("message %q: stats %+v, want it counted exactly once", b, st)
		}
		if st.Handled == 1 {
			e := <-handled
			if e.Name != "tick" && e.Name != "message" {
				t.Fatalf("handler got event %q", e.Name)
			}
		}
	})
}
