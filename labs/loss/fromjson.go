package loss

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/simwire"
)

// FromJSON turns a saved --json document back into the Result that printed
// it, as far as the document keeps it: the counts, delays, timelines, what
// the wire and the TCP stacks did, the probe and (with --ladder) the
// packets. A document made before a field existed leaves it zero.
func FromJSON(j JSON) (Result, error) {
	link, err := ParseLink(j.Config.Link)
	if err != nil {
		return Result{}, err
	}
	res := Result{Count: j.Config.Count, Interval: fromUs(j.Config.IntervalUs), Size: j.Config.SizeBytes,
		Link: link, Late: fromUs(j.Config.LateUs)}
	if j.Config.Recovery != "" {
		if res.Recovery, err = simwire.ParseRecovery(j.Config.Recovery); err != nil {
			return Result{}, err
		}
	}
	for _, sj := range j.Streams {
		l := sj.Latency
		s := Stream{Transport: sj.Transport,
			Info: transport.Info{Name: sj.Transport, Network: sj.Network, Reliable: sj.Reliable},
			Sent: sj.Sent, Delivered: sj.Delivered, Lost: sj.Lost, Duplicated: sj.Duplicated,
			OutOfOrder: sj.OutOfOrder, LateCount: sj.Late, Timeline: sj.Timeline, Up: sj.Link,
			Latency: stats.Summary{Count: l.Count, Min: fromUs(l.MinUs), Mean: fromUs(l.MeanUs), P50: fromUs(l.P50Us),
				P90: fromUs(l.P90Us), P99: fromUs(l.P99Us), Max: fromUs(l.MaxUs)},
			Wire:    simwire.Stats{Up: sj.Link, Down: sj.LinkDown, QueueDrops: sj.QueueDrops},
			Elapsed: fromUs(sj.ElapsedUs)}
		if sj.Network == "" && (sj.ClientTCP != nil || sj.Transport == "udp") { // a document before "network"
			s.Info.Network, s.Info.Reliable = "udp", sj.Transport != "udp"
			if sj.ClientTCP != nil {
				s.Info.Network = "tcp"
			}
		}
		if sj.ClientTCP != nil {
			s.Wire.Client = *sj.ClientTCP
		}
		if sj.ServerTCP != nil {
			s.Wire.Server = *sj.ServerTCP
		}
		for _, us := range sj.DelayBySeqUs {
			d := time.Duration(-1)
			if us >= 0 {
				d = fromUs(us)
				s.Samples = append(s.Samples, d)
			}
			s.BySeq = append(s.BySeq, d)
		}
		for _, st := range sj.Stalls {
			s.Stalls = append(s.Stalls, Stall{First: st.FirstSeq, Last: st.LastSeq, Worst: fromUs(st.WorstUs)})
		}
		for _, p := range sj.TCPProbe {
			ssthresh := p.Ssthresh
			if ssthresh < 0 {
				ssthresh = math.MaxInt32
			}
			s.Probe = append(s.Probe, simwire.Sample{At: fromUs(p.TUs), Side: "client", LocalPort: p.LocalPort,
				Cwnd: p.CwndSegs, Ssthresh: ssthresh, SRTT: fromUs(p.SRTTUs), RTTVar: fromUs(p.RTTVarUs),
				RTO: fromUs(p.RTOUs), Outstanding: p.Outstanding, SACKed: p.SACKed, InRecovery: p.InRecovery})
		}
		for _, p := range sj.Packets {
			pk := simwire.Packet{Index: p.Index, Sent: fromUs(p.SentUs), Arrived: -1, Copies: p.Copies,
				Proto: p.Proto, SrcPort: p.SrcPort, DstPort: p.DstPort, Flags: p.Flags, Seq: p.Seq, Ack: p.Ack,
				Len: p.Len, Window: p.Window, SACK: p.SACK, Options: p.Options}
			if p.Dir == simwire.Down.String() {
				pk.Dir = simwire.Down
			}
			if p.ArrivedUs != nil {
				pk.Arrived = fromUs(*p.ArrivedUs)
			}
			s.Packets = append(s.Packets, pk)
		}
		if sj.Error != "" {
			s.Err = errors.New(sj.Error)
		}
		res.Streams = append(res.Streams, s)
	}
	return res, nil
}

