// Package report is the one place netlab formats output: aligned tables,
// text histograms, durations and byte counts for people, and JSON for
// scripts. Labs build results; report turns them into text.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netlab/netlab/labs/stats"
)

// A Table is a grid of text cells printed with aligned columns. By default
// the first column is left-aligned (row labels) and the others
// right-aligned (numbers); Columns changes that per column.
//
// A table stays within MaxWidth columns: a column marked Fold wraps its
// text onto more lines, then columns marked Drop are left out, lowest rank
// first, with a note saying so. The title and the notes are prose and wrap
// to the width of the writer (report.Width).
type Table struct {
	Title   string
	Header  []string
	Rows    [][]string
	Columns []Column // per column; a missing entry is the zero Column
	// Notes are printed under the table, each wrapped as a paragraph.
	Notes []string
	// SplitWide prints a table wider than MaxWidth as several, each with
	// the first column and as many others as fit, before anything is
	// folded or dropped (SideBySide sets it).
	SplitWide bool
}

// A Column says how one column of a Table is laid out.
type Column struct {
	Align Align
	// Fold lets the column's text wrap onto more lines when the table is
	// wider than MaxWidth (for a column of sentences).
	Fold bool
	// Drop ranks a column that may be left out when the table is still
	// wider than MaxWidth: rank 1 goes first, then 2; 0 is never dropped.
	Drop int
}

// Align is a column's alignment.
type Align int

// Alignments.
const (
	AlignAuto  Align = iota // left for the first column, right for the others
	AlignLeft               // text
	AlignRight              // numbers
)

// Row appends a row.
func (t *Table) Row(cells ...string) { t.Rows = append(t.Rows, cells) }

// Section appends a row that labels the rows after it (a line of its own).
func (t *Table) Section(label string) { t.Rows = append(t.Rows, []string{sectionMark + label}) }

const sectionMark = "\x00"

// minFold is the narrowest a folded column gets.
const minFold = 16

func (t *Table) column(i int) Column {
	if i < len(t.Columns) {
		return t.Columns[i]
	}
	return Column{}
}

func (t *Table) right(i int) bool {
	switch t.column(i).Align {
	case AlignLeft:
		return false
	case AlignRight:
		return true
	}
	return i > 0
}

// Write prints the table to w.
func (t *Table) Write(w io.Writer) error {
	if t.SplitWide {
		if parts := t.splitWide(); parts != nil {
			return writeSplit(w, parts)
		}
	}
	var b strings.Builder
	ncol := len(t.Header)
	for _, r := range t.Rows {
		if !isSection(r) {
			ncol = max(ncol, len(r))
		}
	}
	width := make([]int, ncol)
	measure := func(r []string) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.Header)
	for _, r := range t.Rows {
		if !isSection(r) {
			measure(r)
		}
	}
	keep := make([]bool, ncol)
	for i := range keep {
		keep[i] = true
	}
	total := func() int {
		n, cols := 0, 0
		for i, x := range width {
			if keep[i] {
				n += x
				cols++
			}
		}
		return n + 2*max(cols-1, 0)
	}
	// Fit: fold what may fold, then drop what may go.
	var dropped []string
	for total() > MaxWidth {
		over := total() - MaxWidth
		folded := false
		for i := range width {
			if keep[i] && t.column(i).Fold && width[i] > minFold {
				cut := min(over, width[i]-minFold)
				width[i] -= cut
				over -= cut
				folded = true
			}
		}
		if folded {
			continue
		}
		next := -1
		for i := range width {
			if d := t.column(i).Drop; keep[i] && d > 0 && (next < 0 || d < t.column(next).Drop) {
				next = i
			}
		}
		if next < 0 {
			break // nothing left to fold or drop: print it wide
		}
		keep[next] = false
		if next < len(t.Header) && strings.TrimSpace(t.Header[next]) != "" {
			dropped = append(dropped, strings.TrimSpace(t.Header[next]))
		}
	}
	line := func(r []string) {
		// A folded cell becomes several lines; the other cells sit on the first.
		cells := make([][]string, ncol)
		height := 1
		for i := 0; i < ncol; i++ {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			if keep[i] && t.column(i).Fold && utf8.RuneCountInString(c) > width[i] {
				cells[i] = Wrap(c, width[i], "", "")
			} else {
				cells[i] = []string{c}
			}
			height = max(height, len(cells[i]))
		}
		for k := 0; k < height; k++ {
			var l strings.Builder
			first := true
			for i := 0; i < ncol; i++ {
				if !keep[i] {
					continue
				}
				c := ""
				if k < len(cells[i]) {
					c = cells[i][k]
				}
				pad := strings.Repeat(" ", max(width[i]-utf8.RuneCountInString(c), 0))
				if !first {
					l.WriteString("  ")
				}
				first = false
				if t.right(i) {
					l.WriteString(pad + c)
				} else {
					l.WriteString(c + pad)
				}
			}
			b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
		}
	}
	prose := Width(w)
	paragraph := func(text string) {
		for _, para := range strings.Split(text, "\n") {
			body := strings.TrimLeft(para, " ")
			indent := para[:len(para)-len(body)]
			for _, l := range Wrap(body, prose, indent, indent) {
				b.WriteString(l + "\n")
			}
		}
	}
	if t.Title != "" {
		paragraph(t.Title)
	}
	if len(t.Header) > 0 {
		line(t.Header)
		b.WriteString(strings.Repeat("─", total()) + "\n")
	}
	for _, r := range t.Rows {
		if isSection(r) {
			paragraph(strings.TrimPrefix(r[0], sectionMark))
			continue
		}
		line(r)
	}
	for _, n := range t.Notes {
		paragraph(n)
	}
	if len(dropped) > 0 {
		paragraph(fmt.Sprintf("(Left out to fit %d columns: %s; --json has every number.)", MaxWidth, strings.Join(dropped, ", ")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func isSection(r []string) bool { return len(r) == 1 && strings.HasPrefix(r[0], sectionMark) }

// Duration formats d for people with three significant digits and a unit
// chosen for readability: "812 ns", "63.4 µs", "1.25 ms", "2.50 s".
func Duration(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%s%d ns", neg, d.Nanoseconds())
	case d < time.Millisecond:
		return neg + sig3(float64(d)/1e3) + " µs"
	case d < time.Second:
		return neg + sig3(float64(d)/1e6) + " ms"
	default:
		return neg + sig3(float64(d)/1e9) + " s"
	}
}

// sig3 formats v (>= 1) with three significant digits.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Bytes formats a byte count: "512 B", "1.50 KiB", "3.20 MiB".
func Bytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return sig3(float64(n)/1024) + " KiB"
	default:
		return sig3(float64(n)/(1024*1024)) + " MiB"
	}
}

