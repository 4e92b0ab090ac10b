package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReportFromEveryLabsJSON runs every lab that has --report with --json
// and --report together, gives the document it printed to netlab report,
// and checks that the page made from the document has the same text
// (tables, sentences, notes) and the same number of charts as the page of
// the run itself. Figures may differ only as far as the document's 0.1 µs
// rounding moves the last printed digit, and a histogram's sample on the
// edge of a bin to the next bin (each histogram keeps its bins and its
// total).
func TestReportFromEveryLabsJSON(t *testing.T) {
	labs := [][]string{
		{"echo", "--transports", "tcp,udp", "--count", "20"},
		{"compare", "--transports", "tcp,ws", "--count", "5", "--rate", "50", "--echo-count", "5"},
		{"push", "--transports", "tcp,poll", "--count", "5", "--rate", "50"},
		{"loss", "--transports", "udp,tcp", "--count", "60", "--interval", "2ms"},
		{"loss", "streams", "--count", "100"},
		{"missed", "--scenario", "offline", "--offline", "300ms", "--strategy", "none,replay", "--transports", "ws"},
		{"events", "--transports", "tcp,ws", "--round-trips", "20"},
		{"chat", "bench", "ADDR", "--clients", "20", "--room", "10", "--messages", "3", "--interval", "20ms"},
		{"cluster", "demo", "--messages", "5"},
	}
	for _, args := range labs {
		name := strings.Join(args[:1], "_")
		if args[1] == "streams" || args[1] == "bench" || args[1] == "demo" {
			name = args[0] + "_" + args[1]
		}
		t.Run(name, func(t *testing.T) {
			args := append([]string(nil), args...)
			if args[0] == "chat" {
				args[2] = startChat(t).HTTPAddr.String()
			}
			dir := t.TempDir()
			live, doc := filepath.Join(dir, "live.html"), filepath.Join(dir, "run.json")
			code, out, errOut := netlab(t, "", append(args, "--json", "--report", live)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if err := os.WriteFile(doc, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := netlab(t, "", "report", doc); code != 0 || out != "wrote "+filepath.Join(dir, "run.html")+"\n" {
				t.Fatalf("netlab report: exit %d\n%s\n%s", code, out, errOut)
			}
			want, wantCharts := pageParts(t, live)
			got, gotCharts := pageParts(t, filepath.Join(dir, "run.html"))
			if strings.HasPrefix(strings.TrimSpace(want), "{") || wantCharts == 0 {
				t.Fatalf("the run's own page shows the JSON document or no chart (%d charts):\n%.300s", wantCharts, want)
			}
			if gotCharts != wantCharts {
				t.Errorf("the page from the document has %d charts, the run's page %d", gotCharts, wantCharts)
			}
			for _, d := range textDiffs(want, got) {
				t.Errorf("the page from the document departs from the run's page: %s", d)
			}
			if t.Failed() {
				t.Logf("the run's page:\n%s\nfrom the document:\n%s", want, got)
			}
		})
	}
}

// pageParts returns a page's text (what netlab printed) and its number of
// charts.
func pageParts(t *testing.T, file string) (string, int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	m := regexp.MustCompile(`(?s)<pre>(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s has no <pre>", file)
	}
	return html.UnescapeString(m[1]), strings.Count(page, "<svg")
}

var numberRE = regexp.MustCompile(`\d+(\.\d+)?`)

// binRE is a histogram's bin: "  42.1 µs – 57.6 µs  ████████ 3".
var binRE = regexp.MustCompile(`^\s*[\d.]+ \S+ – +[\d.]+ \S+ +█* *(\d+)$`)

// bins replaces each histogram bin of text with the word "bin", and
// returns the total of each histogram.
func bins(text string) (string, []int) {
	var lines []string
	var totals []int
	inHist := false
	for _, l := range strings.Split(text, "\n") {
		m := binRE.FindStringSubmatch(l)
		if m == nil {
			lines, inHist = append(lines, l), false
			continue
		}
		if !inHist {
			totals = append(totals, 0)
		}
		n, _ := strconv.Atoi(m[1])
		totals[len(totals)-1] += n
		lines, inHist = append(lines, "bin"), true
	}
	return strings.Join(lines, "\n"), totals
}

// textDiffs compares two printings of the same run word by word (spacing
// aside): the words must be the same, and each number the same within the
// rounding of the JSON document: 0.1 in its last digits, or 1.1%. Each
// histogram must have as many bins and the same total.
func textDiffs(want, got string) []string {
	want, wantTotals := bins(want)
	got, gotTotals := bins(got)
	var out []string
	if fmt.Sprint(wantTotals) != fmt.Sprint(gotTotals) {
		out = append(out, fmt.Sprintf("histograms of %v samples, the run's of %v", gotTotals, wantTotals))
	}
	w, g := strings.Fields(want), strings.Fields(got)
	for i := 0; i < max(len(w), len(g)) && len(out) < 10; i++ {
		if i >= len(w) || i >= len(g) {
			out = append(out, fmt.Sprintf("%d words against %d", len(g), len(w)))
			break
		}
		if w[i] == g[i] {
			continue
		}
		wn, gn := numberRE.FindAllString(w[i], -1), numberRE.FindAllString(g[i], -1)
		same := numberRE.ReplaceAllString(w[i], "#") == numberRE.ReplaceAllString(g[i], "#") && len(wn) == len(gn)
		for k := 0; same && k < len(wn); k++ {
			a, _ := strconv.ParseFloat(wn[k], 64)
			b, _ := strconv.ParseFloat(gn[k], 64)
			same = math.Abs(a-b) <= max(0.1001, 0.011*max(a, b))
		}
		if !same {
			out = append(out, fmt.Sprintf("word %d: %q, the run printed %q (…%s…)", i, g[i], w[i],
				strings.Join(w[max(0, i-4):min(len(w), i+3)], " ")))
		}
	}
	return out
}

// TestTextDiffs: the comparison lets the last digit move and nothing else.
func TestTextDiffs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"p50  57.1 µs   219 µs", "p50 57.2 µs 220 µs", true},
		{"delay 100.0 µs", "delay 100 µs", true},
		{"late 12", "late 13", false},
		{"p50 57.1 µs", "p50 61.0 µs", false},
		{"sent / delivered 20 / 20", "sent / delivered 20 / 20 extra", false},
		{"over tcp", "over ws", false},
		{"h\n  42.1 µs – 57.6 µs  ████ 3\n  57.6 µs – 78.7 µs  █ 1\n", "h\n  42.1 µs – 57.7 µs  ███ 2\n  57.7 µs – 78.7 µs  ██ 2\n", true},
		{"h\n  42.1 µs – 57.6 µs  ████ 3\n  57.6 µs – 78.7 µs  █ 1\n", "h\n  42.1 µs – 57.7 µs  ███ 3\n  57.7 µs – 78.7 µs  ██ 2\n", false},
		{"h\n  42.1 µs – 57.6 µs  ████ 3\n", "h\n  42.1 µs – 57.6 µs  ████ 3\n  57.6 µs – 78.7 µs   0\n", false},
	} {
		if got := len(textDiffs(c.a, c.b)) == 0; got != c.same {
			t.Errorf("textDiffs(%q, %q): same %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// TestReportRefusesInOneLine: a document of a lab report does not read, one
// with no lab, and one that is not JSON each get one line and exit 2.
func TestReportRefusesInOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ doc, want string }{
		{`{"lab": "layers", "netlab_version": "(devel)", "config": {}, "results": []}`,
			"is a layers document; report reads echo, compare, push, loss, loss streams, missed, events, chat bench and cluster demo documents"},
		{`{"config": {}}`, `has no "lab" field`},
		{`hello`, "is not a netlab --json document"},
	} {
		file := filepath.Join(dir, "doc.json")
		if err := os.WriteFile(file, []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := netlab(t, "", "report", file)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, %q; want exit %d and one line with %q", c.doc, code, errOut, exitUsage, c.want)
		}
	}
}

// TestReportRefusesANewerRelease: a release of netlab refuses, in one
// line, a document a later release wrote.
func TestReportRefusesANewerRelease(t *testing.T) {
	defer func(v func() string) { thisVersion = v }(thisVersion)
	thisVersion = func() string { return "v1.2.0" }
	file := filepath.Join(t.TempDir(), "doc.json")
	doc := `{"lab": "echo", "netlab_version": "v1.3.0 29a8cc2f1b3c", "config": {}, "results": []}`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := netlab(t, "", "report", file)
	want := "was written by netlab v1.3.0 29a8cc2f1b3c, newer than this one (v1.2.0)"
	if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, %q; want exit %d and one line with %q", code, errOut, exitUsage, want)
	}
}

// TestNewerRelease: a document from a later release is newer; a build from
// a checkout is neither newer nor older than anything.
func TestNewerRelease(t *testing.T) {
	for _, c := range []struct {
		doc, this string
		want      bool
	}{
		{"v1.3.0 29a8cc2f1b3c", "v1.2.0", true},
		{"v1.2.0", "v1.2.0 29a8cc2f1b3c+dirty", false},
		{"v1.1.9", "v1.2.0", false},
		{"v1.3.0-rc.1", "v1.2.0", true},
		{"(devel) 29a8cc2f1b3c", "v1.2.0", false},
		{"v9.0.0", "(devel)", false},
		{"", "v1.0.0", false},
	} {
		if got := newer(c.doc, c.this); got != c.want {
			t.Errorf("newer(%q, %q) = %v, want %v", c.doc, c.this, got, c.want)
		}
	}
}
