package chart

import (
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/compare"
	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/events"
	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/labs/push"
)

// Echo is the chart of an echo run: the round-trip CDF per transport.
func Echo(results []echo.Result) ([]Chart, error) {
	var series []Samples
	for _, r := range results {
		series = append(series, Samples{Transport: r.Transport.Name, Samples: r.RTTSamples})
	}
	return LatencyCDF("echo-rtt", "echo: round-trip time, one line per transport", "round-trip time", series)
}

// Compare is the charts of a compare run: the echo round-trip CDF, the
// push one-way delay CDF, the push delivery timeline and HTTP requests over
// time, for the parts that ran.
func Compare(r compare.Result) ([]Chart, error) {
	var out []Chart
	var rtt, delay []Samples
	var pushed []push.Result
	for _, c := range r.Columns {
		if c.Echo != nil {
			rtt = append(rtt, Samples{Transport: c.Name, Samples: c.Echo.RTTSamples})
		}
		if c.Push != nil {
			delay = append(delay, Samples{Transport: c.Name, Samples: c.Push.Delays})
			p := *c.Push
			p.Transport = c.Name
			pushed = append(pushed, p)
		}
	}
	if r.Echoed && len(rtt) > 0 {
		c, err := LatencyCDF("compare-rtt", "compare: echo round-trip time, one line per transport", "round-trip time", rtt)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	if len(pushed) > 0 {
		c, err := LatencyCDF("compare-push-delay", "compare: push one-way delay, server to client", "one-way delay", delay)
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
		pc, err := pushCharts("compare-push", pushed)
		if err != nil {
			return nil, err
		}
		out = append(out, pc...)
	}
	return out, nil
}

// Push is the charts of a push run: one-way delay CDF, the delivery
// timeline (when the server produced each event, when each transport
// delivered it) and HTTP requests over time.
func Push(results []push.Result) ([]Chart, error) {
	var delay []Samples
	for _, r := range results {
		delay = append(delay, Samples{Transport: r.Transport, Samples: r.Delays})
	}
	c, err := LatencyCDF("push-delay", "push: one-way delay, server to client", "one-way delay", delay)
	if err != nil {
		return nil, err
	}
	more, err := pushCharts("push", results)
	if err != nil {
		return nil, err
	}
	return append(c, more...), nil
}

func pushCharts(prefix string, results []push.Result) ([]Chart, error) {
	results = sortByTransport(results, func(r push.Result) string { return r.Transport })
	var rows [][]*plot.Plot
	var names []string
	for _, r := range results {
		if len(r.Events) == 0 {
			continue
		}
		st := StyleOf(r.Transport)
		p := newPlot(st.Label, "time since the run began (s)", "event number")
		p.Title.TextStyle.Font.Size = vg.Points(12)
		p.X.Min, p.Y.Min = 0, 0
		var sent, got plotter.XYs
		for _, e := range r.Events {
			sent = append(sent, plotter.XY{X: e.Sent.Seconds(), Y: float64(e.Seq)})
			got = append(got, plotter.XY{X: e.Arrived.Seconds(), Y: float64(e.Seq)})
		}
		ps, err := plotter.NewScatter(sent)
		if err != nil {
			return nil, err
		}
		ps.GlyphStyle = draw.GlyphStyle{Color: ServerColor, Radius: vg.Points(3), Shape: draw.RingGlyph{}}
		pg, err := plotter.NewScatter(got)
		if err != nil {
			return nil, err
		}
		pg.GlyphStyle = draw.GlyphStyle{Color: st.Color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		p.Add(ps, pg)
		p.Legend.Add("produced by the server", ps)
		p.Legend.Add("delivered over "+st.Label, pg)
		p.Legend.Left = true
		rows = append(rows, []*plot.Plot{p})
		names = append(names, r.Transport)
	}
	var out []Chart
	if len(rows) > 0 {
		out = append(out, tiled(prefix+"-timeline", "push: each event as the server produced it and as the client got it",
			rows, names, Width, vg.Length(len(rows))*6*vg.Centimeter+2*vg.Centimeter))
	}
	p := newPlot("push: HTTP requests the client made over time", "time since the run began (s)", "requests so far")
	p.Legend.Left = true
	p.X.Min, p.Y.Min = 0, 0
	var reqNames []string
	for _, r := range results {
		if len(r.Requests) == 0 {
			continue
		}
		var xys plotter.XYs
		for _, q := range r.Requests {
			xys = append(xys, plotter.XY{X: q.At.Seconds(), Y: float64(q.Requests)})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.LineStyle = lineStyle(r.Transport)
		l.StepStyle = plotter.PostStep
		p.Add(l)
		p.Legend.Add(StyleOf(r.Transport).Label, l)
		reqNames = append(reqNames, r.Transport)
	}
	if len(reqNames) > 0 {
		out = append(out, single(prefix+"-requests", p, reqNames))
	}
	return out, nil
}

// Loss is the charts of a loss run: each message's one-way delay against
// its number, one panel per transport, where a message that never arrived
// is a cross on the axis and one still on its way when Ctrl-C stopped the
// run (the timeline's '?', counted in flight, not lost) a ring; then, for
// the TCP streams on the simulated wire, the time–sequence graph
// (Sequence) and cwnd over time (Cwnd).
func Loss(r loss.Result) ([]Chart, error) {
	streams := sortByTransport(r.Streams, func(s loss.Stream) string { return s.Transport })
	var rows [][]*plot.Plot
	var names []string
	var top time.Duration
	for _, s := range streams {
		for _, d := range s.BySeq {
			top = max(top, d)
		}
	}
	for _, s := range streams {
		if len(s.BySeq) == 0 {
			continue
		}
		st := StyleOf(s.Transport)
		title := fmt.Sprintf("%s: %d of %d delivered", st.Label, s.Delivered, s.Sent)
		if s.InFlight > 0 {
			title += fmt.Sprintf(", %d in flight at Ctrl-C", s.InFlight)
		}
		p := newPlot(title, "message number", "one-way delay (ms)")
		p.Title.TextStyle.Font.Size = vg.Points(12)
		p.Y.Min, p.Y.Max = 0, ms(top)*1.05+1
		var got, lost, inFlight plotter.XYs
		for i, d := range s.BySeq {
			switch {
			case d >= 0:
				got = append(got, plotter.XY{X: float64(i + 1), Y: ms(d)})
			case i < len(s.Timeline) && s.Timeline[i] == loss.MarkInFlight:
				inFlight = append(inFlight, plotter.XY{X: float64(i + 1), Y: 0})
			default:
				lost = append(lost, plotter.XY{X: float64(i + 1), Y: 0})
			}
		}
		if err := addMarks(p, []marks{
			{got, "delivered", draw.GlyphStyle{Color: st.Color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}},
			{lost, "never arrived", draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(3), Shape: draw.CrossGlyph{}}},
			{inFlight, "in flight at Ctrl-C (not lost)", draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(3), Shape: draw.RingGlyph{}}},
		}); err != nil {
			return nil, err
		}
		p.Legend.Left = true
		rows = append(rows, []*plot.Plot{p})
		names = append(names, s.Transport)
	}
	var out []Chart
	if len(rows) > 0 {
		out = append(out, tiled("loss-delay", "loss: one-way delay of each message, by message number", rows, names,
			Width, vg.Length(len(rows))*6*vg.Centimeter+2*vg.Centimeter))
	}
	for _, f := range []func(loss.Result) ([]Chart, error){Sequence, Cwnd} {
		cs, err := f(r)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Missed is the chart of a missed run: for each scenario, per strategy and
// transport, the events delivered, missed and recovered and the extra
// messages the strategy cost.
func Missed(results []missed.Result) ([]Chart, error) {
	var scenarios []missed.Scenario
	var strategies []missed.Strategy
	var transports []string
	seen := map[string]bool{}
	for _, r := range results {
		if k := "s" + r.Scenario.String(); !seen[k] {
			seen[k] = true
			scenarios = append(scenarios, r.Scenario)
		}
		if k := "g" + r.Strategy.String(); !seen[k] {
			seen[k] = true
			strategies = append(strategies, r.Strategy)
		}
		if k := "t" + r.Transport; !seen[k] {
			seen[k] = true
			transports = append(transports, r.Transport)
		}
	}
	transports = sortByTransport(transports, func(s string) string { return s })
	find := func(sc missed.Scenario, sg missed.Strategy, tr string) *missed.Result {
		for i := range results {
			r := &results[i]
			if r.Scenario == sc && r.Strategy == sg && r.Transport == tr {
				return r
			}
		}
		return nil
	}
	measures := []struct {
		title string
		value func(r *missed.Result) float64
	}{
		{"delivered", func(r *missed.Result) float64 { return float64(r.Delivered) }},
		{"missed", func(r *missed.Result) float64 { return float64(r.Missed) }},
		{"recovered", func(r *missed.Result) float64 { return float64(r.Recovered) }},
		{"cost: extra messages", func(r *missed.Result) float64 { return float64(r.ExtraMessages) }},
	}
	var rows [][]*plot.Plot
	for _, sc := range scenarios {
		var row []*plot.Plot
		for _, m := range measures {
			p := newPlot(sc.String()+": "+m.title, "strategy", "")
			p.Title.TextStyle.Font.Size = vg.Points(12)
			p.Legend.Top, p.Legend.Left = true, false
			w := vg.Points(40) / vg.Length(max(1, len(transports)))
			top := 0.0
			for i, tr := range transports {
				vals := make(plotter.Values, len(strategies))
				for j, sg := range strategies {
					if r := find(sc, sg, tr); r != nil {
						vals[j] = m.value(r)
						top = max(top, vals[j])
					}
				}
				b, err := plotter.NewBarChart(vals, w)
				if err != nil {
					return nil, err
				}
				b.Color = StyleOf(tr).Color
				b.LineStyle.Width = 0
				b.Offset = w * vg.Length(2*i-len(transports)+1) / 2
				p.Add(b)
				if sc == scenarios[0] && m.title == measures[0].title {
					p.Legend.Add(StyleOf(tr).Label, b)
				}
			}
			var labels []string
			for _, sg := range strategies {
				labels = append(labels, sg.String())
			}
			p.NominalX(labels...)
			p.Y.Min, p.Y.Max = 0, top*1.4+1 // room for the legend above the bars
			row = append(row, p)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []Chart{tiled("missed", "missed: delivered, missed, recovered and the cost of each strategy, per transport",
		rows, transports, 34*vg.Centimeter, vg.Length(len(rows))*8*vg.Centimeter)}, nil
}

// ChatBench is the chart of a chat bench: the distribution of delivery
// latency, sender's Send to each receiver's Recv, over WebSocket.
func ChatBench(r chat.BenchResult) ([]Chart, error) {
	return LatencyCDF("chat-bench-latency", "chat bench: delivery latency, Send to each member's Recv", "delivery latency",
		[]Samples{{Transport: "ws", Samples: r.Samples}})
}

// Streams is the chart of a loss streams run: each message's one-way delay
// against its number, one panel per transport. A black triangle marks a
// late message released with an earlier late one, as the table counts
// them: on one ordered stream, a message held behind a packet that was not
// its own (head-of-line blocking). A cross on the axis is a message that
// never arrived; in a run Ctrl-C stopped, a ring is one still on its way
// (these transports are reliable: nothing sent is lost).
func Streams(r loss.StreamsResult) ([]Chart, error) {
	runs := sortByTransport(r.Runs, func(s loss.StreamsRun) string { return s.Transport })
	var top time.Duration
	for _, s := range runs {
		for _, d := range s.BySeq {
			top = max(top, d)
		}
	}
	var rows [][]*plot.Plot
	var names []string
	for _, s := range runs {
		if len(s.BySeq) == 0 {
			continue
		}
		st := StyleOf(s.Transport)
		held := map[int]bool{}
		for _, h := range s.Held {
			for seq := h.First; seq <= h.Last; seq++ {
				held[int(seq)] = true
			}
		}
		p := newPlot(fmt.Sprintf("%s: %d late, %d waited for their own packet, %d released with an earlier late one",
			st.Label, s.Late, s.OwnWait, s.HeldBehind), "message number", "one-way delay (ms)")
		p.Title.TextStyle.Font.Size = vg.Points(12)
		p.Y.Min, p.Y.Max = 0, ms(top)*1.05+1
		p.Legend.Left = true
		var got, behind, lost, inFlight plotter.XYs
		for i, d := range s.BySeq {
			xy := plotter.XY{X: float64(i + 1), Y: ms(d)}
			switch {
			case d < 0 && s.Interrupted:
				inFlight = append(inFlight, plotter.XY{X: xy.X})
			case d < 0:
				lost = append(lost, plotter.XY{X: xy.X})
			case held[i+1]:
				behind = append(behind, xy)
			default:
				got = append(got, xy)
			}
		}
		if err := addMarks(p, []marks{
			{got, "delivered", draw.GlyphStyle{Color: st.Color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}},
			{behind, "released with an earlier late one", draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(3), Shape: draw.TriangleGlyph{}}},
			{lost, "never arrived", draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(3), Shape: draw.CrossGlyph{}}},
			{inFlight, "in flight at Ctrl-C (not lost)", draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(3), Shape: draw.RingGlyph{}}},
		}); err != nil {
			return nil, err
		}
		rows = append(rows, []*plot.Plot{p})
		names = append(names, s.Transport)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []Chart{tiled("loss-streams-delay", "loss streams: one-way delay of each message; head-of-line waits marked",
		rows, names, Width, vg.Length(len(rows))*6*vg.Centimeter+2*vg.Centimeter)}, nil
}

// Events is the charts of an events run: the ack round-trip distribution
// per transport, each way (a client's EmitWithAck answered by the server,
// and the server's answered by a client).
func Events(results []events.Result) ([]Chart, error) {
	var up, down []Samples
	for _, r := range results {
		up = append(up, Samples{Transport: r.Transport, Samples: r.ClientToSrvRTTs})
		down = append(down, Samples{Transport: r.Transport, Samples: r.SrvToClientRTTs})
	}
	a, err := LatencyCDF("events-ack-client", "events: ack round trip, client emits and the server acks", "ack round-trip time", up)
	if err != nil {
		return nil, err
	}
	b, err := LatencyCDF("events-ack-server", "events: ack round trip, the server emits and a client acks", "ack round-trip time", down)
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// Cluster is the charts of a cluster demo: for each adapter run, the
// load phase's delivery latency, sender's send to each bot's receipt,
// for bots on the sender's server (solid) and on another server, through
// the adapter (dashed). The bots use WebSocket.
func Cluster(res *cluster.DemoResult) ([]Chart, error) {
	if res == nil {
		return nil, nil
	}
	var out []Chart
	for _, r := range res.Runs {
		cs, err := LatencyCDF("cluster-latency-"+r.Adapter, "cluster demo, adapter "+r.Adapter+": delivery latency in the load phase",
			"delivery latency", []Samples{
				{Transport: "ws", Samples: r.Load.SameServerSamples, Label: "same server"},
				{Transport: "ws", Samples: r.Load.CrossServerSamples, Label: "across servers (" + r.Adapter + ")", Dashed: true},
			})
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// marks are one scatter series of a chart: its points, legend and glyph.
type marks struct {
	xys   plotter.XYs
	label string
	style draw.GlyphStyle
}

// addMarks adds each non-empty series to p, with its legend entry.
func addMarks(p *plot.Plot, ms []marks) error {
	for _, g := range ms {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			return err
		}
		sc.GlyphStyle = g.style
		p.Add(sc)
		p.Legend.Add(g.label, sc)
	}
	return nil
}
