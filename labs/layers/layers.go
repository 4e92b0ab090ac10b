package layers

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/netlab/netlab/transport"
)

// A Field is a run of bytes in a packet with its meaning.
type Field struct {
	Offset int    `json:"offset_bytes"` // from the start of the frame
	Len    int    `json:"length_bytes"`
	Hex    string `json:"hex"`
	Name   string `json:"name"`
	Value  string `json:"value"`
}

// A Layer is one header (or the payload) of a packet.
type Layer struct {
	Name    string   `json:"name"`
	OSI     int      `json:"osi_layer"`
	OSIName string   `json:"osi_name"`
	TCPIP   string   `json:"tcpip_layer"`
	Offset  int      `json:"offset_bytes"`
	Len     int      `json:"length_bytes"`
	Fields  []Field  `json:"fields"`
	Notes   []string `json:"notes,omitempty"`
}

// A Packet is one frame, annotated layer by layer, outermost first.
type Packet struct {
	Bytes  []byte  `json:"-"`
	Hex    string  `json:"hex"`
	Len    int     `json:"length_bytes"`
	Layers []Layer `json:"layers"`
	// Medium is what the packet crossed: "lo" (an Ethernet frame on
	// Linux's loopback) or "the simulated wire" (a bare IPv4 packet).
	Medium string `json:"medium"`
}

// Config is what to wrap.
type Config struct {
	Transport string // "tcp", "udp" or "ws"
	Message   string // the text to send
	// SrcPort and DstPort are the ports in the headers; Build takes them
	// from a real connection when zero.
	SrcPort, DstPort uint16
}

// Example values for header fields the kernel chooses per connection and a
// built packet cannot know; --capture shows the real ones.
const (
	exampleSeq    = 1
	exampleAck    = 1
	exampleWindow = 512 // scaled by the window-scale option of the SYNs
	exampleIPID   = 0
	exampleTTL    = 64 // Linux's default (net.ipv4.ip_default_ttl)
	exampleTSval  = 1000
	exampleTSecr  = 1000
)

// AppBytes returns the application's bytes for cfg: the netlab wire
// message, with TCP's newline, or inside a masked WebSocket frame.
func AppBytes(cfg Config) ([]byte, error) {
	msg := transport.Encode(transport.Message{Seq: 1, Event: "echo", Data: []byte(cfg.Message)})
	switch cfg.Transport {
	case "tcp":
		return append(msg, '\n'), nil
	case "udp":
		return msg, nil
	case "ws":
		var key [4]byte
		if _, err := rand.Read(key[:]); err != nil {
			return nil, fmt.Errorf("layers: masking key: %w", err)
		}
		return wsFrame(msg, key), nil
	}
	return nil, fmt.Errorf("layers: unknown transport %q (want tcp, udp or ws)", cfg.Transport)
}

// wsFrame builds a client's text frame (RFC 6455 §5.2): masked, FIN set.
func wsFrame(payload []byte, key [4]byte) []byte { return wsFrameOp(0x1, payload, key) }

