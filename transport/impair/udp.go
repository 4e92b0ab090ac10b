package impair

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// UDP sessions: a client address unheard of for udpIdle is forgotten (UDP
// has no close); at most maxUDPSessions are kept.
const (
	udpIdle        = 2 * time.Minute
	maxUDPSessions = 1024
	maxDatagram    = 64 << 10
	// sessionQueue is how many datagrams wait for a session's pipeline;
	// beyond that they are dropped, as a full router queue drops them.
	sessionQueue = 1024
	// socketBuffer is the kernel receive buffer asked for, so a burst of
	// datagrams is not lost before the proxy reads it.
	socketBuffer = 4 << 20
)

// A udpSession carries one client address: datagrams from the client go
// to the upstream from a socket of its own, and replies come back from the
// proxy's listening socket.
type udpSession struct {
	client *net.UDPAddr
	up     *net.UDPConn
	in     chan chunk // client → server
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	last   atomic.Int64 // unix nanoseconds of the last datagram either way
}

func (s *udpSession) close() {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait() // the writers forward what they hold
	s.up.Close()
}

func (p *Proxy) serveUDP(upstream *net.UDPAddr) {
	defer p.wg.Done()
	_ = p.pc.SetReadBuffer(socketBuffer) // best effort: the kernel may cap it
	sessions := map[string]*udpSession{}
	var mu sync.Mutex
	sweep := time.NewTicker(udpIdle / 4)
	defer sweep.Stop()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		for {
			select {
			case <-p.done:
				return
			case now := <-sweep.C:
				mu.Lock()
				for k, s := range sessions {
					if now.Sub(time.Unix(0, s.last.Load())) > udpIdle {
						delete(sessions, k)
						p.wg.Add(1)
						go func() { defer p.wg.Done(); s.close() }()
					}
				}
				mu.Unlock()
			}
		}
	}()
	defer func() {
		<-sweepDone
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sessions {
			s.close()
		}
	}()
	buf := make([]byte, maxDatagram)
	for {
		k, from, err := p.pc.ReadFromUDP(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return // closed
		}
		now := time.Now()
		mu.Lock()
		s := sessions[from.String()]
		if s == nil && len(sessions) < maxUDPSessions {
			s = p.newUDPSession(from, upstream)
			if s != nil {
				sessions[from.String()] = s
			}
		}
		mu.Unlock()
		if s == nil {
			p.link.up.Packets.Add(1)
			p.link.up.Dropped.Add(1)
			continue
		}
		s.last.Store(now.UnixNano())
		select {
		case s.in <- chunk{data: append([]byte(nil), buf[:k]...), at: now}:
		default: // the session's queue is full: a router would drop it too
			p.link.up.Packets.Add(1)
			p.link.up.Dropped.Add(1)
		}
	}
}

func (p *Proxy) newUDPSession(client, upstream *net.UDPAddr) *udpSession {
	up, err := net.DialUDP("udp", nil, upstream)
	if err != nil {
		return nil
	}
	_ = up.SetReadBuffer(socketBuffer)
	n := p.conns.Add(1) - 1
	s := &udpSession{client: client, up: up, in: make(chan chunk, sessionQueue), stop: make(chan struct{})}
	s.last.Store(time.Now().UnixNano())
	back := make(chan chunk, sessionQueue)
	c2s := &direction{
		pipe: NewPipeline(p.link.cfg, Datagrams, p.start, n, 0, &p.link.up), mode: Datagrams,
		counts: &p.link.up, in: s.in,
		write: func(b []byte) error { _, err := up.Write(b); ignoreRefused(&err); return err },
	}
	s2c := &direction{
		pipe: NewPipeline(p.link.cfg, Datagrams, p.start, n, 1, &p.link.down), mode: Datagrams,
		counts: &p.link.down, in: back,
		write: func(b []byte) error { _, err := p.pc.WriteToUDP(b, client); return err },
	}
	stop := s.stop
	s.wg.Add(2)
	go func() { defer s.wg.Done(); c2s.run(stop) }()
	go func() { defer s.wg.Done(); s2c.run(stop) }()
	p.wg.Add(1)
	go func() { // reader of the upstream's replies; ends when up is closed
		defer p.wg.Done()
		rb := make([]byte, maxDatagram)
		for {
			k, err := up.Read(rb)
			if err != nil {
				select {
				case <-stop:
					return
				default:
				}
				if isRefused(err) {
					continue // nobody listens upstream (yet): like the datagram, it is lost
				}
				return
			}
			s.last.Store(time.Now().UnixNano())
			select {
			case back <- chunk{data: append([]byte(nil), rb[:k]...), at: time.Now()}:
			case <-stop:
				return
			default:
				p.link.down.Packets.Add(1)
				p.link.down.Dropped.Add(1)
			}
		}
	}()
	return s
}

// isRefused reports whether err is the ICMP port unreachable a connected
// UDP socket reports after sending to a port nobody listens on.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// ignoreRefused clears such an error from a write: UDP does not promise
// delivery, so the proxy carries on.
func ignoreRefused(err *error) {
	if *err != nil && isRefused(*err) {
		*err = nil
	}
}