// Percent formats a fraction (0.05) as "5.0%".
func Percent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", f*100)
}

// Histogram prints buckets as horizontal bars, the longest width runes long.
//
//	51.2 µs –   58.9 µs  ████████████████████ 812
func Histogram(w io.Writer, buckets []stats.Bucket, width int) error {
	most := 0
	for _, b := range buckets {
		most = max(most, b.Count)
	}
	var lines [][]string
	for _, b := range buckets {
		n := 0
		if most > 0 {
			n = int(math.Round(float64(b.Count) / float64(most) * float64(width)))
		}
		if n == 0 && b.Count > 0 {
			n = 1
		}
		bar := strings.Repeat("█", n)
		lines = append(lines, []string{Duration(b.Lo), "–", Duration(b.Hi), bar, fmt.Sprint(b.Count)})
	}
	t := Table{Rows: lines}
	// Bars read best left-aligned: print by hand rather than as a table.
	w0, w2, w3 := 0, 0, 0
	for _, l := range t.Rows {
		w0 = max(w0, utf8.RuneCountInString(l[0]))
		w2 = max(w2, utf8.RuneCountInString(l[2]))
		w3 = max(w3, utf8.RuneCountInString(l[3]))
	}
	var b strings.Builder
	for _, l := range t.Rows {
		fmt.Fprintf(&b, "  %s%s – %s%s  %s%s %s\n",
			strings.Repeat(" ", w0-utf8.RuneCountInString(l[0])), l[0],
			strings.Repeat(" ", w2-utf8.RuneCountInString(l[2])), l[2],
			l[3], strings.Repeat(" ", w3-utf8.RuneCountInString(l[3])), l[4])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes v as one indented JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// LatencyJSON is the JSON form of a latency summary; every field is in
// microseconds, as its name says.
type LatencyJSON struct {
	Count  int     `json:"count"`
	MinUs  float64 `json:"min_us"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	MaxUs  float64 `json:"max_us"`
}

// Latency converts a summary to its JSON form.
func Latency(s stats.Summary) LatencyJSON {
	return LatencyJSON{Count: s.Count, MinUs: Micros(s.Min), MeanUs: Micros(s.Mean),
		P50Us: Micros(s.P50), P90Us: Micros(s.P90), P99Us: Micros(s.P99), MaxUs: Micros(s.Max)}
}

// SummaryFromJSON is Latency's inverse (to the 0.1 µs the JSON keeps),
// for netlab report.
func SummaryFromJSON(l LatencyJSON) stats.Summary {
	d := func(us float64) time.Duration { return time.Duration(math.Round(us * float64(time.Microsecond))) }
	return stats.Summary{Count: l.Count, Min: d(l.MinUs), Mean: d(l.MeanUs), P50: d(l.P50Us), P90: d(l.P90Us),
		P99: d(l.P99Us), Max: d(l.MaxUs)}
}

// Micros converts d to microseconds, rounded to 0.1 µs.
func Micros(d time.Duration) float64 { return math.Round(float64(d)/100) / 10 }

// MicrosAll converts samples to microseconds.
func MicrosAll(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = Micros(d)
	}
	return out
}

// Plural writes n with its noun: "1 message", "2 messages". A noun whose
// plural is not noun+"s" gives it: Plural(2, "reply", "replies").
func Plural[N ~int | ~int64 | ~uint64](n N, noun string, plural ...string) string {
	if n == 1 {
		return "1 " + noun
	}
	if len(plural) > 0 {
		return fmt.Sprintf("%d %s", n, plural[0])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
