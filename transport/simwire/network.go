package simwire

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	glog "gvisor.dev/gvisor/pkg/log"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/netlab/netlab/transport/impair"
)

// The two ends of the wire.
var (
	ClientAddr = netip.MustParseAddr("10.0.0.1")
	ServerAddr = netip.MustParseAddr("10.0.0.2")
)

const (
	// MTU is the wire's largest IP packet, Ethernet's: TCP's MSS is 1460.
	MTU = 1500
	// endpointQueue is how many packets a stack may have written that the
	// wire has not picked up yet. The wire picks packets up as soon as it
	// is told of them, so this is far more than the labs need; a packet
	// that finds it full is counted (Stats.QueueDrops), not silently lost.
	endpointQueue = 8192
	nicID         = 1
	// Socket buffers: large enough that a 20 ms link is not window-limited
	// at the rates the labs use.
	sendBuffer    = 4 << 20
	receiveBuffer = 4 << 20
)

// Recovery is how a stack's TCP sender detects a lost segment before its
// retransmission timer fires.
type Recovery int

const (
	// Classic waits for three duplicate ACKs (RFC 5681 fast retransmit),
	// with SACK (RFC 6675) to choose what to resend. The default: after a
	// run of losses (a --cut, heavy --loss) gVisor's RACK was seen stuck in
	// recovery, resending two segments per retransmission timeout, where
	// classic recovery went back to slow start as RFC 5681 says.
	Classic Recovery = iota
	// RACK detects loss by time (RFC 8985): a segment sent well before one
	// that was acknowledged (SACKed) is presumed lost; with it comes the
	// tail loss probe. gVisor's own default, and Linux's.
	RACK
)

// String returns "classic" or "rack".
func (r Recovery) String() string {
	if r == RACK {
		return "rack"
	}
	return "classic"
}

// ParseRecovery reads a --tcp-recovery value: "rack" or "classic".
func ParseRecovery(s string) (Recovery, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "classic", "":
		return Classic, nil
	case "rack":
		return RACK, nil
	}
	return Classic, fmt.Errorf("simwire: --tcp-recovery %q: want rack or classic", s)
}

// Options configure a Network. The zero value is a perfect wire with
// classic recovery and nothing recorded.
type Options struct {
	// Impair is what the wire does to packets, the same each way.
	Impair impair.Config
	// Recovery is both stacks' loss detection.
	Recovery Recovery
	// Trace keeps the headers of up to this many packets (both directions)
	// for Trace and a ladder diagram; 0 keeps none.
	Trace int
	// Probe keeps up to this many per-ACK samples of the senders' state
	// (cwnd, srtt, RTO); 0 keeps none.
	Probe int
	// PCAP, if set, receives every packet that crossed the wire.
	PCAP *PCAP

	// queue, set by tests, replaces endpointQueue.
	queue int

	// drop, set by tests, drops a packet the pipeline would let through:
	// a forced loss of one chosen packet.
	drop func(dir Dir, p Packet) bool

	// start, when set, is the network's time zero (--cut, trace): a Link
	// sets it to when Listen was called, before the stacks are built.
	start time.Time

	// up and down, when set, are where the wire counts (a Link shares its
	// counters between the networks it starts).
	up, down *impair.Counters
}

// A Network is two TCP/IP stacks joined by an impaired wire. Its methods
// are safe for concurrent use.
type Network struct {
	opts   Options
	start  time.Time
	client *Host
	server *Host
	up     *direction // client → server
	down   *direction // server → client
	trace  *tracer
	probe  *prober

	stop      chan struct{}
	closed    chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	mu        sync.Mutex
	final     *Stats // set by Close
}

// A Host is one end of the wire: a stack with one address. Its methods
// return gonet's net.Conn and net.Listener values.
type Host struct {
	s    *stack.Stack
	ep   *channel.Endpoint
	nic  *countingEndpoint
	addr netip.Addr
}

// A countingEndpoint is the NIC's link endpoint: a channel.Endpoint that
// counts the packets its full queue refused. (channel.Endpoint reports
// them to the stack as not written without an error, and the stack drops
// them without a count.)
type countingEndpoint struct {
	*channel.Endpoint
	drops atomic.Uint64
}

// WritePackets implements stack.LinkEndpoint.
func (e *countingEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n, err := e.Endpoint.WritePackets(pkts)
	if d := pkts.Len() - n; d > 0 {
		e.drops.Add(uint64(d))
	}
	return n, err
}

