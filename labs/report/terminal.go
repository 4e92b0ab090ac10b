package report

import (
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Widths of text output.
const (
	// DefaultWidth is the width prose wraps to when the output is not a
	// terminal (a file, a pipe, a test's buffer).
	DefaultWidth = 80
	// MaxWidth is the widest any line gets by default, on however wide a
	// terminal: prose wraps to it and tables fold or drop columns to fit.
	MaxWidth = 100
)

// fder is what *os.File has that a terminal check needs.
type fder interface{ Fd() uintptr }

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(fder)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Width is the width prose written to w wraps to: the terminal's width up
// to MaxWidth, or DefaultWidth when w is not a terminal.
func Width(w io.Writer) int {
	f, ok := w.(fder)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return DefaultWidth
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return DefaultWidth
	}
	return min(cols, MaxWidth)
}

// Wrap breaks text into lines of at most width runes at spaces; the first
// line starts with first, the others with rest (a hanging indent). A word
// longer than a line stays whole on its own line. Text that fits is kept
// as written; text that wraps has its runs of spaces made single.
func Wrap(text string, width int, first, rest string) []string {
	if utf8.RuneCountInString(first)+utf8.RuneCountInString(text) <= width && !strings.Contains(text, "\n") {
		return []string{first + text} // fits: keep its spacing as written
	}
	var lines []string
	line, prefix := "", first
	n := 0 // runes in prefix+line
	for _, word := range strings.Fields(text) {
		wn := utf8.RuneCountInString(word)
		if line != "" && n+1+wn > width {
			lines = append(lines, prefix+line)
			line, prefix = "", rest
		}
		if line == "" {
			line, n = word, utf8.RuneCountInString(prefix)+wn
			continue
		}
		line += " " + word
		n += 1 + wn
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, prefix+line)
	}
	return lines
}

// Paragraph writes text wrapped to w's width.
func Paragraph(w io.Writer, text string) error {
	return writeLines(w, Wrap(text, Width(w), "", ""))
}

// Bullets writes each item as "  - item" (mark is the "-"), wrapped to w's
// width with the item's later lines under its first word.
func Bullets(w io.Writer, mark string, items []string) error {
	width := Width(w)
	first := "  " + mark + " "
	rest := strings.Repeat(" ", utf8.RuneCountInString(first))
	var lines []string
	for _, it := range items {
		lines = append(lines, Wrap(it, width, first, rest)...)
	}
	return writeLines(w, lines)
}

func writeLines(w io.Writer, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// Fit returns a writer that passes what is written on to w with every line
// wider than MaxWidth folded at spaces, its later lines two columns past
// the line's own indent; the spacing within a line is kept. It is for
// output made of lines a program prints as it goes, like the tap's trace;
// each Write should end at the end of a line (the tap writes one event,
// whole lines, at a time).
func Fit(w io.Writer) io.Writer { return fitWriter{w} }

type fitWriter struct{ w io.Writer }

func (f fitWriter) Write(p []byte) (int, error) {
	lines := strings.Split(string(p), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(fold(l, MaxWidth), "\n")
	}
	if _, err := io.WriteString(f.w, strings.Join(lines, "\n")); err != nil {
		return 0, err
	}
	return len(p), nil
}

// fold breaks l at the last space that keeps each piece within width runes;
// a piece with no such space stays whole.
func fold(l string, width int) []string {
	indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
	var out []string
	for utf8.RuneCountInString(l) > width {
		end, n := 0, 0 // byte offset of rune number width
		for end = range l {
			if n == width {
				break
			}
			n++
		}
		cut := strings.LastIndexByte(l[:end+1], ' ')
		if cut <= len(indent)+2 || strings.TrimSpace(l[:cut]) == "" {
			break
		}
		out = append(out, strings.TrimRight(l[:cut], " "))
		l = indent + "  " + strings.TrimLeft(l[cut:], " ")
	}
	return append(out, l)
}
