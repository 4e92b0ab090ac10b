package layers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/simwire"
)

// wirePort is the server's port on the simulated wire.
const wirePort = 7000

// A WireRun is one real exchange across netlab's simulated wire: the
// client sends the message, the server echoes it, both close.
type WireRun struct {
	// Packet is the client's packet that carried the message, annotated.
	Packet *Packet `json:"packet"`
	// SYN is the client's SYN, annotated: it carries TCP's options (nil
	// for udp).
	SYN *Packet `json:"syn,omitempty"`
	// SYNOptions names the options the client's SYN offered: "mss 1460,
	// wscale 7, sackOK, ts".
	SYNOptions string `json:"syn_options,omitempty"`
	// Exchange is every packet of the exchange, in the order sent.
	Exchange []simwire.Packet `json:"-"`
	// PCAP is the exchange as a pcap file.
	PCAP []byte `json:"-"`
}

// FromWire runs cfg's message over a real connection between the two
// TCP/IP stacks of a simulated wire (transport/simwire; no impairment) and
// returns the packets it made: real sequence numbers, options, identifiers
// and checksums, computed by the stacks.
func FromWire(ctx context.Context, cfg Config) (*WireRun, error) {
	var capture bytes.Buffer
	pc, err := simwire.NewPCAP(&capture)
	if err != nil {
		return nil, err
	}
	n, err := simwire.New(simwire.Options{PCAP: pc, Trace: 1000})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg := transport.Encode(transport.Message{Seq: 1, Event: "echo", Data: []byte(cfg.Message)})
	switch cfg.Transport {
	case "tcp":
		err = wireTCPEcho(ctx, n, append(msg, '\n'))
	case "udp":
		err = wireUDPEcho(ctx, n, msg)
	case "ws":
		err = wireWSEcho(ctx, n, msg)
	default:
		err = fmt.Errorf("layers: unknown transport %q (want tcp, udp or ws)", cfg.Transport)
	}
	// Let the last ACKs and FINs cross before the wire stops.
	time.Sleep(20 * time.Millisecond)
	n.Close()
	if err != nil {
		return nil, fmt.Errorf("layers: over the simulated wire: %w", err)
	}
	run := &WireRun{Exchange: n.Trace(), PCAP: capture.Bytes()}
	r, err := pcapgo.NewReader(bytes.NewReader(run.PCAP))
	if err != nil {
		return nil, fmt.Errorf("layers: reading the capture back: %w", err)
	}
	for {
		b, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("layers: reading the capture back: %w", err)
		}
		ip := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
		v4, _ := ip.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if v4 == nil || !v4.SrcIP.Equal(net.IP(simwire.ClientAddr.AsSlice())) {
			continue
		}
		if t, ok := ip.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			if t.SYN && run.SYN == nil {
				if run.SYN, err = AnnotateIP(b, false); err != nil {
					return nil, err
				}
			}
			// The message's packet: for ws the frame (FIN + text opcode),
			// not the HTTP Upgrade request before it.
			if len(t.Payload) > 0 && run.Packet == nil && (cfg.Transport != "ws" || t.Payload[0] == 0x81) {
				if run.Packet, err = AnnotateIP(b, cfg.Transport == "ws"); err != nil {
					return nil, err
				}
			}
		}
		if _, ok := ip.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && run.Packet == nil {
			if run.Packet, err = AnnotateIP(b, false); err != nil {
				return nil, err
			}
		}
	}
	if run.Packet == nil {
		return nil, fmt.Errorf("layers: the message's packet was not on the wire")
	}
	for _, p := range run.Exchange {
		if p.Dir == simwire.Up && p.Flags == "SYN" {
			run.SYNOptions = p.Options
			break
		}
	}
	for _, p := range []*Packet{run.Packet, run.SYN} {
		if p == nil {
			continue
		}
		for i := range p.Layers {
			if p.Layers[i].OSI == 3 {
				p.Layers[i].Notes = append(p.Layers[i].Notes, fmt.Sprintf("%s and %s are the client's and the server's TCP/IP stacks on netlab's simulated wire (private addresses, RFC 1918); every value here was chosen by those stacks for this connection", simwire.ClientAddr, simwire.ServerAddr))
			}
		}
	}
	return run, nil
}

func serverAddr() netip.AddrPort { return netip.AddrPortFrom(simwire.ServerAddr, wirePort) }

// echoServe accepts one connection on ln and writes back what it reads.
func echoServe(ln net.Listener, done chan<- error) {
	c, err := ln.Accept()
	if err != nil {
		done <- err
		return
	}
	defer c.Close()
	_, err = io.Copy(c, c)
	done <- err
}

func wireTCPEcho(ctx context.Context, n *simwire.Network, app []byte) error {
	ln, err := n.Server().ListenTCP(wirePort)
	if err != nil {
		return err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go echoServe(ln, done)
	c, err := n.Client().DialTCP(ctx, serverAddr())
	if err != nil {
		return err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if _, err := c.Write(app); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, make([]byte, len(app))); err != nil {
		return err
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return err
	}
	return <-done
}

func wireUDPEcho(ctx context.Context, n *simwire.Network, app []byte) error {
	srv, err := n.Server().ListenUDP(wirePort)
	if err != nil {
		return err
	}
	defer srv.Close()
	deadline, _ := ctx.Deadline()
	srv.SetDeadline(deadline)
	go func() {
		b := make([]byte, 64<<10)
		k, from, err := srv.ReadFrom(b)
		if err == nil {
			srv.WriteTo(b[:k], from)
		}
	}()
	c, err := n.Client().DialUDP(serverAddr())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write(app); err != nil {
		return err
	}
	_, err = c.Read(make([]byte, 64<<10))
	return err
}

// wireWSEcho opens a real WebSocket connection (gorilla/websocket on both
// ends) across the wire, sends the message as a text frame, reads the echo
// and closes with close frames.
func wireWSEcho(ctx context.Context, n *simwire.Network, app []byte) error {
	ln, err := n.Server().ListenTCP(wirePort)
	if err != nil {
		return err
	}
	up := websocket.Upgrader{}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			t, m, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(t, m); err != nil {
				return
			}
		}
	})}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	defer func() { srv.Close(); <-served }()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return n.Client().DialTCP(ctx, serverAddr())
	}}
	ws, _, err := d.DialContext(ctx, fmt.Sprintf("ws://%s/ws", serverAddr()), nil)
	if err != nil {
		return err
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, app); err != nil {
		return err
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		return err
	}
	closeMsg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := ws.WriteControl(websocket.CloseMessage, closeMsg, time.Now().Add(time.Second)); err != nil {
		return err
	}
	_, _, err = ws.ReadMessage() // the server's close frame answers
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		return nil
	}
	return err
}

// AnnotateIP decodes a bare IPv4 packet (what the simulated wire carries:
// it has no link layer) and describes every field of every layer. ws says
// the TCP payload is a WebSocket frame.
func AnnotateIP(packet []byte, ws bool) (*Packet, error) {
	return annotate(packet, layers.LayerTypeIPv4, ws)
}
