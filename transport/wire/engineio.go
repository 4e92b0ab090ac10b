package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/netlab/netlab/transport/socketio/packet"
)

// A payloadDecoder recognises an application protocol in an HTTP body or a
// WebSocket text message (ws reports which) and describes it; ok is false
// when b is not that protocol. describeBody and feedWS try each in order
// before netlab's own wire form.
type payloadDecoder func(b []byte, ws bool) (lines []string, c Cost, ok bool)

var payloadDecoders = []payloadDecoder{decodeEngineIO}

// decodeEngineIO describes Engine.IO v4 packets (a polling body: packets
// joined by 0x1e; a WebSocket message: one packet) and the Socket.IO v5
// packets inside its message packets. What the application meant to send
// (an event's arguments, an ack's values) is payload; the rest (packet
// types, separators, namespace, ack id, the event's name, the open
// packet, pings and pongs) is envelope.
func decodeEngineIO(b []byte, ws bool) ([]string, Cost, bool) {
	if len(b) == 0 {
		return nil, Cost{}, false
	}
	var ps []packet.EnginePacket
	var err error
	if ws {
		var p packet.EnginePacket
		p, err = packet.ParseEngine(b)
		ps = []packet.EnginePacket{p}
	} else {
		ps, err = packet.ParsePayload(b)
	}
	if err != nil {
		return nil, Cost{}, false
	}
	var lines []string
	var c Cost
	seps := int64(len(ps) - 1)
	c.Envelope += seps
	for i, p := range ps {
		desc, pc, ok := describeEnginePacket(p)
		if !ok {
			return nil, Cost{}, false
		}
		c.Add(pc)
		if i < 8 {
			lines = append(lines, desc)
		}
	}
	if len(ps) > 8 {
		lines = append(lines, fmt.Sprintf("… and %d more Engine.IO packets", len(ps)-8))
	}
	if !ws && len(ps) > 1 {
		lines = append(lines, fmt.Sprintf("(%d Engine.IO packets in one body, separated by 0x1e)", len(ps)))
	}
	return lines, c, true
}

