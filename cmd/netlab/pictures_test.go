package main

import (
	"bytes"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
)

// strokes counts the 2-point lines of each transport's colour in an SVG
// from gonum/plot: a chart's series and their legend swatches.
func strokes(svg, transport string) int {
	c := chart.StyleOf(transport).Color
	hex := strings.ToUpper(strings.TrimPrefix(hexColor(c.R, c.G, c.B), "#"))
	return strings.Count(svg, "stroke:#"+hex+";stroke-width:2\"")
}

func hexColor(r, g, b uint8) string {
	const digits = "0123456789ABCDEF"
	out := []byte{'#'}
	for _, v := range []uint8{r, g, b} {
		out = append(out, digits[v>>4], digits[v&15])
	}
	return string(out)
}

// TestComparePlotHasOneSeriesPerTransport runs compare with --plot and reads
// the round-trip chart: every transport that ran is named in the legend and
// drawn as one line (plus its legend swatch) in its own colour, and no other
// transport's colour appears.
func TestComparePlotHasOneSeriesPerTransport(t *testing.T) {
	dir := t.TempDir()
	ran := []string{"tcp", "udp", "ws"}
	code, out, errOut := netlab(t, "", "compare", "--transports", strings.Join(ran, ","),
		"--count", "5", "--rate", "50", "--echo-count", "20", "--plot", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "compare-rtt.svg"))
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	texts := regexp.MustCompile(`>([^<>]+)</text>`).FindAllStringSubmatch(svg, -1)
	named := map[string]bool{}
	for _, m := range texts {
		named[m[1]] = true
	}
	for _, tr := range ran {
		if label := chart.StyleOf(tr).Label; !named[label] {
			t.Errorf("compare-rtt.svg does not name %s (%q); texts: %v", tr, label, texts)
		}
		if n := strokes(svg, tr); n != 2 {
			t.Errorf("compare-rtt.svg: %d lines in %s's colour, want 2 (its series and its legend swatch)", n, tr)
		}
	}
	for _, tr := range []string{"poll", "longpoll"} {
		if n := strokes(svg, tr); n != 0 || named[chart.StyleOf(tr).Label] {
			t.Errorf("compare-rtt.svg draws %s, which did not run", tr)
		}
	}
	for _, f := range []string{"compare-push-delay.svg", "compare-push-timeline.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// TestPlotIntoUnwritableDir: --plot into a path that cannot be a directory
// prints the run's tables, then one error line, and exits 1.
func TestPlotIntoUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := netlab(t, "", "echo", "--transports", "tcp,udp", "--count", "5", "--plot", filepath.Join(file, "charts"))
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(out, "Echo: 5 messages") || !strings.Contains(out, "round trip") {
		t.Errorf("the tables are not printed:\n%s", out)
	}
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "netlab: --plot ") || !strings.Contains(lines[0], "not a directory") {
		t.Errorf("stderr = %q, want one line naming --plot and why", errOut)
	}
}

// TestPlotPNG: --plot-png writes a PNG that is not blank.
func TestPlotPNG(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := netlab(t, "", "echo", "--transports", "tcp", "--count", "5", "--plot", dir, "--plot-png")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "echo-rtt.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !notBlank(img) {
		t.Error("echo-rtt.png is blank")
	}
}

// notBlank reports whether at least 1% of img's pixels are not the colour
// of its top-left corner.
func notBlank(img image.Image) bool {
	bg := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	br, bgg, bb, _ := bg.RGBA()
	var differ, all int
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			all++
			if r != br || g != bgg || b != bb {
				differ++
			}
		}
	}
	return differ*100 >= all
}

// TestReportFromSavedJSON: netlab report turns a saved echo --json document
// into a page with that run's table (its p50s) and its chart.
func TestReportFromSavedJSON(t *testing.T) {
	dir := t.TempDir()
	code, doc, errOut := netlab(t, "", "echo", "--transports", "tcp,udp", "--count", "20", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	in := filepath.Join(dir, "run.json")
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := netlab(t, "", "report", in)
	if code != 0 || !strings.Contains(out, "run.html") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	html, err := os.ReadFile(filepath.Join(dir, "run.html"))
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		Results []struct {
			Transport string `json:"transport"`
			RTT       struct {
				P50Us float64 `json:"p50_us"`
			} `json:"rtt"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(doc), &saved); err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, r := range saved.Results {
		p50 := report.Duration(time.Duration(r.RTT.P50Us * 1000))
		if !strings.Contains(page, p50) {
			t.Errorf("the page lacks %s's p50 %s", r.Transport, p50)
		}
		if !strings.Contains(page, ">"+chart.StyleOf(r.Transport).Label+"</text>") {
			t.Errorf("the page's chart does not name %s", r.Transport)
		}
	}
	if n := strings.Count(page, "<svg"); n != 1 {
		t.Errorf("%d charts on the page, want 1", n)
	}
	code, _, errOut = netlab(t, "", "report", filepath.Join(dir, "missing.json"))
	if code != exitError || strings.Count(errOut, "\n") != 1 {
		t.Errorf("a missing file: exit %d, stderr %q; want 1 and one line", code, errOut)
	}
}

// TestChatBenchPlot: chat bench --plot draws the delivery latency of its
// WebSocket clients.
func TestChatBenchPlot(t *testing.T) {
	srv := startChat(t)
	dir := t.TempDir()
	code, out, errOut := netlab(t, "", "chat", "bench", srv.HTTPAddr.String(), "--clients", "20", "--room", "10",
		"--messages", "3", "--interval", "20ms", "--plot", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "chat-bench-latency.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if svg := string(b); !strings.Contains(svg, ">"+chart.StyleOf("ws").Label+"</text>") || strokes(svg, "ws") != 2 {
		t.Errorf("chat-bench-latency.svg has no WebSocket series")
	}
}

// TestReportFromSavedCompareJSON: a saved compare document becomes a page
// with its table, its own sentences and its push delay chart.
func TestReportFromSavedCompareJSON(t *testing.T) {
	dir := t.TempDir()
	code, doc, errOut := netlab(t, "", "compare", "--transports", "tcp,ws", "--count", "5", "--rate", "50", "--echo-count", "5", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	in := filepath.Join(dir, "c.json")
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := netlab(t, "", "report", in, "-o", filepath.Join(dir, "page.html")); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		Results struct {
			Sentences []string `json:"sentences"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(doc), &saved); err != nil || len(saved.Results.Sentences) == 0 {
		t.Fatalf("no sentences in the document (err %v)", err)
	}
	// The sentences are wrapped as the table's terminal output wraps them.
	page := strings.Join(strings.Fields(html.UnescapeString(string(b))), " ")
	for _, want := range append([]string{"round trip p50", "delay p50 (server→client)", ">tcp</text>", ">" + chart.StyleOf("ws").Label + "</text>"}, saved.Results.Sentences...) {
		if !strings.Contains(page, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestChartsOrderTransportsAsTables: the charts' table of transports
// (colour, name, order) lists every transport in the tables' order.
func TestChartsOrderTransportsAsTables(t *testing.T) {
	styles := chart.Styles()
	for i, n := range transportOrder {
		if i >= len(styles) || styles[i].Transport != n {
			t.Fatalf("tables order %v; the charts' styles start %v", transportOrder, styles)
		}
	}
}
