//go:build linux

package layers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// CaptureEcho captures, on the loopback interface, the packets of one short
// echo of cfg's message over cfg.Transport ("tcp" or "udp"): for TCP the
// three-way handshake, the data and its echo, the acknowledgments and the
// teardown. It reads them with gopacket's own capture handle (pcapgo's
// EthernetHandle: an AF_PACKET socket, pure Go, no libpcap), so it needs
// Linux and root (CAP_NET_RAW); otherwise it returns an error matching
// ErrCaptureUnavailable that says why.
func CaptureEcho(ctx context.Context, cfg Config) (*Capture, error) {
	h, err := pcapgo.NewEthernetHandle("lo")
	if err != nil {
		return nil, unavailable("opening a capture on lo needs Linux, root or CAP_NET_RAW (%v); run with sudo, or read the built packet without --capture", err)
	}
	defer h.Close()
	if err := h.SetCaptureLength(65536 + 64); err != nil {
		return nil, unavailable("setting the capture length: %v", err)
	}
	// On lo every packet reaches a capture twice: leaving (PACKET_OUTGOING)
	// and arriving. A socket filter keeps the arriving copy, as tcpdump
	// does: load the packet's type, drop it if outgoing, keep it whole if not.
	filter, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: 65536 + 64},
		bpf.RetConstant{Val: 0},
	})
	if err == nil {
		err = h.SetBPF(filter)
	}
	if err != nil {
		return nil, unavailable("attaching the socket filter that skips outgoing copies: %v", err)
	}

	type raw struct {
		at    time.Time
		frame []byte
	}
	var (
		mu     sync.Mutex
		frames []raw
		stop   atomic.Bool
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			frame, ci, err := h.ReadPacketData()
			if err != nil || stop.Load() {
				return
			}
			mu.Lock()
			if len(frames) < 100000 {
				frames = append(frames, raw{ci.Timestamp, frame})
			}
			mu.Unlock()
		}
	}()
	// stopReading ends the reader: a read blocks until a packet comes, so
	// after setting stop send one on lo to wake it.
	stopReading := func() {
		stop.Store(true)
		if c, err := net.Dial("udp", "127.0.0.1:9"); err == nil { // discard port
			_, _ = c.Write([]byte("stop"))
			c.Close()
		}
		<-done
	}

	app, err := AppBytes(Config{Transport: cfg.Transport, Message: cfg.Message})
	if err != nil {
		stopReading()
		return nil, err
	}
	client, server, err := runEcho(ctx, cfg.Transport, app)
	time.Sleep(100 * time.Millisecond) // let the last packets arrive
	stopReading()
	if err != nil {
		return nil, fmt.Errorf("layers: the echo to capture failed: %w", err)
	}
	c := &Capture{Interface: "lo", Transport: cfg.Transport, Client: client.String(), Server: server.String(), DataIndex: -1}
	if st, err := h.Stats(); err == nil {
		c.Dropped = st.Drops
	}
	clientPort, serverPort := uint16(portOf(client)), uint16(portOf(server))
	var t0 time.Time
	mu.Lock()
	defer mu.Unlock()
	for _, f := range frames {
		pkt := gopacket.NewPacket(f.frame, layers.LayerTypeEthernet, gopacket.NoCopy)
		var sp, dp uint16
		var payload []byte
		switch l := pkt.TransportLayer().(type) {
		case *layers.TCP:
			sp, dp, payload = uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		case *layers.UDP:
			sp, dp, payload = uint16(l.SrcPort), uint16(l.DstPort), l.Payload
		default:
			c.OtherSeen++
			continue
		}
		var dir string
		switch {
		case sp == clientPort && dp == serverPort:
			dir = "client → server"
		case sp == serverPort && dp == clientPort:
			dir = "server → client"
		default:
			c.OtherSeen++
			continue
		}
		if t0.IsZero() {
			t0 = f.at
		}
		if c.DataIndex < 0 && dir == "client → server" && len(payload) > 0 && (cfg.Transport != "ws" || payload[0] == 0x81) {
			c.DataIndex = len(c.Packets)
		}
		c.Packets = append(c.Packets, Captured{At: f.at.Sub(t0), AtUs: float64(f.at.Sub(t0).Nanoseconds()) / 1000, FromPeer: dir, Frame: f.frame, Hex: fmt.Sprintf("%x", f.frame)})
	}
	c.describe(clientPort)
	if c.DataIndex >= 0 {
		if c.Data, err = Annotate(c.Packets[c.DataIndex].Frame, cfg.Transport == "ws"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func portOf(a net.Addr) int {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.Port
	case *net.UDPAddr:
		return v.Port
	}
	return 0
}

// runEcho sends app once over a fresh connection on 127.0.0.1 and waits
// for the echo and a clean close.
func runEcho(ctx context.Context, network string, app []byte) (client, server net.Addr, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		defer pc.Close()
		pc.SetDeadline(deadline)
		srvErr := make(chan error, 1)
		go func() {
			buf := make([]byte, 65536)
			n, from, err := pc.ReadFrom(buf)
			if err == nil {
				_, err = pc.WriteTo(buf[:n], from)
			}
			srvErr <- err
		}()
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			return nil, nil, err
		}
		defer c.Close()
		c.SetDeadline(deadline)
		if _, err := c.Write(app); err != nil {
			return nil, nil, err
		}
		if _, err := c.Read(make([]byte, 65536)); err != nil {
			return nil, nil, err
		}
		return c.LocalAddr(), pc.LocalAddr(), <-srvErr
	case "ws":
		return runWSEcho(ctx, app)
	default: // tcp: a TCP connection carrying app and its echo
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		defer ln.Close()
		srvErr := make(chan error, 1)
		go func() {
			s, err := ln.Accept()
			if err != nil {
				srvErr <- err
				return
			}
			defer s.Close()
			s.SetDeadline(deadline)
			buf := make([]byte, len(app))
			if _, err := ioReadFull(s, buf); err != nil {
				srvErr <- err
				return
			}
			if _, err := s.Write(buf); err != nil {
				srvErr <- err
				return
			}
			// wait for the client's FIN, then close: the client closes first
			_, err = bufio.NewReader(s).ReadByte()
			if err != nil && !errors.Is(err, io.EOF) {
				srvErr <- err
				return
			}
			srvErr <- nil
		}()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return nil, nil, err
		}
		c.SetDeadline(deadline)
		client := c.LocalAddr()
		if _, err := c.Write(app); err != nil {
			c.Close()
			return nil, nil, err
		}
		if _, err := ioReadFull(c, make([]byte, len(app))); err != nil {
			c.Close()
			return nil, nil, err
		}
		c.Close()
		return client, ln.Addr(), <-srvErr
	}
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// runWSEcho opens a WebSocket connection by hand — the HTTP Upgrade and its
// 101 answer — sends app (a masked text frame), reads the server's
// unmasked echo, and closes with close frames both ways, then TCP.
func runWSEcho(ctx context.Context, app []byte) (client, server net.Addr, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer s.Close()
		s.SetDeadline(deadline)
		br := bufio.NewReader(s)
		key := ""
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				srvErr <- err
				return
			}
			if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "Sec-WebSocket-Key") {
				key = strings.TrimSpace(v)
			}
			if l == "\r\n" {
				break
			}
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsAccept(key) + "\r\n\r\n"
		if _, err := s.Write([]byte(resp)); err != nil {
			srvErr <- err
			return
		}
		for {
			f := make([]byte, 2)
			if _, err := ioReadFullR(br, f); err != nil {
				srvErr <- err
				return
			}
			n := int(f[1] & 0x7f) // netlab's message here is short: 7-bit length
			rest := make([]byte, 4+n)
			if _, err := ioReadFullR(br, rest); err != nil {
				srvErr <- err
				return
			}
			payload := rest[4:]
			for i := range payload {
				payload[i] ^= rest[i%4]
			}
			// echo unmasked: servers never mask (RFC 6455 §5.1)
			if _, err := s.Write(append([]byte{f[0], byte(n)}, payload...)); err != nil {
				srvErr <- err
				return
			}
			if f[0]&0x0f == 0x8 { // close: answered, done
				_, _ = br.ReadByte() // wait for the client's FIN
				srvErr <- nil
				return
			}
		}
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	var nonce [16]byte
	rand.Read(nonce[:])
	req := "GET /ws HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(nonce[:]) + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, err
		}
		if l == "\r\n" {
			break
		}
	}
	if _, err := c.Write(app); err != nil {
		return nil, nil, err
	}
	if _, err := ioReadFullR(br, make([]byte, len(app)-4)); err != nil {
		return nil, nil, err
	}
	var key [4]byte
	rand.Read(key[:])
	closeFrame := wsFrameOp(0x8, []byte{0x03, 0xe8}, key) // 1000: normal closure
	if _, err := c.Write(closeFrame); err != nil {
		return nil, nil, err
	}
	if _, err := ioReadFullR(br, make([]byte, 4)); err != nil {
		return nil, nil, err
	}
	client = c.LocalAddr()
	c.Close()
	return client, ln.Addr(), <-srvErr
}

func ioReadFullR(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