// New starts a network: both stacks and the wire's two directions. Close
// stops it.
func New(opts Options) (*Network, error) {
	quietOnce.Do(func() { glog.SetTarget(discard{}) })
	if err := opts.Impair.Validate(); err != nil {
		return nil, err
	}
	if opts.up == nil {
		opts.up, opts.down = new(impair.Counters), new(impair.Counters)
	}
	if opts.start.IsZero() {
		opts.start = time.Now()
	}
	n := &Network{opts: opts, start: opts.start, stop: make(chan struct{}), closed: make(chan struct{})}
	if opts.Trace > 0 {
		n.trace = newTracer(n.start, opts.Trace)
	}
	if opts.Probe > 0 {
		n.probe = newProber(n.start, opts.Probe)
	}
	var err error
	if n.client, err = n.newHost(ClientAddr, "client"); err != nil {
		return nil, err
	}
	if n.server, err = n.newHost(ServerAddr, "server"); err != nil {
		n.client.s.Destroy()
		return nil, err
	}
	n.up = newDirection(n, Up, n.client.ep, n.server.ep, opts.up)
	n.down = newDirection(n, Down, n.server.ep, n.client.ep, opts.down)
	n.wg.Add(2)
	go n.up.run()
	go n.down.run()
	return n, nil
}

// quietOnce silences gVisor's own log: it warns on stderr about segments
// for connections a closing stack aborted, which are normal here.
var quietOnce sync.Once

type discard struct{}

func (discard) Emit(int, glog.Level, time.Time, string, ...any) {}

func (n *Network) newHost(addr netip.Addr, side string) (*Host, error) {
	tcpProto := tcp.NewProtocol
	if n.probe != nil {
		tcpProto = tcp.NewProtocolProbe(n.probe.record(side))
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcpProto, udp.NewProtocol},
	})
	fail := func(what string, e tcpip.Error) (*Host, error) {
		s.Destroy()
		return nil, fmt.Errorf("simwire: %s stack: %s: %s", side, what, e)
	}
	sack := tcpip.TCPSACKEnabled(true)
	if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); e != nil {
		return fail("SACK", e)
	}
	rec := tcpip.TCPRecovery(0)
	if n.opts.Recovery == RACK {
		rec = tcpip.TCPRACKLossDetection
	}
	if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, &rec); e != nil {
		return fail("recovery", e)
	}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4096, Default: sendBuffer, Max: sendBuffer}
	if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, &snd); e != nil {
		return fail("send buffer", e)
	}
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: receiveBuffer, Max: receiveBuffer}
	if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv); e != nil {
		return fail("receive buffer", e)
	}
	queue := endpointQueue
	if n.opts.queue > 0 {
		queue = n.opts.queue
	}
	ep := channel.New(queue, MTU, "")
	nic := &countingEndpoint{Endpoint: ep}
	if e := s.CreateNIC(nicID, nic); e != nil {
		return fail("NIC", e)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFromSlice(addr.AsSlice()).WithPrefix()}
	if e := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
		return fail("address", e)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	return &Host{s: s, ep: ep, nic: nic, addr: addr}, nil
}

// Client is the client's end of the wire (10.0.0.1).
func (n *Network) Client() *Host { return n.client }

// Server is the server's end of the wire (10.0.0.2).
func (n *Network) Server() *Host { return n.server }

// Start is when the network started: --cut and trace times count from here.
func (n *Network) Start() time.Time { return n.start }

// Close stops the network: it aborts every connection on both stacks,
// stops the wire and waits for every goroutine of both (the stacks'
// workers included). It may be called more than once.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		close(n.stop)
		n.wg.Wait()
		st := n.stats()
		for _, h := range []*Host{n.client, n.server} {
			h.s.Close()
			h.s.Wait()
			h.ep.Close()
		}
		n.mu.Lock()
		n.final = &st
		n.mu.Unlock()
		if n.opts.PCAP != nil {
			n.opts.PCAP.flush()
		}
		close(n.closed)
	})
	return nil
}

// Closed is closed once Close has stopped the network.
func (n *Network) Closed() <-chan struct{} { return n.closed }

// Addr returns the stack's address.
func (h *Host) Addr() netip.Addr { return h.addr }

func full(ap netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFromSlice(ap.Addr().AsSlice()), Port: ap.Port()}
}

// DialTCP opens a TCP connection from this stack to addr (on the other
// stack), as net.Dialer.DialContext does.
func (h *Host) DialTCP(ctx context.Context, addr netip.AddrPort) (*gonet.TCPConn, error) {
	return gonet.DialContextTCP(ctx, h.s, full(addr), ipv4.ProtocolNumber)
}

// ListenTCP listens for TCP connections on this stack's port (0 picks one).
func (h *Host) ListenTCP(port uint16) (*gonet.TCPListener, error) {
	return gonet.ListenTCP(h.s, full(netip.AddrPortFrom(h.addr, port)), ipv4.ProtocolNumber)
}

