// Package packet encodes and decodes the two layers of the Socket.IO wire
// protocol: Engine.IO v4 packets (https://github.com/socketio/engine.io-protocol)
// and the Socket.IO v5 packets carried inside Engine.IO "message" packets
// (https://github.com/socketio/socket.io-protocol).
//
// An Engine.IO packet is one type digit and its data:
//
//	0 open     {"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	1 close
//	2 ping     (sent by the server; "2probe" during an upgrade, from the client)
//	3 pong     (the answer; "3probe" during an upgrade, from the server)
//	4 message  (a Socket.IO packet follows)
//	5 upgrade  (the client switches to WebSocket)
//	6 noop     (ends a pending poll during an upgrade)
//
// Over HTTP long-polling several packets share one body, separated by the
// record separator 0x1e; a binary packet there is "b" and base64. Over
// WebSocket each packet is one frame (binary data as a binary frame).
//
// A Socket.IO packet is a type digit, then for binary packets the number of
// attachments and "-", then the namespace and "," (when not "/"), then the
// ack id, then JSON: 42["chat","hi"] is an event, 431["ok"] the ack of
// id 1, 40 a connect to "/".
//
// The functions here are safe for concurrent use; they share no state.
package packet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Separator joins Engine.IO packets in one HTTP long-polling body.
const Separator = 0x1e

// EngineType is the first character of an Engine.IO packet.
type EngineType byte

// The Engine.IO v4 packet types.
const (
	Open    EngineType = '0'
	Close   EngineType = '1'
	Ping    EngineType = '2'
	Pong    EngineType = '3'
	Message EngineType = '4'
	Upgrade EngineType = '5'
	Noop    EngineType = '6'
)

var engineNames = map[EngineType]string{
	Open: "open", Close: "close", Ping: "ping", Pong: "pong",
	Message: "message", Upgrade: "upgrade", Noop: "noop",
}

func (t EngineType) String() string {
	if n, ok := engineNames[t]; ok {
		return n
	}
	return fmt.Sprintf("EngineType(%q)", byte(t))
}

// An EnginePacket is one Engine.IO packet. Binary packets (a WebSocket binary
// frame, or "b…" in a polling body) carry raw bytes and have type Message.
type EnginePacket struct {
	Type   EngineType
	Data   []byte
	Binary bool
}

// ErrBadPacket is wrapped by every decoding error.
var ErrBadPacket = errors.New("bad packet")

func badf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadPacket, fmt.Sprintf(format, a...))
}

// ParseEngine decodes one text Engine.IO packet (a WebSocket text frame, or
// one record of a polling body, "b" binary records included).
func ParseEngine(b []byte) (EnginePacket, error) {
	if len(b) == 0 {
		return EnginePacket{}, badf("empty engine.io packet")
	}
	if b[0] == 'b' {
		data, err := base64.StdEncoding.DecodeString(string(b[1:]))
		if err != nil {
			return EnginePacket{}, badf("binary packet: %v", err)
		}
		return EnginePacket{Type: Message, Data: data, Binary: true}, nil
	}
	t := EngineType(b[0])
	if _, ok := engineNames[t]; !ok {
		return EnginePacket{}, badf("unknown engine.io packet type %q", b[0])
	}
	return EnginePacket{Type: t, Data: b[1:]}, nil
}

// ParsePayload splits a polling body at the 0x1e separators and decodes each
// packet.
func ParsePayload(body []byte) ([]EnginePacket, error) {
	var out []EnginePacket
	for rec := range bytes.SplitSeq(body, []byte{Separator}) {
		p, err := ParseEngine(rec)
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// AppendEngine appends p as text: its type digit and data, or "b" and base64
// for a binary packet (polling's encoding; over WebSocket a binary packet is
// sent as a binary frame of the raw bytes instead).
func AppendEngine(dst []byte, p EnginePacket) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// AppendPayload appends packets joined by the separator (a polling body).
func AppendPayload(dst []byte, ps []EnginePacket) []byte {
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendEngine(dst, p)
	}
	return dst
}

// Handshake is the data of the open packet.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"` // ms
	PingTimeout  int      `json:"pingTimeout"`  // ms
	MaxPayload   int      `json:"maxPayload"`   // bytes
}

// SocketType is the first character of a Socket.IO packet.
type SocketType byte

// The Socket.IO v5 packet types.
const (
	Connect      SocketType = '0'
	Disconnect   SocketType = '1'
	Event        SocketType = '2'
	Ack          SocketType = '3'
	ConnectError SocketType = '4'
	BinaryEvent  SocketType = '5'
	BinaryAck    SocketType = '6'
)