// ParseLink reads an impaired link as impair.Config.String writes it:
// "--loss 3% --delay 5ms --seed 1", or "perfect link".
func ParseLink(s string) (impair.Config, error) {
	var c impair.Config
	if s == "" || s == "perfect link" {
		return c, nil
	}
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return c, fmt.Errorf("loss: link %q: want --name value pairs", s)
	}
	for i := 0; i < len(f); i += 2 {
		v := f[i+1]
		var err error
		switch f[i] {
		case "--loss":
			c.Loss, err = impair.ParseLoss(v)
		case "--burst":
			c.Burst, err = impair.ParseBurst(v)
		case "--dup":
			c.Dup, err = impair.ParseDup(v)
		case "--reorder":
			c.Reorder, err = impair.ParseReorder(v)
		case "--delay":
			c.Delay, err = impair.ParseDelay(v)
		case "--jitter":
			c.Jitter, err = impair.ParseJitter(v)
		case "--rate":
			c.Rate, err = impair.ParseRate(v)
		case "--cut":
			c.Cut, err = impair.ParseCut(v)
		case "--seed":
			_, err = fmt.Sscan(v, &c.Seed)
		default:
			err = fmt.Errorf("unknown impairment %s", f[i])
		}
		if err != nil {
			return c, fmt.Errorf("loss: link %q: %w", s, err)
		}
	}
	return c, nil
}

func fromUs(us float64) time.Duration {
	return time.Duration(math.Round(us * float64(time.Microsecond)))
}

// StreamsFromJSON turns a saved 'loss streams --json' document back into
// the StreamsResult that printed it: the table, the handshakes, the
// sentences and the chart's per-message delays.
func StreamsFromJSON(j StreamsJSON) (StreamsResult, error) {
	link, err := ParseLink(j.Config.Link)
	if err != nil {
		return StreamsResult{}, err
	}
	res := StreamsResult{Count: j.Config.Count, Interval: fromUs(j.Config.IntervalUs), Size: j.Config.Size,
		Link: link, Late: fromUs(j.Config.LateUs), HandshakeDelay: fromUs(j.Results.HandshakeDelayUs)}
	if j.Results.HandshakeError != "" {
		res.HandshakeErr = errors.New(j.Results.HandshakeError)
	}
	for _, h := range j.Results.Handshakes {
		res.Handshakes = append(res.Handshakes, HandshakeCost{Name: h.Name, Ready: fromUs(h.ReadyUs),
			RTT: fromUs(h.RTTUs), Connect: fromUs(h.ConnectUs), Note: h.Note})
	}
	for _, rj := range j.Results.Runs {
		l := rj.Delay
		r := StreamsRun{Transport: rj.Transport,
			Info: transport.Info{Name: rj.Transport, Network: rj.Network, Reliable: true, Ordered: rj.Ordered},
			Sent: rj.Sent, Delivered: rj.Delivered, Overtaken: rj.Overtaken, Late: rj.Late, OwnWait: rj.OwnWait, HeldBehind: rj.HeldBehind,
			Delay: stats.Summary{Count: l.Count, Min: fromUs(l.MinUs), Mean: fromUs(l.MeanUs), P50: fromUs(l.P50Us),
				P90: fromUs(l.P90Us), P99: fromUs(l.P99Us), Max: fromUs(l.MaxUs)},
			Up: impair.Counts{Dropped: rj.Dropped}, Interrupted: rj.Interrupted}
		if rj.Network == "" { // a document before "network": quic runs on UDP; one stream is ordered
			r.Info.Network, r.Info.Ordered = "tcp", rj.Streams == 1
			if strings.HasPrefix(rj.Transport, "quic") {
				r.Info.Network = "udp"
			}
		}
		for _, h := range rj.HeldRuns {
			r.Held = append(r.Held, Stall{First: h.FirstSeq, Last: h.LastSeq, Worst: fromUs(h.WorstUs)})
		}
		for _, us := range rj.DelayBySeqUs {
			d := time.Duration(-1)
			if us >= 0 {
				d = fromUs(us)
			}
			r.BySeq = append(r.BySeq, d)
		}
		if rj.Error != "" {
			r.Err = errors.New(rj.Error)
		}
		res.Runs = append(res.Runs, r)
	}
	return res, nil
}
