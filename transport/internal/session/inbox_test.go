package session

import (
	"testing"

	"github.com/netlab/netlab/transport"
)

// PutAll takes a POST's messages all together or not at all.
func TestInboxPutAllOrNothing(t *testing.T) {
	b := NewInbox(3)
	two := []transport.Message{{Seq: 1}, {Seq: 2}}
	if room, ok := b.PutAll(two); !ok || room != 3 {
		t.Fatalf("first PutAll: room %d, ok %v; want 3, true", room, ok)
	}
	if room, ok := b.PutAll(two); ok || room != 1 {
		t.Fatalf("second PutAll: room %d, ok %v; want 1, false", room, ok)
	}
	if len(b.C) != 2 {
		t.Fatalf("%d messages in the inbox after a refused PutAll, want the first 2 only", len(b.C))
	}
	<-b.C
	if _, ok := b.PutAll(two); !ok {
		t.Fatal("PutAll refused with room for both")
	}
	for _, want := range []uint64{2, 1, 2} {
		if m := <-b.C; m.Seq != want {
			t.Fatalf("took seq %d, want %d", m.Seq, want)
		}
	}
}
