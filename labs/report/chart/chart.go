// Package chart draws netlab's results as charts with gonum/plot: a
// round-trip CDF for echo and compare, a delivery timeline for push, delay
// against message number for loss, counts and costs for missed. Every
// transport has one colour, one name and one place in the legend's order,
// the same in every chart (Styles).
//
// Labs build results; chart turns them into pictures, as labs/report turns
// them into text.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

func init() {
	// A sans-serif face reads better on a projector than the default serif.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

// Size of every chart: wide enough for a slide, readable when printed.
const (
	Width  = 22 * vg.Centimeter
	Height = 13 * vg.Centimeter
)

// A Chart is one picture of a run.
type Chart struct {
	// Name is the file's name without extension ("echo-rtt").
	Name string
	// Title says what it shows, for a page's caption.
	Title string
	// Series names the transports drawn, one series each, in legend order.
	Series []string
	// W and H are its size; Width and Height when zero.
	W, H vg.Length
	// draw renders the chart on a canvas.
	draw func(c draw.Canvas)
}

func (c Chart) size() (vg.Length, vg.Length) {
	w, h := c.W, c.H
	if w == 0 {
		w = Width
	}
	if h == 0 {
		h = Height
	}
	return w, h
}

// single makes a Chart of one plot.
func single(name string, p *plot.Plot, series []string) Chart {
	return Chart{Name: name, Title: p.Title.Text, Series: series, draw: p.Draw}
}

// tiled makes a Chart of several plots side by side, in rows.
func tiled(name, title string, rows [][]*plot.Plot, series []string, w, h vg.Length) Chart {
	return Chart{Name: name, Title: title, Series: series, W: w, H: h, draw: func(c draw.Canvas) {
		t := draw.Tiles{Rows: len(rows), Cols: len(rows[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(rows, t, c)
		for i, row := range rows {
			for j, p := range row {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}}
}

// Encode renders c as "svg" or "png". gonum/plot panics on data it cannot
// draw; Encode turns that into an error, so a chart never takes a run's
// output down with it.
func (c Chart) Encode(format string) (b []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			b, err = nil, fmt.Errorf("chart %s: %v", c.Name, v)
		}
	}()
	var buf bytes.Buffer
	w, h := c.size()
	switch format {
	case "svg":
		cv := vgsvg.New(w, h)
		c.draw(draw.New(cv))
		if _, err := cv.WriteTo(&buf); err != nil {
			return nil, err
		}
	case "png":
		cv := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(144))}
		c.draw(draw.New(cv))
		if _, err := cv.WriteTo(&buf); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("chart: unknown format %q (want svg or png)", format)
	}
	return buf.Bytes(), nil
}

// Write renders every chart into dir (made if missing) in each format and
// returns the paths written. The error names dir and says why it cannot be
// written.
func Write(dir string, charts []Chart, formats ...string) ([]string, error) {
	if len(formats) == 0 {
		formats = []string{"svg"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--plot %s: cannot make the directory: %w", dir, errors.Unwrap(err))
	}
	var paths []string
	for _, c := range charts {
		for _, f := range formats {
			b, err := c.Encode(f)
			if err != nil {
				return paths, err
			}
			p := filepath.Join(dir, c.Name+"."+f)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return paths, fmt.Errorf("--plot %s: cannot write %s: %w", dir, c.Name+"."+f, err)
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// newPlot starts a plot with netlab's look.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(15)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	p.Y.Tick.Label.Font.Size = vg.Points(11)
	p.Legend.TextStyle.Font.Size = vg.Points(12)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// lineStyle is the line of transport name.
func lineStyle(name string) draw.LineStyle {
	return draw.LineStyle{Color: StyleOf(name).Color, Width: vg.Points(2)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cdf returns the empirical CDF of samples as steps: for each sorted sample
// the fraction of samples at or below it. On a log axis a zero is drawn at
// 1 µs.
func cdf(samples []time.Duration) plotter.XYs {
	s := slices.Clone(samples)
	slices.Sort(s)
	xys := make(plotter.XYs, 0, 2*len(s))
	for i, d := range s {
		x := max(ms(d), 0.001)
		if i > 0 {
			xys = append(xys, plotter.XY{X: x, Y: float64(i) / float64(len(s))})
		}
		xys = append(xys, plotter.XY{X: x, Y: float64(i+1) / float64(len(s))})
	}
	return xys
}
