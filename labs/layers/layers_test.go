package layers

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The built frame decodes with gopacket into the layers it was built from,
// with valid IPv4 and TCP/UDP checksums, and serializing the decoded layers
// again gives the same bytes.
func TestBuildRoundTrip(t *testing.T) {
	for _, tr := range []string{"tcp", "udp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			cfg := Config{Transport: tr, Message: "hi", SrcPort: 40000, DstPort: 7000}
			app, err := AppBytes(cfg)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := Serialize(cfg, app)
			if err != nil {
				t.Fatal(err)
			}
			pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatal(el.Error())
			}
			ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ipChecksum(ip.Contents) != 0 {
				t.Errorf("IPv4 header checksum 0x%04x does not verify", ip.Checksum)
			}
			if int(ip.Length) != len(frame)-14 {
				t.Errorf("IPv4 total length %d, want %d", ip.Length, len(frame)-14)
			}
			var l4 []gopacket.SerializableLayer
			var seg []byte
			var sum uint16
			var proto layers.IPProtocol
			switch l := pkt.TransportLayer().(type) {
			case *layers.TCP:
				if tr == "udp" {
					t.Fatal("TCP in a UDP packet")
				}
				l.SetNetworkLayerForChecksum(ip)
				l4, seg, sum, proto = []gopacket.SerializableLayer{l}, append(l.Contents, l.Payload...), l.Checksum, layers.IPProtocolTCP
				if uint16(l.SrcPort) != 40000 || uint16(l.DstPort) != 7000 || !l.PSH || !l.ACK {
					t.Errorf("TCP ports %d→%d flags %s", l.SrcPort, l.DstPort, TCPFlags(l))
				}
			case *layers.UDP:
				l.SetNetworkLayerForChecksum(ip)
				l4, seg, sum, proto = []gopacket.SerializableLayer{l}, append(l.Contents, l.Payload...), l.Checksum, layers.IPProtocolUDP
				if int(l.Length) != 8+len(app) {
					t.Errorf("UDP length %d, want %d", l.Length, 8+len(app))
				}
			default:
				t.Fatalf("no transport layer in %v", pkt)
			}
			if got := l4Checksum(ip, proto, seg, sum); !strings.HasPrefix(got, "valid") {
				t.Errorf("%s checksum 0x%04x: %s", proto, sum, got)
			}
			if !bytes.Equal(pkt.ApplicationLayer().Payload(), app) {
				t.Errorf("payload %q, want %q", pkt.ApplicationLayer().Payload(), app)
			}
			// serialize what was decoded: same bytes, checksums recomputed
			eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			buf := gopacket.NewSerializeBuffer()
			all := append([]gopacket.SerializableLayer{eth, ip}, l4...)
			all = append(all, gopacket.Payload(app))
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), frame) {
				t.Errorf("re-serialized frame differs:\n%x\n%x", buf.Bytes(), frame)
			}
			// the application bytes are netlab's message
			msg := app
			if tr == "ws" {
				msg = unmaskWS(t, app)
			}
			m, err := transport.Decode(bytes.TrimSuffix(msg, []byte("\n")))
			if err != nil || string(m.Data) != "hi" || m.Seq != 1 {
				t.Errorf("payload decodes to %+v, %v", m, err)
			}
		})
	}
}

func unmaskWS(t *testing.T, f []byte) []byte {
	if f[0] != 0x81 || f[1]&0x80 == 0 || int(f[1]&0x7f) != len(f)-6 {
		t.Fatalf("not a masked text frame with a 7-bit length: % x", f[:6])
	}
	key, p := f[2:6], append([]byte(nil), f[6:]...)
	for i := range p {
		p[i] ^= key[i%4]
	}
	return p
}

// The annotated text of a built packet, with fixed ports, matches the
// golden file (the WebSocket masking key is random, so ws is not here).
func TestAnnotateGolden(t *testing.T) {
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			p, err := Build(Config{Transport: tr, Message: "hi", SrcPort: 40000, DstPort: 7000})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			ModelTable(p, tr).Write(&b)
			b.WriteString("\n")
			WritePacket(&b, p)
			golden := "testdata/" + tr + ".golden"
			if *update {
				os.WriteFile(golden, []byte(b.String()), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("annotation differs from %s (go test -update rewrites it):\n%s", golden, b.String())
			}
		})
	}
}

