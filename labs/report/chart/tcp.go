package chart

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/transport/simwire"
)

// A flow is the client→server TCP connection of a loss stream that carried
// the messages, as the simulated wire traced it: its data segments and the
// ACKs that came back, with sequence numbers relative to the client's SYN
// (the first data byte is 1, as Wireshark shows them).
type flow struct {
	port     uint16 // the client's port
	segments []simwire.Packet
	acks     []simwire.Packet
	isn      uint32
}

// dataFlow finds the connection that carried the most payload bytes from
// the client (a WebSocket run has one; an HTTP run may open several).
func dataFlow(packets []simwire.Packet) (flow, bool) {
	bytes := map[uint16]int{}
	for _, p := range packets {
		if p.Dir == simwire.Up && p.Proto == "tcp" {
			bytes[p.SrcPort] += p.Len
		}
	}
	var f flow
	best := 0
	for port, n := range bytes {
		if n > best || (n == best && port < f.port) {
			f.port, best = port, n
		}
	}
	if best == 0 {
		return flow{}, false
	}
	isnSet := false
	for _, p := range packets {
		if p.Proto != "tcp" {
			continue
		}
		switch {
		case p.Dir == simwire.Up && p.SrcPort == f.port:
			if p.Flags == "SYN" && !isnSet {
				f.isn, isnSet = p.Seq, true
			}
			if p.Len > 0 {
				f.segments = append(f.segments, p)
			}
		case p.Dir == simwire.Down && p.DstPort == f.port && !p.Dropped():
			f.acks = append(f.acks, p)
		}
	}
	if !isnSet && len(f.segments) > 0 { // the trace began after the SYN
		f.isn = f.segments[0].Seq - 1
	}
	return f, true
}

// rel is seq relative to the flow's SYN.
func (f flow) rel(seq uint32) float64 { return float64(seq - f.isn) }

func secs(d time.Duration) float64 { return d.Seconds() }

