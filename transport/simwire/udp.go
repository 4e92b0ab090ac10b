package simwire

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// UDP sessions: a client address unheard of for udpIdle is forgotten (UDP
// has no close); at most maxUDPSessions are kept at once.
const (
	udpIdle        = 2 * time.Minute
	maxUDPSessions = 1024
	maxDatagram    = 64 << 10
	// socketBuffer is the kernel receive buffer asked for, so a burst of
	// datagrams is not lost before the proxy reads it.
	socketBuffer = 4 << 20
)

// A udpSession carries one kernel client address: its datagrams cross the
// wire from a UDP socket of its own on the client stack; the server stack
// forwards them to the upstream from a kernel socket per wire address.
type udpSession struct {
	wire *gonet.UDPConn // on the client stack
	last time.Time      // guarded by the proxy's udp mutex
}

func (p *Proxy) startUDP() error {
	_ = p.pc.SetReadBuffer(socketBuffer) // best effort: the kernel may cap it
	srv, err := p.net.Server().ListenUDP(p.wirePort)
	if err != nil {
		return err
	}
	p.track(srv)
	p.wg.Add(2)
	go p.serveKernelUDP()
	go p.serveWireUDP(srv)
	return nil
}

// serveKernelUDP reads the kernel clients' datagrams and sends each across
// the wire from its client's session socket.
func (p *Proxy) serveKernelUDP() {
	defer p.wg.Done()
	var mu sync.Mutex
	sessions := map[netip.AddrPort]*udpSession{}
	sweep := time.NewTicker(udpIdle / 4)
	defer sweep.Stop()
	buf := make([]byte, maxDatagram)
	for {
		select {
		case now := <-sweep.C:
			mu.Lock()
			for k, s := range sessions {
				if now.Sub(s.last) > udpIdle {
					delete(sessions, k)
					p.untrack(s.wire)
				}
			}
			mu.Unlock()
		default:
		}
		k, from, err := p.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return // closed
		}
		mu.Lock()
		s := sessions[from]
		if s == nil && len(sessions) < maxUDPSessions {
			s = p.newUDPSession(from)
			if s != nil {
				sessions[from] = s
			}
		}
		if s != nil {
			s.last = time.Now()
		}
		mu.Unlock()
		if s == nil {
			continue // too many clients: the datagram is lost, as at a full router
		}
		_, _ = s.wire.Write(buf[:k]) // a full queue is counted by the stack
	}
}

func (p *Proxy) newUDPSession(client netip.AddrPort) *udpSession {
	wc, err := p.net.Client().DialUDP(netip.AddrPortFrom(ServerAddr, p.wirePort))
	if err != nil || !p.track(wc) {
		return nil
	}
	p.conns.Add(1)
	p.wg.Add(1)
	go func() { // replies that crossed the wire back go to the kernel client
		defer p.wg.Done()
		rb := make([]byte, maxDatagram)
		for {
			k, err := wc.Read(rb)
			if err != nil {
				return
			}
			_, _ = p.pc.WriteToUDPAddrPort(rb[:k], client)
		}
	}()
	return &udpSession{wire: wc, last: time.Now()}
}

// serveWireUDP reads the datagrams that crossed the wire and forwards each
// to the upstream from a kernel socket per wire source address; replies go
// back across the wire.
func (p *Proxy) serveWireUDP(srv *gonet.UDPConn) {
	defer p.wg.Done()
	ups := map[string]*net.UDPConn{}
	buf := make([]byte, maxDatagram)
	for {
		k, from, err := srv.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		up := ups[from.String()]
		if up == nil {
			if len(ups) >= maxUDPSessions {
				continue
			}
			up, err = net.DialUDP("udp", nil, p.udpUpstream)
			if err != nil {
				p.dialFailed(err)
				continue
			}
			if !p.track(up) {
				return
			}
			_ = up.SetReadBuffer(socketBuffer)
			ups[from.String()] = up
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				rb := make([]byte, maxDatagram)
				for {
					k, err := up.Read(rb)
					if err != nil {
						if isRefused(err) {
							continue // nobody listens upstream (yet): like the datagram, it is lost
						}
						return
					}
					_, _ = srv.WriteTo(rb[:k], from)
				}
			}()
		}
		if _, err := up.Write(buf[:k]); err != nil && !isRefused(err) {
			continue
		}
	}
}

// isRefused reports whether err is the ICMP port unreachable a connected
// UDP socket reports after sending to a port nobody listens on.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