// wsFrameOp builds a client's frame with opcode op: masked, FIN set.
func wsFrameOp(op byte, payload []byte, key [4]byte) []byte {
	n := len(payload)
	f := []byte{0x80 | op}
	switch {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// Build wraps cfg's message in TCP or UDP, IPv4 and Ethernet headers as a
// client on 127.0.0.1 sends it to a server on 127.0.0.1, serialized by
// gopacket with lengths fixed and checksums computed, and annotates it.
func Build(cfg Config) (*Packet, error) {
	app, err := AppBytes(cfg)
	if err != nil {
		return nil, err
	}
	frame, err := Serialize(cfg, app)
	if err != nil {
		return nil, err
	}
	return Annotate(frame, cfg.Transport == "ws")
}

// Serialize builds the frame bytes around app.
func Serialize(cfg Config, app []byte) ([]byte, error) {
	lo := net.IPv4(127, 0, 0, 1).To4()
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0, 0, 0, 0, 0, 0},
		DstMAC:       net.HardwareAddr{0, 0, 0, 0, 0, 0},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{
		Version: 4, TTL: exampleTTL, Id: exampleIPID,
		Flags: layers.IPv4DontFragment, SrcIP: lo, DstIP: lo,
	}
	var l4 gopacket.SerializableLayer
	switch cfg.Transport {
	case "tcp", "ws":
		ip.Protocol = layers.IPProtocolTCP
		ts := make([]byte, 8)
		binary.BigEndian.PutUint32(ts, exampleTSval)
		binary.BigEndian.PutUint32(ts[4:], exampleTSecr)
		tcp := &layers.TCP{
			SrcPort: layers.TCPPort(cfg.SrcPort), DstPort: layers.TCPPort(cfg.DstPort),
			Seq: exampleSeq, Ack: exampleAck, PSH: true, ACK: true, Window: exampleWindow,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionData: ts},
			},
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, fmt.Errorf("layers: %w", err)
		}
		l4 = tcp
	case "udp":
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(cfg.SrcPort), DstPort: layers.UDPPort(cfg.DstPort)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, fmt.Errorf("layers: %w", err)
		}
		l4 = udp
	default:
		return nil, fmt.Errorf("layers: unknown transport %q (want tcp, udp or ws)", cfg.Transport)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(app)); err != nil {
		return nil, fmt.Errorf("layers: serialize: %w", err)
	}
	return buf.Bytes(), nil
}

// Annotate decodes an Ethernet frame with gopacket and describes every
// field of every layer. ws says the TCP payload is a WebSocket frame.
func Annotate(frame []byte, ws bool) (*Packet, error) {
	return annotate(frame, layers.LayerTypeEthernet, ws)
}

func annotate(frame []byte, first gopacket.LayerType, ws bool) (*Packet, error) {
	pkt := gopacket.NewPacket(frame, first, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		return nil, fmt.Errorf("layers: decode: %v", el.Error())
	}
	p := &Packet{Bytes: frame, Hex: fmt.Sprintf("%x", frame), Len: len(frame), Medium: "lo"}
	if first != layers.LayerTypeEthernet {
		p.Medium = "the simulated wire"
	}
	off := 0
	var ip *layers.IPv4
	for _, l := range pkt.Layers() {
		var lay Layer
		switch v := l.(type) {
		case *layers.Ethernet:
			lay = ethLayer(v, off)
		case *layers.IPv4:
			ip = v
			lay = ipLayer(v, off)
		case *layers.TCP:
			lay = tcpLayer(v, ip, off)
		case *layers.UDP:
			lay = udpLayer(v, ip, off)
		case *gopacket.Payload:
			lay = appLayer([]byte(*v), off, ws)
		default:
			continue
		}
		off += lay.Len
		p.Layers = append(p.Layers, lay)
	}
	return p, nil
}

func field(b []byte, base, from, n int, name, value string) Field {
	return Field{Offset: base + from, Len: n, Hex: hexBytes(b[from : from+n]), Name: name, Value: value}
}

func hexBytes(b []byte) string { return fmt.Sprintf("% x", b) }

func ethLayer(e *layers.Ethernet, off int) Layer {
	b := e.Contents
	lay := Layer{Name: "Ethernet II header", OSI: 2, OSIName: "data link", TCPIP: "link", Offset: off, Len: len(b)}
	lay.Fields = []Field{
		field(b, off, 0, 6, "destination MAC", e.DstMAC.String()),
		field(b, off, 6, 6, "source MAC", e.SrcMAC.String()),
		field(b, off, 12, 2, "EtherType", fmt.Sprintf("0x%04x %s", uint16(e.EthernetType), e.EthernetType)),
	}
	if isZeroMAC(e.DstMAC) && isZeroMAC(e.SrcMAC) {
		lay.Notes = append(lay.Notes,
			"Linux's loopback interface (lo) has no hardware: it still builds a 14-byte Ethernet header, with both MAC addresses all zeros, so tools see an Ethernet frame",
			"on a real Ethernet link the NIC also sends an 8-byte preamble before and a 4-byte CRC (FCS) after each frame; captures do not show them, and lo has neither")
	}
	return lay
}

