package report

import (
	"io"
	"unicode/utf8"
)

// splitWide returns t as several tables, one under the other, when t is
// wider than MaxWidth and its columns after the first can be grouped: each
// has the row labels (the first column) and as many of the other columns as
// fit. The title goes above the first, the notes under the last. It returns
// nil when t fits as it is.
//
// SideBySide tables split this way, so a lab run over many transports prints
// every figure rather than leaving columns out.
func (t *Table) splitWide() []*Table {
	ncol := len(t.Header)
	width := make([]int, ncol)
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		if isSection(r) {
			continue
		}
		for i, c := range r {
			if i < ncol {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	total := 0
	for _, x := range width {
		total += x + 2
	}
	if ncol < 3 || total-2 <= MaxWidth {
		return nil
	}
	var groups [][]int
	var cur []int
	used := width[0]
	for i := 1; i < ncol; i++ {
		if len(cur) > 0 && used+2+width[i] > MaxWidth {
			groups = append(groups, cur)
			cur, used = nil, width[0]
		}
		cur = append(cur, i)
		used += 2 + width[i]
	}
	groups = append(groups, cur)
	if len(groups) < 2 {
		return nil
	}
	pick := func(r []string, g []int) []string {
		out := []string{""}
		if len(r) > 0 {
			out[0] = r[0]
		}
		for _, i := range g {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			out = append(out, c)
		}
		return out
	}
	var parts []*Table
	for k, g := range groups {
		p := &Table{Header: pick(t.Header, g), Columns: []Column{t.column(0)}}
		for _, i := range g {
			p.Columns = append(p.Columns, t.column(i))
		}
		for _, r := range t.Rows {
			if isSection(r) {
				p.Rows = append(p.Rows, r)
			} else {
				p.Rows = append(p.Rows, pick(r, g))
			}
		}
		if k == 0 {
			p.Title = t.Title
		}
		if k == len(groups)-1 {
			p.Notes = t.Notes
		}
		parts = append(parts, p)
	}
	return parts
}

// writeSplit writes the parts of a split table, a blank line between.
func writeSplit(w io.Writer, parts []*Table) error {
	for k, p := range parts {
		if k > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := p.Write(w); err != nil {
			return err
		}
	}
	return nil
}