// Every byte of the frame belongs to exactly one annotated field.
func TestAnnotateCoversEveryByte(t *testing.T) {
	for _, tr := range []string{"tcp", "udp", "ws"} {
		p, err := Build(Config{Transport: tr, Message: "hello", SrcPort: 1, DstPort: 2})
		if err != nil {
			t.Fatal(err)
		}
		next := 0
		for _, l := range p.Layers {
			for _, f := range l.Fields {
				if f.Offset != next {
					t.Fatalf("%s: field %q at %d, want %d", tr, f.Name, f.Offset, next)
				}
				next += f.Len
			}
		}
		if next != p.Len {
			t.Errorf("%s: fields cover %d of %d bytes", tr, next, p.Len)
		}
	}
}

// With root and AF_PACKET, a capture shows the three-way handshake, the
// message and the teardown; otherwise it says why not.
func TestCaptureEcho(t *testing.T) {
	c, err := CaptureEcho(context.Background(), Config{Transport: "tcp", Message: "hi"})
	if errors.Is(err, ErrCaptureUnavailable) {
		t.Skipf("capture unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Dropped > 0 {
		t.Skipf("the kernel dropped %d packets on a busy lo: not a test of netlab", c.Dropped)
	}
	var flags []string
	for _, p := range c.Packets {
		flags = append(flags, p.Flags)
	}
	got := strings.Join(flags, " | ")
	if len(flags) < 8 || flags[0] != "SYN" || flags[1] != "SYN, ACK" || flags[2] != "ACK" {
		t.Fatalf("packets %s: want the handshake SYN | SYN, ACK | ACK first", got)
	}
	fins := strings.Count(got, "FIN")
	if fins != 2 {
		t.Errorf("packets %s: want 2 FINs", got)
	}
	if c.DataIndex < 0 || c.Data == nil || c.Packets[c.DataIndex].RelSeq != 1 {
		t.Fatalf("no data packet at relative seq 1: %+v", c.Packets)
	}
	if c.Packets[c.DataIndex].Len != len(`{"seq":1,"event":"echo","text":"hi"}`)+1 {
		t.Errorf("data packet carries %d B", c.Packets[c.DataIndex].Len)
	}
}

// A WebSocket capture shows the Upgrade, the 101 and the frames in order.
func TestCaptureWebSocket(t *testing.T) {
	c, err := CaptureEcho(context.Background(), Config{Transport: "ws", Message: "hi"})
	if errors.Is(err, ErrCaptureUnavailable) {
		t.Skipf("capture unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Dropped > 0 {
		t.Skipf("the kernel dropped %d packets on a busy lo", c.Dropped)
	}
	var notes []string
	for _, p := range c.Packets {
		if strings.HasPrefix(p.Note, "data: ") {
			notes = append(notes, p.Note)
		}
	}
	want := []string{"HTTP Upgrade request", "101 Switching Protocols", "WebSocket text frame", "WebSocket text frame", "WebSocket close frame", "WebSocket close frame"}
	if len(notes) != len(want) {
		t.Fatalf("data packets %q, want %d like %q", notes, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(notes[i], w) {
			t.Errorf("data packet %d is %q, want %q", i+1, notes[i], w)
		}
	}
	if c.Data == nil || c.Data.Layers[len(c.Data.Layers)-1].Name != "WebSocket frame (application data)" {
		t.Errorf("the annotated packet is not the frame: %+v", c.Data)
	}
}

// The example comes from a real connection on the simulated wire: the
// stacks' own sequence numbers and checksums, the SYN's options, and a
// pcap that reads back with every packet of the exchange.
func TestFromWire(t *testing.T) {
	for _, tr := range []string{"tcp", "udp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			run, err := FromWire(context.Background(), Config{Transport: tr, Message: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			p := run.Packet
			if p.Medium != "the simulated wire" || len(p.Layers) < 3 || p.Layers[0].Name != "IPv4 header" {
				t.Fatalf("packet %+v: want IPv4 first, on the simulated wire", p)
			}
			for _, l := range p.Layers {
				for _, f := range l.Fields {
					if strings.Contains(f.Value, "INVALID") {
						t.Errorf("%s %s: %s", l.Name, f.Name, f.Value)
					}
				}
			}
			if !strings.Contains(string(p.Bytes), `"text":"hi"`) && tr != "ws" {
				t.Errorf("the message is not in the packet: %q", p.Bytes)
			}
			if tr != "udp" && (run.SYN == nil || !strings.Contains(run.SYNOptions, "mss 1460")) {
				t.Errorf("SYN options %q, want the MSS", run.SYNOptions)
			}
			r, err := pcapgo.NewReader(bytes.NewReader(run.PCAP))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				if _, _, err := r.ReadPacketData(); err != nil {
					break
				}
				n++
			}
			if n != len(run.Exchange) || n < 2 {
				t.Errorf("pcap holds %d packets, the exchange had %d", n, len(run.Exchange))
			}
		})
	}
}