func isZeroMAC(m net.HardwareAddr) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

func ipLayer(ip *layers.IPv4, off int) Layer {
	b := ip.Contents
	lay := Layer{Name: "IPv4 header", OSI: 3, OSIName: "network", TCPIP: "internet", Offset: off, Len: len(b)}
	flags := []string{}
	if ip.Flags&layers.IPv4DontFragment != 0 {
		flags = append(flags, "DF (don't fragment)")
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 {
		flags = append(flags, "MF (more fragments)")
	}
	if len(flags) == 0 {
		flags = append(flags, "none")
	}
	sumOK := "valid"
	if ipChecksum(b) != 0 {
		sumOK = "INVALID"
	}
	lay.Fields = []Field{
		field(b, off, 0, 1, "version, IHL", fmt.Sprintf("version %d, header length %d words = %d B", ip.Version, ip.IHL, int(ip.IHL)*4)),
		field(b, off, 1, 1, "DSCP, ECN", fmt.Sprintf("0x%02x (ordinary traffic)", ip.TOS)),
		field(b, off, 2, 2, "total length", fmt.Sprintf("%d B (this header + everything after it)", ip.Length)),
		field(b, off, 4, 2, "identification", fmt.Sprint(ip.Id)),
		field(b, off, 6, 2, "flags, fragment offset", fmt.Sprintf("%s, offset %d", strings.Join(flags, ", "), ip.FragOffset)),
		field(b, off, 8, 1, "time to live", fmt.Sprintf("%d hops", ip.TTL)),
		field(b, off, 9, 1, "protocol", fmt.Sprintf("%d %s", uint8(ip.Protocol), ip.Protocol)),
		field(b, off, 10, 2, "header checksum", fmt.Sprintf("0x%04x (%s: covers this header only)", ip.Checksum, sumOK)),
		field(b, off, 12, 4, "source address", ip.SrcIP.String()),
		field(b, off, 16, 4, "destination address", ip.DstIP.String()),
	}
	if len(b) > 20 {
		lay.Fields = append(lay.Fields, field(b, off, 20, len(b)-20, "options", ""))
	}
	return lay
}

// ipChecksum returns the one's complement sum of an IPv4 header folded and
// complemented: 0 for a header whose checksum is right (RFC 1071).
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	if len(h)%2 == 1 {
		sum += uint32(h[len(h)-1]) << 8 // odd length: pad with a zero byte
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TCPFlags names the flags set in t: "SYN, ACK".
func TCPFlags(t *layers.TCP) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{t.CWR, "CWR"}, {t.ECE, "ECE"}, {t.URG, "URG"}, {t.SYN, "SYN"}, {t.FIN, "FIN"}, {t.RST, "RST"}, {t.PSH, "PSH"}, {t.ACK, "ACK"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ", ")
}

// l4Checksum verifies a TCP or UDP checksum: the one's complement sum over
// a pseudo-header (addresses, protocol, length) and the whole segment,
// checksum included, must come to 0xffff (RFC 793, RFC 768, RFC 1071).
func l4Checksum(ip *layers.IPv4, proto layers.IPProtocol, segment []byte, got uint16) string {
	if ip == nil {
		return "not checked"
	}
	if proto == layers.IPProtocolUDP && got == 0 {
		return "0: the sender did not compute one (allowed for UDP over IPv4)"
	}
	pseudo := make([]byte, 0, 12+len(segment))
	pseudo = append(pseudo, ip.SrcIP.To4()...)
	pseudo = append(pseudo, ip.DstIP.To4()...)
	pseudo = append(pseudo, 0, byte(proto))
	pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(segment)))
	pseudo = append(pseudo, segment...)
	if ipChecksum(pseudo) == 0 {
		return "valid; sums a pseudo-header (IPs, protocol, length), this header and the data"
	}
	// Checksum offload: the kernel writes only the pseudo-header's sum and
	// leaves the rest to the network card. lo has no card: the bytes never
	// leave memory, so the sum is never finished (and never checked).
	if ^ipChecksum(pseudo[:12]) == got {
		return "unfinished: only the pseudo-header's sum; Linux leaves the rest to checksum offload, which lo never runs"
	}
	return "does not verify"
}