// DialUDP opens a UDP socket on this stack that sends to addr.
func (h *Host) DialUDP(addr netip.AddrPort) (*gonet.UDPConn, error) {
	local := full(netip.AddrPortFrom(h.addr, 0))
	remote := full(addr)
	return gonet.DialUDP(h.s, &local, &remote, ipv4.ProtocolNumber)
}

// ListenUDP opens a UDP socket on this stack's port (0 picks one).
func (h *Host) ListenUDP(port uint16) (*gonet.UDPConn, error) {
	local := full(netip.AddrPortFrom(h.addr, port))
	return gonet.DialUDP(h.s, &local, nil, ipv4.ProtocolNumber)
}

// TCPStats is what one stack's TCP did, summed over its connections.
type TCPStats struct {
	SegmentsSent    uint64 `json:"segments_sent"`
	Retransmits     uint64 `json:"retransmits"`      // segments sent again, for any reason
	FastRetransmits uint64 `json:"fast_retransmits"` // resent on duplicate ACKs / SACK, before the timer
	Timeouts        uint64 `json:"rto_timeouts"`     // the retransmission timer fired
	SACKRecoveries  uint64 `json:"sack_recoveries"`  // recovery episodes driven by SACK
	TLPRecoveries   uint64 `json:"tlp_recoveries"`   // tail loss probes that recovered a loss
	FastRecoveries  uint64 `json:"fast_recoveries"`  // NewReno fast recovery episodes (no SACK)
	SlowStartRexmit uint64 `json:"slow_start_retransmits"`
	Spurious        uint64 `json:"spurious_recoveries"` // recoveries later found needless
}

// Add returns the sum.
func (t TCPStats) Add(u TCPStats) TCPStats {
	return TCPStats{t.SegmentsSent + u.SegmentsSent, t.Retransmits + u.Retransmits,
		t.FastRetransmits + u.FastRetransmits, t.Timeouts + u.Timeouts, t.SACKRecoveries + u.SACKRecoveries,
		t.TLPRecoveries + u.TLPRecoveries, t.FastRecoveries + u.FastRecoveries,
		t.SlowStartRexmit + u.SlowStartRexmit, t.Spurious + u.Spurious}
}

// Stats is what a network did: the wire's counts each way and each stack's
// TCP counters.
type Stats struct {
	Up     impair.Counts `json:"client_to_server"`
	Down   impair.Counts `json:"server_to_client"`
	Client TCPStats      `json:"client_tcp"`
	Server TCPStats      `json:"server_tcp"`
	// QueueDrops are packets dropped inside a host rather than by the
	// wire: the NIC's outbound queue or a UDP socket's receive queue was
	// full. The queues are sized so the labs see none.
	QueueDrops uint64 `json:"queue_drops"`
}

// Add returns the sum.
func (s Stats) Add(t Stats) Stats {
	return Stats{Up: s.Up.Add(t.Up), Down: s.Down.Add(t.Down), Client: s.Client.Add(t.Client),
		Server: s.Server.Add(t.Server), QueueDrops: s.QueueDrops + t.QueueDrops}
}

// Stats returns what the network did so far (its totals once closed). The
// wire's counts are those of the counters it was given: a Link's networks
// share theirs.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	f := n.final
	n.mu.Unlock()
	if f != nil {
		return *f
	}
	return n.stats()
}

func (n *Network) stats() Stats {
	st := Stats{Up: n.opts.up.Load(), Down: n.opts.down.Load(),
		Client: tcpStats(n.client.s), Server: tcpStats(n.server.s)}
	for _, h := range []*Host{n.client, n.server} {
		st.QueueDrops += h.nic.drops.Load() + queueDrops(h.s)
	}
	return st
}

func tcpStats(s *stack.Stack) TCPStats {
	t := s.Stats().TCP
	return TCPStats{
		SegmentsSent: t.SegmentsSent.Value(), Retransmits: t.Retransmits.Value(),
		FastRetransmits: t.FastRetransmit.Value(), Timeouts: t.Timeouts.Value(),
		SACKRecoveries: t.SACKRecovery.Value(), TLPRecoveries: t.TLPRecovery.Value(),
		FastRecoveries: t.FastRecovery.Value(), SlowStartRexmit: t.SlowStartRetransmits.Value(),
		Spurious: t.SpuriousRecovery.Value(),
	}
}

func queueDrops(s *stack.Stack) uint64 {
	st := s.Stats()
	return st.UDP.ReceiveBufferErrors.Value()
}
