package packet

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseSocket(t *testing.T) {
	cases := []struct {
		in   string
		want SocketPacket
		bad  bool
	}{
		{in: "0", want: SocketPacket{Type: Connect, Namespace: "/", ID: NoID}},
		{in: `0{"pid":"p","offset":"o"}`, want: SocketPacket{Type: Connect, Namespace: "/", ID: NoID, Data: []byte(`{"pid":"p","offset":"o"}`)}},
		{in: "0/admin,", want: SocketPacket{Type: Connect, Namespace: "/admin", ID: NoID}},
		{in: "1", want: SocketPacket{Type: Disconnect, Namespace: "/", ID: NoID}},
		{in: `2["chat","hi"]`, want: SocketPacket{Type: Event, Namespace: "/", ID: NoID, Data: []byte(`["chat","hi"]`)}},
		{in: `2/admin,13["x"]`, want: SocketPacket{Type: Event, Namespace: "/admin", ID: 13, Data: []byte(`["x"]`)}},
		{in: `31["ok"]`, want: SocketPacket{Type: Ack, Namespace: "/", ID: 1, Data: []byte(`["ok"]`)}},
		{in: `51-2["up",{"_placeholder":true,"num":0}]`, want: SocketPacket{Type: BinaryEvent, Namespace: "/", ID: 2, Attachments: 1, Data: []byte(`["up",{"_placeholder":true,"num":0}]`)}},
		{in: `4{"message":"no"}`, want: SocketPacket{Type: ConnectError, Namespace: "/", ID: NoID, Data: []byte(`{"message":"no"}`)}},
		{in: "", bad: true},
		{in: "9", bad: true},
		{in: "2not json", bad: true},
		{in: `2"chat"`, bad: true},
		{in: `2[]`, bad: true},
		{in: `2["disconnect"]`, bad: true},
		{in: `1"x"`, bad: true},
		{in: `0"x"`, bad: true},
		{in: `5["x"]`, bad: true},
	}
	for _, c := range cases {
		got, err := ParseSocket([]byte(c.in))
		if c.bad {
			if !errors.Is(err, ErrBadPacket) {
				t.Errorf("ParseSocket(%q) = %+v, %v; want ErrBadPacket", c.in, got, err)
			}
			continue
		}
		if err != nil || got.Type != c.want.Type || got.Namespace != c.want.Namespace || got.ID != c.want.ID || got.Attachments != c.want.Attachments || !bytes.Equal(got.Data, c.want.Data) {
			t.Errorf("ParseSocket(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if back := AppendSocket(nil, got); c.in != "0/admin," && string(back) != c.in {
			t.Errorf("AppendSocket(ParseSocket(%q)) = %q", c.in, back)
		}
	}
}

func TestPayload(t *testing.T) {
	body := []byte("4hello\x1e2\x1ebAQID")
	ps, err := ParsePayload(body)
	if err != nil || len(ps) != 3 || ps[0].Type != Message || string(ps[0].Data) != "hello" || ps[1].Type != Ping || !ps[2].Binary || !bytes.Equal(ps[2].Data, []byte{1, 2, 3}) {
		t.Fatalf("ParsePayload(%q) = %+v, %v", body, ps, err)
	}
	if back := AppendPayload(nil, ps); !bytes.Equal(back, body) {
		t.Errorf("AppendPayload = %q, want %q", back, body)
	}
	for _, bad := range []string{"", "4a\x1e", "x", "b!!"} {
		if _, err := ParsePayload([]byte(bad)); !errors.Is(err, ErrBadPacket) {
			t.Errorf("ParsePayload(%q): err = %v, want ErrBadPacket", bad, err)
		}
	}
}

// FuzzParse: no input panics, and what parses encodes back to something
// that parses the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"40", `42["a",1]`, `431["x"]`, "0/a,", `451-["x",{"_placeholder":true,"num":0}]`, "4x\x1e3\x1eb//8="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ParsePayload(b)
		p, err := ParseSocket(b)
		if err != nil {
			return
		}
		q, err := ParseSocket(AppendSocket(nil, p))
		if err != nil || q.Type != p.Type || q.ID != p.ID || q.Namespace != p.Namespace || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("%q parsed as %+v, re-encoded parses as %+v, %v", b, p, q, err)
		}
	})
}