func tcpLayer(t *layers.TCP, ip *layers.IPv4, off int) Layer {
	b := t.Contents
	lay := Layer{Name: "TCP header", OSI: 4, OSIName: "transport", TCPIP: "transport", Offset: off, Len: len(b)}
	lay.Fields = []Field{
		field(b, off, 0, 2, "source port", fmt.Sprint(uint16(t.SrcPort))),
		field(b, off, 2, 2, "destination port", fmt.Sprint(uint16(t.DstPort))),
		field(b, off, 4, 4, "sequence number", fmt.Sprintf("%d (number of this segment's first data byte)", t.Seq)),
		field(b, off, 8, 4, "acknowledgment number", fmt.Sprintf("%d (next byte expected from the peer)", t.Ack)),
		field(b, off, 12, 2, "data offset, flags", fmt.Sprintf("header %d words = %d B; flags %s", t.DataOffset, int(t.DataOffset)*4, TCPFlags(t))),
		field(b, off, 14, 2, "window", fmt.Sprintf("%d (receive window, scaled by the window-scale option agreed in the SYNs)", t.Window)),
		field(b, off, 16, 2, "checksum", fmt.Sprintf("0x%04x (%s)", t.Checksum, l4Checksum(ip, layers.IPProtocolTCP, append(append([]byte(nil), t.Contents...), t.Payload...), t.Checksum))),
		field(b, off, 18, 2, "urgent pointer", fmt.Sprint(t.Urgent)),
	}
	o := 20
	for _, opt := range t.Options {
		n := 1
		if opt.OptionType > 1 {
			n = int(opt.OptionLength)
		}
		if n < 1 || o+n > len(b) {
			break
		}
		lay.Fields = append(lay.Fields, field(b, off, o, n, "option", tcpOption(opt)))
		o += n
	}
	if o < len(b) {
		lay.Fields = append(lay.Fields, field(b, off, o, len(b)-o, "padding", "zeros to a 4-byte boundary"))
	}
	return lay
}