// describeEnginePacket says what one Engine.IO packet is; ok is false when
// it does not look like one (so plain text that starts with a digit is not
// taken for Engine.IO).
func describeEnginePacket(p packet.EnginePacket) (string, Cost, bool) {
	whole := int64(len(p.Data) + 1)
	if p.Binary {
		return fmt.Sprintf("Engine.IO binary packet: %d B (an attachment of a binary Socket.IO packet)", len(p.Data)),
			Cost{Payload: int64(len(p.Data)), Envelope: whole - int64(len(p.Data))}, true
	}
	switch p.Type {
	case packet.Open:
		var hs packet.Handshake
		if json.Unmarshal(p.Data, &hs) != nil || hs.SID == "" {
			return "", Cost{}, false
		}
		return fmt.Sprintf("Engine.IO 0 open: sid=%s upgrades=%v pingInterval=%dms pingTimeout=%dms maxPayload=%d B",
			hs.SID, hs.Upgrades, hs.PingInterval, hs.PingTimeout, hs.MaxPayload), Cost{Envelope: whole}, true
	case packet.Close, packet.Upgrade, packet.Noop:
		if len(p.Data) != 0 {
			return "", Cost{}, false
		}
		what := map[packet.EngineType]string{
			packet.Close:   "close (the session ends)",
			packet.Upgrade: "upgrade (the client moves to this WebSocket; polling ends)",
			packet.Noop:    "noop (ends a pending poll during the upgrade)",
		}[p.Type]
		return fmt.Sprintf("Engine.IO %c %s", p.Type, what), Cost{Envelope: whole}, true
	case packet.Ping, packet.Pong:
		switch string(p.Data) {
		case "":
			if p.Type == packet.Ping {
				return "Engine.IO 2 ping (the server's heartbeat; the client answers 3)", Cost{Envelope: whole}, true
			}
			return "Engine.IO 3 pong (the client's answer to a ping)", Cost{Envelope: whole}, true
		case "probe":
			if p.Type == packet.Ping {
				return "Engine.IO 2probe (the client tries the new WebSocket before upgrading)", Cost{Envelope: whole}, true
			}
			return "Engine.IO 3probe (the server answers the probe: the WebSocket works)", Cost{Envelope: whole}, true
		}
		return "", Cost{}, false
	}
	// A message: a Socket.IO packet.
	sp, err := packet.ParseSocket(p.Data)
	if err != nil {
		return "", Cost{}, false
	}
	head := fmt.Sprintf("Engine.IO 4 message, Socket.IO %c %s", sp.Type, sp.Type)
	if sp.Namespace != "/" {
		head += " namespace=" + sp.Namespace
	}
	if sp.ID != packet.NoID {
		head += fmt.Sprintf(" ack id=%d", sp.ID)
	}
	switch sp.Type {
	case packet.Connect:
		if len(sp.Data) > 0 {
			head += " " + quotePreview(sp.Data, 70)
			if bytes.Contains(sp.Data, []byte(`"offset"`)) {
				head += " (pid and offset: asks to recover the previous session)"
			} else if bytes.Contains(sp.Data, []byte(`"sid"`)) {
				head += " (the server's answer: the socket's id)"
			}
		}
		return head, Cost{Envelope: whole}, true
	case packet.Disconnect, packet.ConnectError:
		return head + " " + quotePreview(sp.Data, 60), Cost{Envelope: whole}, true
	case packet.Event, packet.BinaryEvent:
		name, args, _ := packet.EventName(sp.Data)
		var argBytes int64
		var shown []string
		for _, a := range args {
			argBytes += int64(len(a))
			if len(shown) < 3 {
				shown = append(shown, quotePreview(a, 40))
			}
		}
		if len(args) > 1 {
			argBytes += int64(len(args) - 1) // commas between them
		}
		desc := fmt.Sprintf("%s event %q args %s", head, name, strings.Join(shown, ", "))
		if sp.Attachments > 0 {
			desc += fmt.Sprintf(" (%d binary attachment(s) follow; {\"_placeholder\":true,\"num\":N} marks each)", sp.Attachments)
		}
		return desc, Cost{Payload: argBytes, Envelope: whole - argBytes}, true
	default: // acks
		var vals []json.RawMessage
		json.Unmarshal(sp.Data, &vals)
		pay := max(int64(len(sp.Data))-2, 0)
		desc := fmt.Sprintf("%s values %s", head, quotePreview(sp.Data, 60))
		if sp.Attachments > 0 {
			desc += fmt.Sprintf(" (%d binary attachment(s) follow; {\"_placeholder\":true,\"num\":N} marks each)", sp.Attachments)
		}
		return desc, Cost{Payload: pay, Envelope: whole - pay}, true
	}
}

// wsAttachments says how many binary attachments a WebSocket text message
// announces: a Socket.IO binary event or binary ack (types 5 and 6) is
// followed by that many binary messages, one per attachment, in the order
// of their placeholders' num.
func wsAttachments(msg []byte) int {
	p, err := packet.ParseEngine(msg)
	if err != nil || p.Binary || p.Type != packet.Message {
		return 0
	}
	sp, err := packet.ParseSocket(p.Data)
	if err != nil || (sp.Type != packet.BinaryEvent && sp.Type != packet.BinaryAck) {
		return 0
	}
	return sp.Attachments
}

// describeAttachment says what a binary WebSocket message is when the text
// message before it announced attachments: attachment num (from 0) of
// total. Engine.IO v4 sends binary over WebSocket as the frame's bytes
// alone, with no packet type in front, so all of it is payload.
func describeAttachment(num, total int, n int64) string {
	return fmt.Sprintf("Engine.IO binary packet: %d B, attachment num=%d of the %d announced above (raw, no type byte over WebSocket)", n, num, total)
}

// decodePayload tries the payload decoders on a WebSocket text message.
func decodePayload(msg []byte, text bool) ([]string, Cost, bool) {
	if !text || msg == nil {
		return nil, Cost{}, false
	}
	for _, dec := range payloadDecoders {
		if lines, c, ok := dec(msg, true); ok {
			return lines, c, true
		}
	}
	return nil, Cost{}, false
}