var socketNames = map[SocketType]string{
	Connect: "CONNECT", Disconnect: "DISCONNECT", Event: "EVENT", Ack: "ACK",
	ConnectError: "CONNECT_ERROR", BinaryEvent: "BINARY_EVENT", BinaryAck: "BINARY_ACK",
}

func (t SocketType) String() string {
	if n, ok := socketNames[t]; ok {
		return n
	}
	return fmt.Sprintf("SocketType(%q)", byte(t))
}

// NoID is the ID of a packet that asks for no acknowledgement.
const NoID = -1

// A SocketPacket is one Socket.IO packet.
type SocketPacket struct {
	Type        SocketType
	Namespace   string // "/" when absent on the wire
	ID          int64  // NoID when absent
	Attachments int    // binary packets: how many binary Engine.IO packets follow
	Data        json.RawMessage
}

// ParseSocket decodes a Socket.IO packet from the data of an Engine.IO
// message packet.
func ParseSocket(b []byte) (SocketPacket, error) {
	p := SocketPacket{Namespace: "/", ID: NoID}
	if len(b) == 0 {
		return p, badf("empty socket.io packet")
	}
	p.Type = SocketType(b[0])
	if _, ok := socketNames[p.Type]; !ok {
		return p, badf("unknown socket.io packet type %q", b[0])
	}
	i := 1
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		j := bytes.IndexByte(b[i:], '-')
		if j < 0 {
			return p, badf("binary packet without attachment count")
		}
		n, err := strconv.Atoi(string(b[i : i+j]))
		if err != nil || n < 0 {
			return p, badf("bad attachment count %q", b[i:i+j])
		}
		p.Attachments = n
		i += j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := bytes.IndexByte(b[i:], ',')
		if j < 0 {
			p.Namespace = string(b[i:])
			i = len(b)
		} else {
			p.Namespace = string(b[i : i+j])
			i += j + 1
		}
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i > start {
		id, err := strconv.ParseInt(string(b[start:i]), 10, 64)
		if err != nil {
			return p, badf("bad ack id %q", b[start:i])
		}
		p.ID = id
	}
	if i < len(b) {
		p.Data = json.RawMessage(b[i:])
		if !json.Valid(p.Data) {
			return p, badf("payload is not JSON")
		}
	}
	// The payload checks of socket.io-parser's isPayloadValid.
	switch p.Type {
	case Connect:
		if len(p.Data) > 0 && p.Data[0] != '{' {
			return p, badf("CONNECT payload must be an object")
		}
	case Disconnect:
		if len(p.Data) > 0 {
			return p, badf("DISCONNECT has no payload")
		}
	case ConnectError:
		if len(p.Data) > 0 && p.Data[0] != '{' && p.Data[0] != '"' {
			return p, badf("CONNECT_ERROR payload must be an object or a string")
		}
	case Event, BinaryEvent:
		var arr []json.RawMessage
		if json.Unmarshal(p.Data, &arr) != nil || len(arr) == 0 {
			return p, badf("%s needs a non-empty array payload", p.Type)
		}
		var name string
		if json.Unmarshal(arr[0], &name) == nil {
			if reservedEvents[name] {
				return p, badf("%q is a reserved event name", name)
			}
		} else if len(arr[0]) == 0 || (arr[0][0] != '-' && (arr[0][0] < '0' || arr[0][0] > '9')) {
			return p, badf("event name must be a string or a number")
		}
	case Ack, BinaryAck:
		if len(p.Data) == 0 || p.Data[0] != '[' {
			return p, badf("%s needs an array payload", p.Type)
		}
	}
	return p, nil
}

// reservedEvents may not be emitted (socket.io-parser's RESERVED_EVENTS).
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// AppendSocket appends the encoding of p.
func AppendSocket(dst []byte, p SocketPacket) []byte {
	dst = append(dst, byte(p.Type))
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.ID >= 0 {
		dst = strconv.AppendInt(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// EventName returns the event name of an EVENT packet's data (its first
// array element) and the remaining arguments as raw JSON.
func EventName(data json.RawMessage) (string, []json.RawMessage, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(data, &arr); err != nil {
		return "", nil, badf("event payload: %v", err)
	}
	if len(arr) == 0 {
		return "", nil, badf("event without a name")
	}
	var name string
	if err := json.Unmarshal(arr[0], &name); err != nil {
		return "", nil, badf("event name is not a string")
	}
	return name, arr[1:], nil
}