func tcpOption(o layers.TCPOption) string {
	d := o.OptionData
	switch o.OptionType {
	case layers.TCPOptionKindEndList:
		return "end of options"
	case layers.TCPOptionKindNop:
		return "NOP (padding so the next option is aligned)"
	case layers.TCPOptionKindMSS:
		if len(d) == 2 {
			return fmt.Sprintf("MSS %d B (largest segment this side accepts)", binary.BigEndian.Uint16(d))
		}
	case layers.TCPOptionKindWindowScale:
		if len(d) == 1 {
			return fmt.Sprintf("window scale %d (windows count in units of %d B)", d[0], 1<<d[0])
		}
	case layers.TCPOptionKindSACKPermitted:
		return "SACK permitted (selective acknowledgments, RFC 2018)"
	case layers.TCPOptionKindTimestamps:
		if len(d) == 8 {
			return fmt.Sprintf("timestamps TSval %d TSecr %d (RFC 7323: RTT measurement, wrapped-sequence protection)", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
		}
	}
	return fmt.Sprintf("%s %x", o.OptionType, d)
}

func udpLayer(u *layers.UDP, ip *layers.IPv4, off int) Layer {
	b := u.Contents
	lay := Layer{Name: "UDP header", OSI: 4, OSIName: "transport", TCPIP: "transport", Offset: off, Len: len(b)}
	lay.Fields = []Field{
		field(b, off, 0, 2, "source port", fmt.Sprint(uint16(u.SrcPort))),
		field(b, off, 2, 2, "destination port", fmt.Sprint(uint16(u.DstPort))),
		field(b, off, 4, 2, "length", fmt.Sprintf("%d B (this 8-byte header + the data)", u.Length)),
		field(b, off, 6, 2, "checksum", fmt.Sprintf("0x%04x (%s)", u.Checksum, l4Checksum(ip, layers.IPProtocolUDP, append(append([]byte(nil), u.Contents...), u.Payload...), u.Checksum))),
	}
	lay.Notes = []string{"that is all of UDP: no sequence numbers, no acknowledgments, no connection — netlab's seq lives in the JSON"}
	return lay
}

func appLayer(b []byte, off int, ws bool) Layer {
	lay := Layer{Name: "application data", OSI: 7, OSIName: "application", TCPIP: "application", Offset: off, Len: len(b)}
	msg := b
	if ws && len(b) >= 2 {
		lay.Name = "WebSocket frame (application data)"
		n := int(b[1] & 0x7f)
		h := 2
		switch n {
		case 126:
			h = 4
		case 127:
			h = 10
		}
		masked := b[1]&0x80 != 0
		if masked {
			h += 4
		}
		if h > len(b) {
			return lay
		}
		lay.Fields = append(lay.Fields, field(b, off, 0, 1, "FIN, RSV1-3, opcode",
			fmt.Sprintf("FIN=%d RSV=%03b opcode=0x%x (text)", b[0]>>7, (b[0]>>4)&7, b[0]&0xf)))
		lay.Fields = append(lay.Fields, field(b, off, 1, 1, "MASK, payload length", fmt.Sprintf("MASK=%d, length %d", b[1]>>7, n)))
		if h-boolInt(masked)*4 > 2 {
			lay.Fields = append(lay.Fields, field(b, off, 2, h-2-boolInt(masked)*4, "extended length", ""))
		}
		payload := append([]byte(nil), b[h:]...)
		if masked {
			key := b[h-4 : h]
			lay.Fields = append(lay.Fields, field(b, off, h-4, 4, "masking key", "payload byte i is XORed with key[i%4]"))
			for i := range payload {
				payload[i] ^= key[i%4]
			}
		}
		lay.Fields = append(lay.Fields, field(b, off, h, len(b)-h, "masked payload", fmt.Sprintf("unmasked: %s", payload)))
		lay.Notes = append(lay.Notes, "the WebSocket connection began as an HTTP request upgraded with 101 Switching Protocols (see netlab wire); frames follow on the same TCP connection")
		return lay
	}
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		lay.Fields = append(lay.Fields, field(b, off, 0, len(b)-1, "netlab message (JSON)", string(b[:len(b)-1])))
		lay.Fields = append(lay.Fields, field(b, off, len(b)-1, 1, "newline", "netlab's TCP framing: a message ends at \\n"))
	} else if len(b) > 0 {
		lay.Fields = append(lay.Fields, field(b, off, 0, len(b), "netlab message (JSON)", string(b)))
	}
	return lay
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RealPorts opens a real connection on 127.0.0.1 (a UDP socket pair for
// "udp") and returns the client's and the server's port, so a built packet
// carries ports the kernel really handed out.
func RealPorts(network string) (client, server uint16, err error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("layers: %w", err)
		}
		defer pc.Close()
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			return 0, 0, fmt.Errorf("layers: %w", err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), uint16(pc.LocalAddr().(*net.UDPAddr).Port), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, fmt.Errorf("layers: %w", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, 0, fmt.Errorf("layers: %w", err)
	}
	defer c.Close()
	if s, err := ln.Accept(); err == nil {
		s.Close()
	}
	return uint16(c.LocalAddr().(*net.TCPAddr).Port), uint16(ln.Addr().(*net.TCPAddr).Port), nil
}

// wsAccept is Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
