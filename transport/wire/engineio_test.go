package wire

import (
	"strings"
	"testing"
)

func TestDecodeEngineIO(t *testing.T) {
	cases := []struct {
		in, want string
		ws       bool
		payload  int64
	}{
		{in: `0{"sid":"6wCs","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, want: "0 open: sid=6wCs upgrades=[websocket] pingInterval=25000ms"},
		{in: "40", want: "Socket.IO 0 CONNECT"},
		{in: `40{"pid":"_ik4","offset":"Q8pa"}`, want: "asks to recover"},
		{in: "2probe", ws: true, want: "2probe"},
		{in: "3probe", ws: true, want: "3probe"},
		{in: "5", ws: true, want: "5 upgrade"},
		{in: "2", ws: true, want: "2 ping"},
		{in: `420["echo","hello"]`, ws: true, want: `EVENT ack id=0 event "echo" args "\"hello\""`, payload: 7},
		{in: `430["hello"]`, ws: true, want: "ACK ack id=0", payload: 7},
		{in: `451-2["echo",{"_placeholder":true,"num":0}]`, ws: true, want: "1 binary attachment"},
		{in: "6\x1e1", want: "2 Engine.IO packets in one body"},
	}
	for _, c := range cases {
		lines, cost, ok := decodeEngineIO([]byte(c.in), c.ws)
		got := strings.Join(lines, "\n")
		if !ok || !strings.Contains(got, c.want) {
			t.Errorf("decodeEngineIO(%q) = %q, %v; want it to contain %q", c.in, got, ok, c.want)
		}
		if cost.Total() != int64(len(c.in)) {
			t.Errorf("decodeEngineIO(%q): cost %s, want all %d bytes", c.in, cost, len(c.in))
		}
		if c.payload != 0 && cost.Payload != c.payload {
			t.Errorf("decodeEngineIO(%q): payload %d B, want %d", c.in, cost.Payload, c.payload)
		}
	}
	for _, notEIO := range []string{"hello", `{"seq":1}`, "1 two three", "4not a packet", "ok", "2x"} {
		if lines, _, ok := decodeEngineIO([]byte(notEIO), true); ok {
			t.Errorf("decodeEngineIO(%q) took it for Engine.IO: %q", notEIO, lines)
		}
	}
}
