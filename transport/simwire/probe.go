package simwire

import (
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// A Sample is a TCP sender's state as the stack's probe saw it on one
// received segment (usually an ACK).
type Sample struct {
	At         time.Duration `json:"-"`    // since the network started
	Side       string        `json:"side"` // "client" or "server": whose stack
	LocalPort  uint16        `json:"local_port"`
	RemotePort uint16        `json:"remote_port"`
	// Cwnd and Ssthresh are in segments (of MSS bytes), as gVisor keeps them.
	Cwnd     int           `json:"cwnd_segments"`
	Ssthresh int           `json:"ssthresh_segments"`
	SRTT     time.Duration `json:"-"`
	RTTVar   time.Duration `json:"-"`
	RTO      time.Duration `json:"-"`
	// Outstanding is segments sent and not yet acknowledged; SACKed of
	// them, those the receiver reported holding.
	Outstanding int  `json:"outstanding_segments"`
	SACKed      int  `json:"sacked_segments"`
	InRecovery  bool `json:"in_recovery"`
}

// A prober keeps the first samples of every connection's sender.
type prober struct {
	mu      sync.Mutex
	start   time.Time
	limit   int
	samples []Sample
	last    map[[3]uint16]Sample
}

func newProber(start time.Time, limit int) *prober {
	return &prober{start: start, limit: limit, last: map[[3]uint16]Sample{}}
}

// record returns the probe for one side's stack. It runs on the stack's
// segment-processing goroutines. A sample equal to the connection's last
// one (but for its time) is not kept.
func (p *prober) record(side string) tcp.TCPProbeFunc {
	sideKey := uint16(0)
	if side == "server" {
		sideKey = 1
	}
	return func(s *tcp.TCPEndpointState) {
		snd := s.Sender
		smp := Sample{Side: side, LocalPort: s.ID.LocalPort, RemotePort: s.ID.RemotePort,
			Cwnd: snd.SndCwnd, Ssthresh: snd.Ssthresh, SRTT: snd.RTTState.SRTT, RTTVar: snd.RTTState.RTTVar,
			RTO: snd.RTO, Outstanding: snd.Outstanding, SACKed: snd.SackedOut, InRecovery: snd.FastRecovery.Active}
		key := [3]uint16{sideKey, s.ID.LocalPort, s.ID.RemotePort}
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.samples) >= p.limit || p.last[key] == smp {
			return
		}
		p.last[key] = smp
		smp.At = time.Since(p.start)
		p.samples = append(p.samples, smp)
	}
}

// Samples returns the senders' states the network kept (Options.Probe), in
// time order.
func (n *Network) Samples() []Sample {
	if n.probe == nil {
		return nil
	}
	n.probe.mu.Lock()
	defer n.probe.mu.Unlock()
	return append([]Sample(nil), n.probe.samples...)
}
