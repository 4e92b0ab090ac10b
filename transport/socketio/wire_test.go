package socketio

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/transport/wire"
)

// lockedBuffer is a bytes.Buffer the tap's decoder may write to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The wire view names each attachment of a binary event and of a binary
// ack over WebSocket: the text frame announces them, the binary frames
// after it are the attachments, raw. Both directions, over a real
// connection between netlab's client and server, through the tap.
func TestWireNamesBinaryAttachmentsOverWebSocket(t *testing.T) {
	addr := startNetlab(t, ServerOptions{})
	var out lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var tap *wire.Tap
	tapped, err := wire.Via(wire.Config{Out: &out, DumpBytes: -1}, func(tp *wire.Tap) { tap = tp })(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Connect(ctx, tapped, ClientOptions{Transports: []string{WebSocket}})
	if err != nil {
		t.Fatal(err)
	}
	img := []byte{0x00, 0x01, 0xfe, 0xff}
	big := bytes.Repeat([]byte{0xab}, 300)
	if _, atts, err := c.EmitWithAckBinary(ctx, "echo", img, map[string]any{"big": big}); err != nil || len(atts) != 2 {
		t.Fatalf("binary echo: %v, %d attachments back (want 2)", err, len(atts))
	}
	c.Close()
	cancel()
	tap.Close()
	trace := out.String()
	for _, want := range []string{
		"Socket.IO 5 BINARY_EVENT ack id=0 event \"echo\"",
		"(2 binary attachment(s) follow;",
		"Socket.IO 6 BINARY_ACK ack id=0",
		"Engine.IO binary packet: 4 B, attachment num=0 of the 2 announced",
		"Engine.IO binary packet: 300 B, attachment num=1 of the 2 announced",
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	// Each attachment is named twice: on its way to the server and in
	// the ack that brings it back.
	if n := strings.Count(trace, "attachment num="); n != 4 {
		t.Errorf("trace names %d attachments, want 4 (2 each way)", n)
	}
	if t.Failed() || testing.Verbose() {
		t.Log(trace)
	}
}