// Sequence is the time–sequence graph of each TCP stream of a loss run on
// the simulated wire, in the manner of tcptrace and Wireshark's Stevens
// graph, seen from the sender: each data segment is a vertical bar from its
// first to its last byte at the time it left, a retransmitted one is black
// with a ring, one the wire dropped has a cross, and the grey step line is
// the acknowledged sequence number as the ACKs reached the sender. A stall
// is a flat ACK line; the bar that ends it is the retransmission.
//
// It needs the stream's packets (loss.Config.Ladder); a stream without
// them, or not over TCP, is left out.
func Sequence(r loss.Result) ([]Chart, error) {
	var rows [][]*plot.Plot
	var names []string
	for _, s := range sortByTransport(r.Streams, func(s loss.Stream) string { return s.Transport }) {
		f, ok := dataFlow(s.Packets)
		if !ok {
			continue
		}
		st := StyleOf(s.Transport)
		full, firstResent, err := sequencePlot(f, st, 0, math.Inf(1))
		if err != nil {
			return nil, err
		}
		row := []*plot.Plot{full}
		if firstResent >= 0 {
			// Beside it, the first loss close up: from a little before the
			// segment the wire dropped to a little after it was resent.
			from, to := firstResent, firstResent
			for _, p := range f.segments {
				if p.Dropped() && secs(p.Sent) <= firstResent {
					from = secs(p.Sent)
					break
				}
			}
			pad := max((to-from)/3, 0.005)
			zoom, _, err := sequencePlot(f, st, from-pad, to+pad)
			if err != nil {
				return nil, err
			}
			zoom.Title.Text = fmt.Sprintf("the first retransmission close up (%.0f ms)", (to-from+2*pad)*1000)
			row = append(row, zoom)
		} else {
			row = append(row, nil)
		}
		rows = append(rows, row)
		names = append(names, s.Transport)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []Chart{tiled("loss-tcp-sequence", "loss: time–sequence graph of the TCP sender (Stevens graph), from the simulated wire's trace",
		rows, names, 34*vg.Centimeter, vg.Length(len(rows))*9*vg.Centimeter+2*vg.Centimeter)}, nil
}

// sequencePlot draws flow f's segments and ACKs sent from time from to to
// (seconds), and returns when the first retransmission left (-1: none).
func sequencePlot(f flow, st Style, from, to float64) (*plot.Plot, float64, error) {
	in := func(x float64) bool { return x >= from && x <= to }
	firstResent := -1.0
	sent := segmentBars{style: draw.LineStyle{Color: st.Color, Width: vg.Points(1.5)}}
	resent := segmentBars{style: draw.LineStyle{Color: MarkColor, Width: vg.Points(2.5)}}
	var resentTops, dropped, acked plotter.XYs
	highest := 0.0
	for _, p := range f.segments {
		lo, hi := f.rel(p.Seq), f.rel(p.Seq)+float64(p.Len)
		x := secs(p.Sent)
		again := lo < highest
		highest = max(highest, hi)
		if again && firstResent < 0 {
			firstResent = x
		}
		if !in(x) {
			continue
		}
		if again {
			resent.bars = append(resent.bars, [3]float64{x, lo, hi})
			resentTops = append(resentTops, plotter.XY{X: x, Y: hi})
		} else {
			sent.bars = append(sent.bars, [3]float64{x, lo, hi})
		}
		if p.Dropped() {
			dropped = append(dropped, plotter.XY{X: x, Y: hi})
		}
	}
	for _, p := range f.acks {
		if p.Flags == "" || p.Ack == 0 || p.Flags == "SYN,ACK" {
			continue
		}
		acked = append(acked, plotter.XY{X: secs(p.Arrived), Y: math.Max(0, f.rel(p.Ack))})
	}
	title := fmt.Sprintf("%s: %d data segments, %d retransmitted, %d dropped by the wire",
		st.Label, len(f.segments), len(resent.bars), len(dropped))
	p := newPlot(title, "time since the link started (s)", "sequence number (bytes)")
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Legend.Left = true
	p.X.Min, p.Y.Min = 0, 0
	if len(acked) > 0 {
		l, err := plotter.NewLine(acked)
		if err != nil {
			return nil, 0, err
		}
		l.LineStyle = draw.LineStyle{Color: ServerColor, Width: vg.Points(1.5)}
		l.StepStyle = plotter.PostStep
		p.Add(l)
		p.Legend.Add("acknowledged (ACKs as the sender got them)", l)
	}
	p.Add(sent)
	p.Legend.Add("segment sent", sent)
	if len(resent.bars) > 0 {
		p.Add(resent)
		rings, err := plotter.NewScatter(resentTops)
		if err != nil {
			return nil, 0, err
		}
		rings.GlyphStyle = draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
		p.Add(rings)
		p.Legend.Add("retransmitted", resent, rings)
	}
	if len(dropped) > 0 {
		x, err := plotter.NewScatter(dropped)
		if err != nil {
			return nil, 0, err
		}
		x.GlyphStyle = draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
		p.Add(x)
		p.Legend.Add("dropped by the wire", x)
	}
	if !math.IsInf(to, 1) {
		p.X.Min, p.X.Max = from, to
		p.Y.Min, p.Y.Max = math.Inf(1), math.Inf(-1)
		for _, b := range append(sent.bars, resent.bars...) {
			p.Y.Min, p.Y.Max = min(p.Y.Min, b[1]), max(p.Y.Max, b[2])
		}
		if p.Y.Min > p.Y.Max {
			p.Y.Min, p.Y.Max = 0, 1
		}
		pad := (p.Y.Max - p.Y.Min) * 0.1
		p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
		p.Legend = plot.NewLegend()
	}
	return p, firstResent, nil
}

// Cwnd is the TCP sender's state over time, for each TCP stream of a loss
// run on the simulated wire, from the stack's probe on every ACK: its
// congestion window and slow-start threshold (in segments) on the left, its
// smoothed RTT and retransmission timeout on the right. A loss shows as
// cwnd falling to ssthresh (fast recovery) or to one segment (a timeout).
func Cwnd(r loss.Result) ([]Chart, error) {
	var rows [][]*plot.Plot
	var names []string
	for _, s := range sortByTransport(r.Streams, func(s loss.Stream) string { return s.Transport }) {
		samples := s.Probe
		if f, ok := dataFlow(s.Packets); ok {
			samples = nil
			for _, p := range s.Probe {
				if p.LocalPort == f.port {
					samples = append(samples, p)
				}
			}
		}
		if len(samples) == 0 {
			continue
		}
		st := StyleOf(s.Transport)
		var cwnd, ssthresh, recovery, srtt, rto plotter.XYs
		for _, p := range samples {
			x := secs(p.At)
			cwnd = append(cwnd, plotter.XY{X: x, Y: float64(p.Cwnd)})
			if p.Ssthresh > 0 && p.Ssthresh < math.MaxInt32 {
				ssthresh = append(ssthresh, plotter.XY{X: x, Y: float64(p.Ssthresh)})
			}
			if p.InRecovery {
				recovery = append(recovery, plotter.XY{X: x, Y: float64(p.Cwnd)})
			}
			srtt = append(srtt, plotter.XY{X: x, Y: ms(p.SRTT)})
			rto = append(rto, plotter.XY{X: x, Y: ms(p.RTO)})
		}
		left := newPlot(st.Label+": congestion window", "time since the link started (s)", "segments")
		right := newPlot(st.Label+": round-trip estimate and timer", "time since the link started (s)", "ms")
		for _, p := range []*plot.Plot{left, right} {
			p.Title.TextStyle.Font.Size = vg.Points(12)
			p.Legend.Left = false
			p.X.Min, p.Y.Min = 0, 0
		}
		type line struct {
			xys   plotter.XYs
			label string
			style draw.LineStyle
			to    *plot.Plot
		}
		for _, l := range []line{
			{cwnd, "cwnd", draw.LineStyle{Color: st.Color, Width: vg.Points(2)}, left},
			{ssthresh, "ssthresh", draw.LineStyle{Color: ServerColor, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}, left},
			{rto, "RTO", draw.LineStyle{Color: st.Color, Width: vg.Points(2)}, right},
			{srtt, "smoothed RTT", draw.LineStyle{Color: ServerColor, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}, right},
		} {
			if len(l.xys) == 0 {
				continue
			}
			pl, err := plotter.NewLine(l.xys)
			if err != nil {
				return nil, err
			}
			pl.LineStyle = l.style
			pl.StepStyle = plotter.PostStep
			l.to.Add(pl)
			l.to.Legend.Add(l.label, pl)
		}
		if len(recovery) > 0 {
			sc, err := plotter.NewScatter(recovery)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			left.Add(sc)
			left.Legend.Add("in fast recovery", sc)
		}
		rows = append(rows, []*plot.Plot{left, right})
		names = append(names, s.Transport)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []Chart{tiled("loss-tcp-cwnd", "loss: the TCP sender's congestion window, RTT estimate and RTO on every ACK, from the simulated wire's probe",
		rows, names, 30*vg.Centimeter, vg.Length(len(rows))*8*vg.Centimeter+2*vg.Centimeter)}, nil
}

// segmentBars draws vertical bars, one per segment: x, then its first and
// last byte. It is a plot.Plotter, a plot.DataRanger and a legend
// thumbnail.
type segmentBars struct {
	bars  [][3]float64
	style draw.LineStyle
}

func (s segmentBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, b := range s.bars {
		x := tx(b[0])
		c.StrokeLine2(s.style, x, ty(b[1]), x, ty(b[2]))
	}
}

func (s segmentBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, b := range s.bars {
		xmin, xmax = min(xmin, b[0]), max(xmax, b[0])
		ymin, ymax = min(ymin, b[1]), max(ymax, b[2])
	}
	if len(s.bars) == 0 {
		return 0, 0, 0, 0
	}
	return xmin, xmax, ymin, ymax
}

func (s segmentBars) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(s.style, x, c.Min.Y, x, c.Max.Y)
}
