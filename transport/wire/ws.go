package wire

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// wsGUID is the fixed string RFC 6455 §1.3 appends to Sec-WebSocket-Key
// before hashing it into Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// wsAccept returns base64(SHA-1(key + wsGUID)), the Sec-WebSocket-Accept a
// server must answer to key.
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

func opcodeName(op byte) string {
	switch op {
	case opContinuation:
		return "continuation"
	case opText:
		return "text"
	case opBinary:
		return "binary"
	case opClose:
		return "close"
	case opPing:
		return "ping"
	case opPong:
		return "pong"
	}
	if op < 8 {
		return "reserved non-control"
	}
	return "reserved control"
}

// closeCodeName names the status codes of RFC 6455 §7.4.1.
func closeCodeName(code uint16) string {
	switch code {
	case 1000:
		return "normal closure"
	case 1001:
		return "going away"
	case 1002:
		return "protocol error"
	case 1003:
		return "unsupported data"
	case 1005, 1006, 1015:
		return "reserved: must never be sent on the wire"
	case 1007:
		return "invalid payload data"
	case 1008:
		return "policy violation"
	case 1009:
		return "message too big"
	case 1010:
		return "mandatory extension"
	case 1011:
		return "internal error"
	}
	switch {
	case code < 1000:
		return "invalid: codes below 1000 are not used"
	case code < 3000:
		return "reserved for the protocol"
	case code < 4000:
		return "registered with IANA for libraries and frameworks"
	case code < 5000:
		return "private use by applications"
	}
	return "invalid: above 4999"
}

const (
	// wsPreviewMax is how many payload bytes of a frame are kept for
	// display; 125 covers every valid control frame whole.
	wsPreviewMax = 125
	// wsMessageMax is the largest message reassembled from frames to decode
	// it as a netlab message; longer ones are counted, not kept.
	wsMessageMax = 64 << 10
)

// A wsFrame is one decoded WebSocket frame.
type wsFrame struct {
	FIN     bool
	RSV     byte // RSV1..RSV3 as the three low bits (RSV1 = 4)
	Opcode  byte
	Masked  bool
	Key     [4]byte
	Length  uint64
	LenForm string // "7-bit", "16-bit" or "64-bit"
	Header  []byte // the header bytes as sent (2 to 14)
	Preview []byte // up to wsPreviewMax payload bytes, unmasked
}

// wsParser decodes the frames of one direction of a WebSocket connection,
// from bytes in any split, in bounded memory.
type wsParser struct {
	hdr     [14]byte
	nhdr    int
	need    int // header bytes needed, 0 while in the payload
	frame   wsFrame
	got     uint64 // payload bytes seen of the current frame
	preview [wsPreviewMax]byte

	msg       []byte // data frames of the current message, unmasked, up to wsMessageMax
	msgLen    int64
	msgFrames int
	inMsg     bool
	msgOp     byte

	notes     []string // remarks found when the frame header arrived
	appending bool     // the current frame's payload belongs to a message

	failed string // set when the stream can no longer be parsed
	// fromClient reports whether this direction is client to server, where
	// RFC 6455 §5.1 requires every frame to be masked.
	fromClient bool
}

func newWSParser(fromClient bool) *wsParser { return &wsParser{need: 2, fromClient: fromClient} }

// wsEvent is what the parser found: a complete frame with notes, possibly
// completing a message.
type wsEvent struct {
	frame    wsFrame
	notes    []string // RFC violations and remarks
	msgDone  bool
	msg      []byte // the reassembled message when it fit
	msgLen   int64
	msgOp    byte
	msgParts int
	early    bool // header of a huge frame, reported before its payload
}

// feed parses b and calls emit for each frame completed.
func (p *wsParser) feed(b []byte, emit func(wsEvent)) {
	for len(b) > 0 && p.failed == "" {
		if p.need > 0 {
			n := min(p.need-p.nhdr, len(b))
			copy(p.hdr[p.nhdr:], b[:n])
			p.nhdr += n
			b = b[n:]
			if p.nhdr < p.need {
				return
			}
			if p.need == 2 {
				p.need = 2 + p.extLen()
				if p.nhdr < p.need {
					continue
				}
			}
			p.startPayload(emit)
			continue
		}
		// payload
		left := p.frame.Length - p.got
		n := len(b)
		if uint64(n) > left {
			n = int(left)
		}
		chunk := b[:n]
		b = b[n:]
		p.takePayload(chunk)
		if p.got == p.frame.Length {
			p.endFrame(emit)
		}
	}
}

