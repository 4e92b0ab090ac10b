package chart

import (
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/netlab/netlab/labs/stats"
)

// Samples are the durations measured over one transport.
type Samples struct {
	Transport string
	Samples   []time.Duration
	// Label, when set, names the series instead of the transport (two
	// series of one transport: same server and across servers); Dashed
	// draws its line dashed.
	Label  string
	Dashed bool
}

// name is the series' name in the legend and in Chart.Series.
func (s Samples) name() string {
	if s.Label != "" {
		return s.Label
	}
	return StyleOf(s.Transport).Label
}

// LatencyCDF draws one cumulative distribution per transport on a log time
// axis (µs and ms read on one chart), with each transport's p50 (circle)
// and p99 (triangle) marked: a point at (x, y) says y of the samples took
// x or less. Transports with no samples are left out; with none at all there
// is no chart (nil).
func LatencyCDF(name, title, xLabel string, series []Samples) ([]Chart, error) {
	p := newPlot(title, xLabel+" (ms, log scale)", "fraction of messages at or below")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	// The legend goes bottom right, in room made right of the slowest
	// sample, where no line runs.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(12)
	slowest := 0.0
	var names []string
	for _, s := range sortByTransport(series, func(s Samples) string { return s.Transport }) {
		if len(s.Samples) == 0 {
			continue
		}
		l, err := plotter.NewLine(cdf(s.Samples))
		if err != nil {
			return nil, err
		}
		l.LineStyle = lineStyle(s.Transport)
		if s.Dashed {
			l.LineStyle.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		slowest = max(slowest, ms(slices.Max(s.Samples)))
		marks, err := plotter.NewScatter(plotter.XYs{
			{X: max(ms(stats.Percentile(s.Samples, 50)), 0.001), Y: 0.5},
			{X: max(ms(stats.Percentile(s.Samples, 99)), 0.001), Y: 0.99},
		})
		if err != nil {
			return nil, err
		}
		marks.GlyphStyleFunc = func(i int) draw.GlyphStyle {
			g := draw.GlyphStyle{Color: StyleOf(s.Transport).Color, Radius: vg.Points(5), Shape: draw.CircleGlyph{}}
			if i == 1 {
				g.Shape = draw.TriangleGlyph{}
			}
			return g
		}
		p.Add(l, marks)
		p.Legend.Add(s.name(), l)
		if s.Label != "" {
			names = append(names, s.Label)
		} else {
			names = append(names, s.Transport)
		}
	}
	for _, q := range []struct {
		label string
		y     float64
		shape draw.GlyphDrawer
	}{{"p50 (circle)", 0.5, draw.CircleGlyph{}}, {"p99 (triangle)", 0.99, draw.TriangleGlyph{}}} {
		g := draw.GlyphStyle{Color: MarkColor, Radius: vg.Points(5), Shape: q.shape}
		p.Legend.Add(q.label, glyphThumb{g})
	}
	if len(names) == 0 {
		return nil, nil
	}
	p.X.Max = max(slowest, 0.001) * 40
	return []Chart{single(name, p, names)}, nil
}

// glyphThumb draws a glyph in the legend.
type glyphThumb struct{ g draw.GlyphStyle }

func (t glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(t.g, c.Center())
}
