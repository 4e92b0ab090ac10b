package socketio

import (
	"bytes"
	"testing"

	"github.com/netlab/netlab/transport/socketio/packet"
)

// TestEncodeBinary: a []byte argument becomes a placeholder and an
// attachment, as in the examples of the Socket.IO v5 protocol
// (https://github.com/socketio/socket.io-protocol); without one the
// packet stays a plain EVENT or ACK.
func TestEncodeBinary(t *testing.T) {
	tests := []struct {
		t      packet.SocketType
		ns     string
		id     int64
		values []any
		want   string
		atts   [][]byte
	}{
		{packet.Event, "/", packet.NoID, []any{"hello", []byte{1, 2, 3}}, `51-["hello",{"_placeholder":true,"num":0}]`, [][]byte{{1, 2, 3}}},
		{packet.Ack, "/admin", 456, []any{[]byte{3, 2, 1}}, `61-/admin,456[{"_placeholder":true,"num":0}]`, [][]byte{{3, 2, 1}}},
		{packet.Event, "/", 7, []any{"up", []any{"a", []byte{9}}, map[string]any{"b": []byte{8}}}, `52-7["up",["a",{"_placeholder":true,"num":0}],{"b":{"_placeholder":true,"num":1}}]`, [][]byte{{9}, {8}}},
		{packet.Event, "/", packet.NoID, []any{"hello", "text", map[string]any{"n": 1}}, `2["hello","text",{"n":1}]`, nil},
		{packet.Ack, "/", 3, []any{}, `33[]`, nil},
	}
	for _, tt := range tests {
		ps, err := encode(tt.t, tt.ns, tt.id, tt.values)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ps[0].Data); ps[0].Type != packet.Message || ps[0].Binary || got != tt.want {
			t.Errorf("encode %v: first packet %q (binary %v), want message %q", tt.values, got, ps[0].Binary, tt.want)
		}
		if len(ps)-1 != len(tt.atts) {
			t.Errorf("encode %v: %d attachments, want %d", tt.values, len(ps)-1, len(tt.atts))
			continue
		}
		for i, a := range tt.atts {
			if p := ps[i+1]; !p.Binary || !bytes.Equal(p.Data, a) {
				t.Errorf("encode %v: attachment %d = %v (binary %v), want %v", tt.values, i, p.Data, p.Binary, a)
			}
		}
	}
}