// extLen is the number of header bytes after the first two: extended
// length and masking key.
func (p *wsParser) extLen() int {
	n := 0
	switch p.hdr[1] & 0x7f {
	case 126:
		n = 2
	case 127:
		n = 8
	}
	if p.hdr[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func (p *wsParser) startPayload(emit func(wsEvent)) {
	h := p.hdr[:p.nhdr]
	f := wsFrame{
		FIN:    h[0]&0x80 != 0,
		RSV:    (h[0] >> 4) & 0x7,
		Opcode: h[0] & 0x0f,
		Masked: h[1]&0x80 != 0,
		Header: append([]byte(nil), h...),
	}
	i := 2
	switch l := h[1] & 0x7f; l {
	case 126:
		f.Length = uint64(binary.BigEndian.Uint16(h[2:4]))
		f.LenForm = "16-bit"
		i = 4
	case 127:
		f.Length = binary.BigEndian.Uint64(h[2:10])
		f.LenForm = "64-bit"
		i = 10
	default:
		f.Length = uint64(l)
		f.LenForm = "7-bit"
	}
	if f.Masked {
		copy(f.Key[:], h[i:i+4])
	}
	p.frame = f
	p.got = 0
	p.need = 0
	p.notes = p.notes[:0]
	p.appending = false
	switch f.Opcode {
	case opText, opBinary:
		if p.inMsg {
			p.notes = append(p.notes, "new data frame while a fragmented message is unfinished: a protocol error")
		}
		p.inMsg, p.msgOp = true, f.Opcode
		p.msg, p.msgLen, p.msgFrames = p.msg[:0], 0, 0
		p.appending = true
	case opContinuation:
		if !p.inMsg {
			p.notes = append(p.notes, "continuation frame with no message to continue: a protocol error")
		}
		p.appending = p.inMsg
	}
	if f.LenForm == "64-bit" && f.Length>>63 != 0 {
		p.failed = fmt.Sprintf("64-bit payload length %#x has its most significant bit set, which RFC 6455 §5.2 forbids; the rest of this direction cannot be framed", f.Length)
		return
	}
	if f.Length > 1<<20 {
		emit(wsEvent{frame: f, early: true})
	}
	if f.Length == 0 {
		p.endFrame(emit)
	}
}

func (p *wsParser) takePayload(chunk []byte) {
	f := &p.frame
	start := p.got
	// unmask in place on copies only: the forwarded bytes are never touched
	if start < wsPreviewMax {
		n := copy(p.preview[start:], chunk)
		for i := 0; i < n; i++ {
			if f.Masked {
				p.preview[int(start)+i] ^= f.Key[(int(start)+i)%4]
			}
		}
	}
	if p.appending && p.msgLen+int64(len(chunk)) <= wsMessageMax {
		off := len(p.msg)
		p.msg = append(p.msg, chunk...)
		if f.Masked {
			for i := off; i < len(p.msg); i++ {
				p.msg[i] ^= f.Key[(start+uint64(i-off))%4]
			}
		}
	}
	if p.appending {
		p.msgLen += int64(len(chunk))
	}
	p.got += uint64(len(chunk))
}

func (p *wsParser) endFrame(emit func(wsEvent)) {
	f := p.frame
	f.Preview = append([]byte(nil), p.preview[:min(f.Length, wsPreviewMax)]...)
	ev := wsEvent{frame: f, notes: append([]string(nil), p.notes...)}
	note := func(format string, a ...any) { ev.notes = append(ev.notes, fmt.Sprintf(format, a...)) }
	if f.RSV&4 != 0 {
		note("RSV1 set: the payload is compressed by an extension (permessage-deflate, RFC 7692), so the preview shows compressed bytes")
	}
	if f.RSV&3 != 0 {
		note("RSV2/RSV3 set without an extension that defines them: a protocol error (RFC 6455 §5.2)")
	}
	if f.Masked != p.fromClient {
		if p.fromClient {
			note("unmasked frame from the client: RFC 6455 §5.1 says the server must close the connection")
		} else {
			note("masked frame from the server: RFC 6455 §5.1 forbids it")
		}
	}
	switch {
	case f.LenForm == "16-bit" && f.Length < 126, f.LenForm == "64-bit" && f.Length <= 0xffff:
		note("length not in its shortest form, which RFC 6455 §5.2 requires")
	}
	switch op := f.Opcode; {
	case op >= 8: // control
		if !f.FIN {
			note("fragmented control frame: RFC 6455 §5.5 forbids it")
		}
		if f.Length > 125 {
			note("control frame payload over 125 bytes: RFC 6455 §5.5 forbids it")
		}
		if op > opPong {
			note("reserved opcode: a protocol error")
		}
	case op > opBinary:
		note("reserved opcode: a protocol error")
	}
	if p.appending {
		p.msgFrames++
		if f.FIN {
			ev.msgDone = true
			ev.msgOp = p.msgOp
			ev.msgLen = p.msgLen
			ev.msgParts = p.msgFrames
			if p.msgLen <= wsMessageMax {
				ev.msg = append([]byte(nil), p.msg...)
			}
			p.inMsg = false
			p.msg = p.msg[:0]
			if cap(p.msg) > 4096 {
				p.msg = nil
			}
			p.msgLen = 0
			p.msgFrames = 0
		}
	}
	emit(ev)
	p.nhdr = 0
	p.need = 2
	p.got = 0
}

// partial describes an unfinished frame at the end of the stream, or "".
func (p *wsParser) partial() string {
	switch {
	case p.failed != "":
		return ""
	case p.need > 0 && p.nhdr > 0:
		return fmt.Sprintf("stream ended inside a frame header (%d of %d bytes)", p.nhdr, p.need)
	case p.need == 0:
		return fmt.Sprintf("stream ended inside a frame: %d of %d payload bytes arrived", p.got, p.frame.Length)
	}
	return ""
}

// describeFrame returns the annotated lines for a frame event.
func describeFrame(ev wsEvent) (title string, lines []string) {
	f := ev.frame
	if ev.early {
		return fmt.Sprintf("WebSocket frame header: %s, announces %d payload bytes (%s length); shown when complete",
			opcodeName(f.Opcode), f.Length, f.LenForm), nil
	}
	title = fmt.Sprintf("WebSocket frame: %s", opcodeName(f.Opcode))
	fin := "1 (last frame of the message)"
	if !f.FIN {
		fin = "0 (more frames of this message follow)"
	}
	lines = append(lines,
		fmt.Sprintf("header bytes  %s", hexBytes(f.Header)),
		fmt.Sprintf("FIN=%s RSV1-3=%03b opcode=0x%x (%s)", fin, f.RSV, f.Opcode, opcodeName(f.Opcode)),
	)
	if f.Masked {
		lines = append(lines, fmt.Sprintf("MASK=1 key=%s (client frames are masked: payload XOR key, RFC 6455 §5.3)", hexBytes(f.Key[:])))
	} else {
		lines = append(lines, "MASK=0 (server frames are sent unmasked)")
	}
	switch f.LenForm {
	case "7-bit":
		lines = append(lines, fmt.Sprintf("length %d in the 7-bit field (0-125 fit there)", f.Length))
	case "16-bit":
		lines = append(lines, fmt.Sprintf("length %d: 7-bit field says 126, the next 2 bytes hold it (126-65535)", f.Length))
	default:
		lines = append(lines, fmt.Sprintf("length %d: 7-bit field says 127, the next 8 bytes hold it (65536 and up)", f.Length))
	}
	switch f.Opcode {
	case opClose:
		switch {
		case len(f.Preview) == 0:
			lines = append(lines, "close with no status code (the peer sees 1005, no status received)")
		case len(f.Preview) == 1:
			lines = append(lines, "close payload of 1 byte: invalid, a status code takes 2")
		default:
			code := binary.BigEndian.Uint16(f.Preview[:2])
			reason := f.Preview[2:]
			l := fmt.Sprintf("close code %d (%s)", code, closeCodeName(code))
			if len(reason) > 0 {
				l += " reason " + quotePreview(reason, 60)
				if !utf8.Valid(reason) {
					l += " (not valid UTF-8: a protocol error)"
				}
			}
			lines = append(lines, l)
		}
	default:
		if f.Length > 0 {
			l := "payload " + quotePreview(f.Preview, 48)
			if f.Masked {
				l += " (unmasked)"
			}
			lines = append(lines, l)
		}
	}
	for _, n := range ev.notes {
		lines = append(lines, "note: "+n)
	}
	return title, lines
}
