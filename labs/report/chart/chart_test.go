package chart

import (
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/loss"
)

func TestStylesAreDistinct(t *testing.T) {
	names, labels, colours := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range Styles() {
		c := string([]byte{s.Color.R, s.Color.G, s.Color.B})
		if names[s.Transport] || labels[s.Label] || colours[c] {
			t.Errorf("%s: its name, label or colour is used twice", s.Transport)
		}
		names[s.Transport], labels[s.Label], colours[c] = true, true, true
	}
	if StyleOf("ws") != Styles()[slices.IndexFunc(Styles(), func(s Style) bool { return s.Transport == "ws" })] || StyleOf("made-up").Label != "made-up" {
		t.Error("StyleOf does not read the table")
	}
}

// TestColoursStandApart: every transport's colour is far from every other's
// and from the marks' black and grey (a lost message's cross must not read
// as a transport's point), in plain RGB distance.
func TestColoursStandApart(t *testing.T) {
	type named struct {
		name string
		c    color.RGBA
	}
	all := []named{{"marks (black)", MarkColor}, {"server (grey)", ServerColor}}
	for _, s := range Styles() {
		all = append(all, named{s.Transport, s.Color})
	}
	for _, c := range fallback {
		all = append(all, named{"fallback", c})
	}
	const least = 60.0
	for i, a := range all {
		for _, b := range all[i+1:] {
			dr, dg, db := float64(a.c.R)-float64(b.c.R), float64(a.c.G)-float64(b.c.G), float64(a.c.B)-float64(b.c.B)
			if d := math.Sqrt(dr*dr + dg*dg + db*db); d < least {
				t.Errorf("%s and %s are %.0f apart, want at least %.0f", a.name, b.name, d, least)
			}
		}
	}
}

func TestCDF(t *testing.T) {
	xys := cdf([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 0})
	if last := xys[len(xys)-1]; last.X != 3 || last.Y != 1 {
		t.Errorf("last point %v, want (3 ms, 1)", last)
	}
	if xys[0].X != 0.001 || xys[0].Y != 0.25 {
		t.Errorf("first point %v, want a zero drawn at 1 µs, at 1/4", xys[0])
	}
	for i := 1; i < len(xys); i++ {
		if xys[i].X < xys[i-1].X || xys[i].Y < xys[i-1].Y {
			t.Fatalf("not monotone at %d: %v", i, xys)
		}
	}
}

// TestLatencyCDFOrder: the series follow the run's order (its table's
// columns), and a transport with no samples is left out.
func TestLatencyCDFOrder(t *testing.T) {
	cs, err := LatencyCDF("x", "x", "x", []Samples{
		{Transport: "ws", Samples: []time.Duration{time.Millisecond}}, {Transport: "tcp", Samples: []time.Duration{time.Microsecond}}, {Transport: "udp", Samples: nil},
	})
	if err != nil || len(cs) != 1 {
		t.Fatal(len(cs), err)
	}
	c := cs[0]
	if strings.Join(c.Series, ",") != "ws,tcp" {
		t.Errorf("series %v, want ws,tcp", c.Series)
	}
	b, err := c.Encode("svg")
	if err != nil || !strings.Contains(string(b), ">"+StyleOf("ws").Label+"</text>") || strings.Contains(string(b), ">udp</text>") {
		t.Errorf("the SVG's legend is wrong (err %v)", err)
	}
}

func TestLossMarksWhatNeverArrived(t *testing.T) {
	r := loss.Result{Streams: []loss.Stream{{Transport: "udp", Sent: 3, Delivered: 2,
		BySeq: []time.Duration{time.Millisecond, -1, 2 * time.Millisecond}}}}
	cs, err := Loss(r)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	b, _ := cs[0].Encode("svg")
	if !strings.Contains(string(b), ">never arrived</text>") || !strings.Contains(string(b), ">udp: 2 of 3 delivered</text>") {
		t.Error("the loss chart does not mark the lost message")
	}
}

// TestLossDrawsInFlightApart: messages on their way when Ctrl-C stopped
// the run (the timeline's '?') are not drawn as lost.
func TestLossDrawsInFlightApart(t *testing.T) {
	r := loss.Result{Streams: []loss.Stream{{Transport: "tcp", Sent: 4, Delivered: 2, InFlight: 2, Interrupted: true,
		Timeline: "..??", BySeq: []time.Duration{time.Millisecond, 2 * time.Millisecond, -1, -1}}}}
	cs, err := Loss(r)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	b, _ := cs[0].Encode("svg")
	svg := string(b)
	if strings.Contains(svg, ">never arrived</text>") {
		t.Error("the loss chart draws messages in flight at Ctrl-C as lost")
	}
	if !strings.Contains(svg, ">in flight at Ctrl-C (not lost)</text>") || !strings.Contains(svg, ">tcp: 2 of 4 delivered, 2 in flight at Ctrl-C</text>") {
		t.Error("the loss chart does not mark the messages in flight")
	}
	// One lost and one in flight: both marks.
	r.Streams[0].Timeline, r.Streams[0].InFlight = "..x?", 1
	cs, _ = Loss(r)
	b, _ = cs[0].Encode("svg")
	if svg := string(b); !strings.Contains(svg, ">never arrived</text>") || !strings.Contains(svg, ">in flight at Ctrl-C (not lost)</text>") {
		t.Error("with one lost and one in flight, the chart lacks one of the marks")
	}
}

// TestStreamsDrawsInFlightApart: in a loss streams run Ctrl-C stopped, a
// message not yet delivered is on its way, not lost.
func TestStreamsDrawsInFlightApart(t *testing.T) {
	r := loss.StreamsResult{Runs: []loss.StreamsRun{{Transport: "quic", Sent: 3, Delivered: 2, Interrupted: true,
		BySeq: []time.Duration{time.Millisecond, 2 * time.Millisecond, -1}}}}
	cs, err := Streams(r)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%d charts, err %v", len(cs), err)
	}
	b, _ := cs[0].Encode("svg")
	if svg := string(b); strings.Contains(svg, ">never arrived</text>") || !strings.Contains(svg, ">in flight at Ctrl-C (not lost)</text>") {
		t.Error("the streams chart draws the message in flight at Ctrl-C as lost")
	}
}

func TestWriteNamesTheDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	cs, _ := LatencyCDF("x", "x", "x", []Samples{{Transport: "tcp", Samples: []time.Duration{time.Millisecond}}})
	c := cs[0]
	_, err := Write(filepath.Join(file, "d"), cs)
	if err == nil || !strings.HasPrefix(err.Error(), "--plot "+filepath.Join(file, "d")+": ") {
		t.Errorf("err = %v, want one naming --plot and the directory", err)
	}
	if _, err := c.Encode("gif"); err == nil {
		t.Error("Encode(gif) did not fail")
	}
}

// TestNoSamplesNoChart: a run that measured nothing (every reply lost, or
// stopped at once) draws no chart instead of failing.
func TestNoSamplesNoChart(t *testing.T) {
	cs, err := LatencyCDF("x", "x", "x", []Samples{{Transport: "udp", Samples: nil}})
	if err != nil || len(cs) != 0 {
		t.Errorf("%d charts, err %v; want none", len(cs), err)
	}
	for name, f := range map[string]func() ([]Chart, error){
		"loss":   func() ([]Chart, error) { return Loss(loss.Result{}) },
		"missed": func() ([]Chart, error) { return Missed(nil) },
		"push":   func() ([]Chart, error) { return Push(nil) },
	} {
		cs, err := f()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, c := range cs {
			if _, err := c.Encode("svg"); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
