package report

// SideBySide starts the table every lab prints one column per transport
// in: a blank corner, then name(item) heading each item's column. The
// function it returns adds a row: label, then cell(item) for each item.
// Too many items for MaxWidth columns print as several tables (SplitWide).
//
//	t, row := report.SideBySide(results, func(r Result) string { return r.Transport })
//	row("sent", func(r Result) string { return fmt.Sprint(r.Sent) })
func SideBySide[T any](items []T, name func(T) string) (*Table, func(label string, cell func(T) string)) {
	t := &Table{Header: []string{""}, SplitWide: true}
	for _, it := range items {
		t.Header = append(t.Header, name(it))
	}
	return t, RowsOf(t, items)
}

// RowsOf returns the function that adds a row of items to t, as
// SideBySide's does, for rows added to a table started elsewhere.
func RowsOf[T any](t *Table, items []T) func(label string, cell func(T) string) {
	return func(label string, cell func(T) string) {
		cells := make([]string, 0, len(items)+1)
		cells = append(cells, label)
		for _, it := range items {
			cells = append(cells, cell(it))
		}
		t.Row(cells...)
	}
}
