package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/docs"
)

// update, set by 'make docs' (go test ./cmd/netlab -run TestDocsCommandsRun
// -args -update), pastes each command's fresh output into docs/ instead of
// comparing shapes.
var update = flag.Bool("update", false, "rewrite the pasted outputs in docs/ from fresh runs")

// whole, with -update, pastes a fresh output whole where it can no longer be
// cut the way the page cut it (its paragraphs changed): 'make docs WHOLE=1'.
var whole = flag.Bool("whole", false, "with -update: paste the whole fresh output where the page's cut no longer fits")

// TestDocsCommandsRun runs every `$ netlab ...` line in docs/ in-process and
// fails if one exits non-zero or prints a line wider than 100 columns, so
// the walkthroughs never rot. Commands that
// run until Ctrl-C (servers) are written with another prompt in the docs,
// such as `term1$`, and are covered by their own tests.
//
// The output pasted under a command must still have the shape of a fresh
// run: every table in it (a paragraph with a ─── rule) has the same row
// labels, in the same order, as the fresh run's table of the same heading
// (a table with an elided "..." row needs only the rows it shows). With
// -update, the pasted output is replaced by the fresh one, keeping only the
// paragraphs (and, where rows were elided, the rows) the page showed.
//
// The commands run in a directory of their own: a command whose output is
// redirected to a file ("> run.json") writes that file there, for the
// commands after it to read.
func TestDocsCommandsRun(t *testing.T) {
	type page struct{ topic, text, path string }
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var pages []page
	for _, topic := range docs.Topics() {
		text, err := docs.Read(topic)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page{topic, text, filepath.Join(root, "docs", topic+".md")})
	}
	if *update {
		// The README's pasted outputs are refreshed too (not checked on
		// every test run: it repeats commands the docs run).
		b, err := os.ReadFile(filepath.Join(root, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page{"README", string(b), filepath.Join(root, "README.md")})
	}
	t.Chdir(t.TempDir())
	ran := 0
	for _, pg := range pages {
		topic, text := pg.topic, pg.text
		lines := strings.Split(text, "\n")
		var edits []pasteEdit
		for i, line := range lines {
			cmdline, ok := strings.CutPrefix(line, "$ netlab ")
			if !ok {
				continue
			}
			// Keep only the netlab part of a pipeline or redirection; a
			// redirection's file is written.
			piped, redirect := false, ""
			if j := strings.IndexAny(cmdline, "|>"); j >= 0 {
				if cmdline[j] == '>' {
					redirect = strings.TrimSpace(cmdline[j+1:])
				}
				cmdline, piped = cmdline[:j], true
			}
			args, err := splitArgs(cmdline)
			if err != nil {
				t.Errorf("docs/%s.md:%d: %v", topic, i+1, err)
				continue
			}
			// A command followed by "netlab: ..." shows an error: it must
			// fail with exactly that message.
			wantErr := ""
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "netlab: ") {
				wantErr = lines[i+1]
			}
			from, to := pastedOutput(lines, i)
			ran++
			t.Run(topic+":"+strings.Join(args, "_"), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				var out, errOut syncBuffer
				code := run(ctx, args, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
				if wantErr != "" {
					if code == 0 || strings.TrimSpace(errOut.String()) != wantErr {
						t.Errorf("docs/%s.md:%d: `netlab %s` exited %d with %q, the docs show %q", topic, i+1, cmdline, code, errOut.String(), wantErr)
					}
					return
				}
				if code != 0 {
					t.Errorf("docs/%s.md:%d: `netlab %s` exited %d:\n%s\n%s", topic, i+1, cmdline, code, out.String(), errOut.String())
					return
				}
				if redirect != "" {
					if err := os.WriteFile(redirect, []byte(out.String()), 0o644); err != nil {
						t.Errorf("docs/%s.md:%d: %v", topic, i+1, err)
					}
				}
				if piped || from == to {
					return // no output pasted (or only what a pipe left)
				}
				fresh := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
				old := lines[from:to]
				if *update {
					repl, err := regenerate(old, fresh)
					if err != nil && *whole {
						t.Logf("docs/%s.md:%d: %v: pasted the whole fresh output; cut it by hand", topic, i+1, err)
						repl, err = fresh, nil
					}
					if err != nil {
						t.Errorf("docs/%s.md:%d: cannot paste a fresh run of `netlab %s`: %v (make docs WHOLE=1 pastes it whole)", topic, i+1, cmdline, err)
						return
					}
					edits = append(edits, pasteEdit{from, to, repl})
					return
				}
				for _, p := range append(shapeMismatches(old, fresh), brokenOff(old, fresh)...) {
					t.Errorf("docs/%s.md:%d: `netlab %s`: %s (run 'make docs' to paste this version's output)", topic, i+1, cmdline, p)
				}
				if !strings.Contains(cmdline, "--json") {
					for _, w := range overWide(out.String()) {
						t.Errorf("docs/%s.md:%d: `netlab %s` prints wider than 100 columns: %s", topic, i+1, cmdline, w)
					}
				}
			})
		}
		if *update && len(edits) > 0 {
			for k := len(edits) - 1; k >= 0; k-- {
				e := edits[k]
				lines = append(lines[:e.from], append(e.lines, lines[e.to:]...)...)
			}
			if err := os.WriteFile(pg.path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: pasted %d fresh outputs", pg.path, len(edits))
		}
	}
	if ran == 0 {
		t.Fatal("found no `$ netlab` commands in docs/")
	}
}

type pasteEdit struct {
	from, to int
	lines    []string
}

// pastedOutput returns the lines [from, to) that follow the command on line
// i inside its code block: up to the next prompt line or the block's end.
// A command outside a code block, or one not followed by output, gives an
// empty range.
func pastedOutput(lines []string, i int) (from, to int) {
	fences := 0
	for _, l := range lines[:i] {
		if strings.HasPrefix(l, "```") {
			fences++
		}
	}
	if fences%2 == 0 {
		return i + 1, i + 1
	}
	to = i + 1
	for to < len(lines) && !strings.HasPrefix(lines[to], "```") && !isPrompt(lines[to]) {
		to++
	}
	return i + 1, to
}

var promptRE = regexp.MustCompile(`^([a-z0-9]*\$|#) `)

func isPrompt(l string) bool { return promptRE.MatchString(l) }

// A paragraph is a run of lines without a blank one.
func paragraphs(lines []string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

// label is what names a line of output whatever the run measured: its words
// up to the first one with a digit in it, spaces collapsed. A table's rule
// (───, as long as the columns are wide) is "─".
func label(l string) string {
	t := strings.TrimSpace(l)
	if t != "" && strings.Trim(t, "─") == "" {
		return "─"
	}
	var words []string
	for _, w := range strings.Fields(t) {
		if strings.ContainsAny(w, "0123456789") || randomID(w) {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// randomID reports whether w looks like a random id (a socket id such as
// "[UHOKvFlqutVK7fCZfUOWjA]"), which may happen to hold no digit.
func randomID(w string) bool {
	w = strings.Trim(w, "[](),:")
	if len(w) < 12 {
		return false
	}
	upper, lower := false, false
	for _, r := range w {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return upper && lower
}

// elided reports whether l stands for lines the page left out.
func elided(l string) bool {
	t := strings.TrimSpace(l)
	return t == "..." || t == "[…]" || t == "…"
}

func isTable(p []string) bool {
	for _, l := range p {
		if label(l) == "─" {
			return true
		}
	}
	return false
}

func hasElision(p []string) bool { return slices.ContainsFunc(p, elided) }

// named keeps the labels that name a row: not "" (a row named by a number,
// one per read or bucket) nor "…" ("… 3 more reads"): those come and go
// from run to run.
func named(ls []string) []string {
	return slices.DeleteFunc(slices.Clone(ls), func(l string) bool {
		return l == "" || strings.HasPrefix(l, "…") || strings.HasPrefix(l, "...")
	})
}

// rowLabels labels a table's rows: its rule and the lines laid out in
// columns (two spaces or more between cells). A legend under a table is
// prose, which a page may leave out.
func rowLabels(p []string) []string {
	var rows []string
	for _, l := range p {
		if t := strings.TrimSpace(l); !elided(l) && (label(l) == "─" || strings.Contains(t, "  ")) {
			rows = append(rows, l)
		}
	}
	return labels(rows)
}

func labels(p []string) []string {
	var out []string
	for _, l := range p {
		if !elided(l) {
			out = append(out, label(l))
		}
	}
	return out
}

// freshFor finds, from index at on, the fresh paragraph whose first line has
// the label of old's first line.
func freshFor(old []string, fresh [][]string, at int) int {
	want := label(old[0])
	for k := at; k < len(fresh); k++ {
		if label(fresh[k][0]) == want {
			return k
		}
	}
	return -1
}

// shapeMismatches compares the tables of a pasted output with a fresh run.
func shapeMismatches(old, fresh []string) []string {
	var bad []string
	fp := paragraphs(fresh)
	at := 0
	for _, p := range paragraphs(old) {
		if !isTable(p) {
			continue
		}
		k := freshFor(p, fp, at)
		if k < 0 {
			bad = append(bad, fmt.Sprintf("the table headed %q is not in a fresh run", strings.TrimSpace(p[0])))
			continue
		}
		at = k + 1
		// Rows named by a number alone (one per read, per bucket) come and
		// go from run to run: only named rows are the table's shape.
		want, got := named(rowLabels(p)), named(rowLabels(fp[k]))
		if hasElision(p) {
			for _, l := range want {
				if !slices.Contains(got, l) {
					bad = append(bad, fmt.Sprintf("the table headed %q shows a row %q that a fresh run does not print", strings.TrimSpace(p[0]), l))
				}
			}
			continue
		}
		if !slices.Equal(want, got) {
			bad = append(bad, fmt.Sprintf("the table headed %q has rows %q, a fresh run prints %q", strings.TrimSpace(p[0]), want, got))
		}
	}
	return bad
}

// cutLike returns fresh paragraph q stopped where the page stopped p: a
// page may leave out the end of a paragraph (a table's legend). When p's
// named rows are the first of q's, q ends after the row matching p's last
// (and the unnamed rows that follow it), if a page may stop there.
func cutLike(p, q []string) []string {
	if i, ok := cutPoint(p, q); ok {
		return q[:i]
	}
	return q
}

// cutPoint returns where q stops to show what p shows (len(q) when p is
// not a cut of q), and whether a page may stop there: after a line laid out
// in columns (a table's row) or one that ends a sentence, and not between a
// table's column heads and its rule. Elsewhere a cut is a sentence broken
// off or a table's rows lost.
func cutPoint(p, q []string) (i int, ok bool) {
	want, got := named(labels(p)), named(labels(q))
	if len(want) == 0 || len(want) >= len(got) || !slices.Equal(want, got[:len(want)]) {
		return len(q), false
	}
	seen := 0
	for i, l := range q {
		if label(l) == "" {
			continue
		}
		if seen == len(want) {
			return i, label(l) != "─" && mayEnd(q[i-1])
		}
		seen++
	}
	return len(q), false
}

// mayEnd reports whether a paragraph may stop after line l: a table's row
// (cells two spaces apart) or the end of a sentence.
func mayEnd(l string) bool {
	t := strings.TrimSpace(l)
	return strings.Contains(t, "  ") || strings.HasSuffix(t, ".") || strings.HasSuffix(t, ":") || strings.HasSuffix(t, ")")
}

// brokenOff reports the pasted paragraphs (without an elision) that stop
// where no page may stop, though a fresh run goes on: a folded sentence cut
// after its first line, a table shown without its rule and rows. (A prose
// paragraph that ends a sentence may be shorter than a fresh run's: how
// much a lab says depends on the run.)
func brokenOff(old, fresh []string) []string {
	var bad []string
	fp := paragraphs(fresh)
	at := 0
	for _, p := range paragraphs(old) {
		k := freshFor(p, fp, at)
		if k < 0 {
			continue
		}
		at = k + 1
		if hasElision(p) {
			continue
		}
		if i, _ := cutPoint(p, fp[k]); i < len(fp[k]) && (label(fp[k][i]) == "─" || !mayEnd(p[len(p)-1])) {
			bad = append(bad, fmt.Sprintf("the paragraph starting %q stops before %q, which a fresh run goes on with (run 'make docs' to paste it whole)", strings.TrimSpace(p[0]), strings.TrimSpace(fp[k][i])))
		}
	}
	return bad
}

// regenerate returns the fresh output cut the way old was: the paragraphs
// old showed, in order; inside a paragraph with an elision, only the rows
// old showed, with the elision where it was.
func regenerate(old, fresh []string) ([]string, error) {
	fp := paragraphs(fresh)
	var out []string
	at := 0
	for _, p := range paragraphs(old) {
		k := freshFor(p, fp, at)
		if k < 0 {
			return nil, fmt.Errorf("the paragraph starting %q is not in the fresh output", strings.TrimSpace(p[0]))
		}
		at = k + 1
		if len(out) > 0 {
			out = append(out, "")
		}
		if !hasElision(p) {
			out = append(out, cutLike(p, fp[k])...)
			continue
		}
		keep := labels(p)
		// An elision goes after the row whose label came before it.
		after := map[string][]string{}
		prev := ""
		for _, l := range p {
			if elided(l) {
				after[prev] = append(after[prev], l)
				continue
			}
			prev = label(l)
		}
		out = append(out, after[""]...)
		for j := 0; j < len(fp[k]); j++ {
			l := fp[k][j]
			lb := label(l)
			if !slices.Contains(keep, lb) {
				continue
			}
			out = append(out, l)
			// A line folded to fit 100 columns (report.Fit) goes with
			// its continuation lines, two columns further in.
			for j+1 < len(fp[k]) && indentOf(fp[k][j+1]) == indentOf(l)+2 {
				j++
				out = append(out, fp[k][j])
			}
			out = append(out, after[lb]...)
			delete(after, lb)
		}
	}
	return out, nil
}

// indentOf is the number of spaces l starts with.
func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// splitArgs splits a command line on spaces, honouring single and double
// quotes (enough for the docs; no escapes or variables).
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, errUnclosedQuote
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

var errUnclosedQuote = errorString("unclosed quote")

type errorString string

func (e errorString) Error() string { return string(e) }

// rfcCiteRE finds "RFC 6455" and the sections cited with it: "§5.2",
// "section 4".
var rfcCiteRE = regexp.MustCompile(`RFC (\d{3,4})|§(\d+(?:\.\d+)*)|[Ss]ection (\d+(?:\.\d+)*)`)

// TestDocsRFCSections checks that every RFC section the walkthroughs cite is
// listed, with its title, in docs/rfc-sections.txt, the one place the list
// is kept (each checked against the RFC when it was added), and that the
// list has nothing no page cites. A "§X.Y" belongs to the RFC last named in
// the same paragraph.
func TestDocsRFCSections(t *testing.T) {
	listed := map[string]bool{}
	for i, l := range strings.Split(docs.RFCSections(), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := regexp.MustCompile(`^(RFC \d+ §\d+(?:\.\d+)*) \S`).FindStringSubmatch(l)
		if m == nil {
			t.Errorf("docs/rfc-sections.txt:%d: %q is not `RFC NNNN §X.Y Title`", i+1, l)
			continue
		}
		listed[m[1]] = true
	}
	cited := map[string]bool{}
	for _, topic := range docs.Topics() {
		text, _ := docs.Read(topic)
		for n, para := range strings.Split(text, "\n\n") {
			rfc := ""
			for _, m := range rfcCiteRE.FindAllStringSubmatch(para, -1) {
				switch {
				case m[1] != "":
					rfc = m[1]
				case rfc == "" && m[2] != "":
					t.Errorf("docs/%s.md (paragraph %d): §%s names no RFC before it", topic, n+1, m[2])
				case rfc != "":
					sec := m[2] + m[3]
					key := "RFC " + rfc + " §" + sec
					if !listed[key] && !cited[key] {
						t.Errorf("docs/%s.md cites %s, which docs/rfc-sections.txt does not list: check the section in the RFC, then add it with its title", topic, key)
					}
					cited[key] = true
				}
			}
		}
	}
	for key := range listed {
		if !cited[key] {
			t.Errorf("docs/rfc-sections.txt lists %s, which no page cites", key)
		}
	}
}

// A measured figure in prose: a number with a unit as netlab prints them
// ("47.7 ms", "868 B", "10.7%", "20012 goroutines").
var figureRE = regexp.MustCompile(`(^|[^\w.\-/:])(\d[\d,]*(?:\.\d+)?)(?: (ns|µs|ms|s|B|KiB|MiB|GiB|msg/s|goroutines)|(%))($|[^\w/])`)

// significant counts a number's significant digits: "47.7" 3, "5.20" 3,
// "300" 1, "20012" 5.
func significant(num string) int {
	d := strings.ReplaceAll(num, ",", "")
	if strings.Contains(d, ".") {
		return len(strings.TrimLeft(strings.ReplaceAll(d, ".", ""), "0"))
	}
	return len(strings.Trim(d, "0"))
}

// TestDocsProseFiguresArePasted checks that every figure a page's prose
// quotes from a run appears in one of the page's pasted outputs, so a figure
// cannot outlive the output it came from ('make docs' repastes the outputs;
// then this test names every sentence to reread).
//
// The convention: a number with a unit (µs, ms, s, B, KiB, %, msg/s,
// goroutines, ...) and three or more significant digits, the way netlab
// prints what it measured, is a quote and must appear, with its unit, in a
// code block of the same page. Round settings ("100 ms", "25 s") have fewer
// digits and are not checked; a figure that is computed or rounded, not
// quoted, says so with "about" or "≈" just before it; text in backticks
// (flags, code) is not prose.
func TestDocsProseFiguresArePasted(t *testing.T) {
	for _, topic := range docs.Topics() {
		text, _ := docs.Read(topic)
		for _, bad := range unpastedFigures(text) {
			t.Errorf("docs/%s.md:%s (reread the sentence against the output; a computed figure says \"about\")", topic, bad)
		}
	}
}

var backticked = regexp.MustCompile("`[^`]*`")

// unpastedFigures returns "LINE: the prose quotes N UNIT, ..." for every
// figure in text's prose that none of its code blocks shows.
func unpastedFigures(text string) []string {
	lines := strings.Split(text, "\n")
	var code strings.Builder
	in := false
	for _, l := range lines {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if in {
			code.WriteString(l + "\n")
		}
	}
	pasted := code.String()
	var bad []string
	in = false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if in {
			continue
		}
		prose := backticked.ReplaceAllString(l, "")
		for _, m := range figureRE.FindAllStringSubmatchIndex(prose, -1) {
			num := prose[m[4]:m[5]]
			unit := "%"
			if m[6] >= 0 {
				unit = prose[m[6]:m[7]]
			}
			if significant(num) < 3 {
				continue
			}
			before := strings.TrimRight(prose[:m[4]], " ")
			if strings.HasSuffix(before, "about") || strings.HasSuffix(before, "≈") || strings.HasSuffix(before, "~") {
				continue
			}
			sep := " ?"
			shown := unit
			if unit == "goroutines" {
				shown, sep = "", "" // counted, printed without the word
			}
			want := regexp.MustCompile(`(^|[^\d.])` + regexp.QuoteMeta(num) + sep + regexp.QuoteMeta(shown) + `($|[^\w])`)
			if !want.MatchString(pasted) {
				bad = append(bad, fmt.Sprintf("%d: the prose quotes %s %s, which none of the page's pasted outputs shows", i+1, num, unit))
			}
		}
	}
	return bad
}

// The checks above must be able to fail: a stale figure, a stale table.
func TestDocsCheckersCatchStaleness(t *testing.T) {
	page := "run:\n\n```\n$ netlab x\np50   47.7 ms\nserver goroutines  20012\n```\n\n" +
		"The median was 47.7 ms with 20012 goroutines; the interval 100 ms; about 12.6 s computed.\n" +
		"An old run said 44.3 ms and 30011 goroutines, and `--timeout 250ms` is a flag.\n"
	got := unpastedFigures(page)
	want := []string{
		"10: the prose quotes 44.3 ms, which none of the page's pasted outputs shows",
		"10: the prose quotes 30011 goroutines, which none of the page's pasted outputs shows",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unpastedFigures = %q, want %q", got, want)
	}

	old := strings.Split("title 5\n\n   ws\n───\nmin  1 µs\nmax  2 µs\n\nhistogram\n  1 µs ██", "\n")
	fresh := strings.Split("title 6\n\n   ws\n─────\nmin  3 µs\nmax  4 µs\nmean  3 µs\n\nhistogram\n  3 µs ██\n  4 µs █", "\n")
	if bad := shapeMismatches(old, fresh); len(bad) != 1 || !strings.Contains(bad[0], "mean") {
		t.Errorf("a new row must be caught, got %q", bad)
	}
	if bad := shapeMismatches(old, fresh[:6]); len(bad) != 0 {
		t.Errorf("same rows, other numbers: got %q", bad)
	}
	if label("alice    ws  art, math  UHOKvFlqutVK7fCZfUOWjA") != label("alice    ws  art, math  LhgJaSzt38B9WxJM5lrLjA") {
		t.Error("a random id without a digit must not change a row's label")
	}
	cut := strings.Split("   ws\n───\nmin  1 µs\n...\n", "\n")
	repl, err := regenerate(cut, fresh)
	if err != nil || strings.Join(repl, "|") != "   ws|─────|min  3 µs|..." {
		t.Errorf("regenerate kept %q (%v), want the fresh rows the page showed", repl, err)
	}
	if _, err := regenerate([]string{"gone 1"}, fresh); err == nil {
		t.Error("regenerate pasted a run that lacks the page's paragraph")
	}

	// A page may stop a table before its legend, not a sentence after its
	// first line nor a table before its rule and rows.
	legend := append(slices.Clone(fresh[:6]), "min: the fastest round trip")
	if bad := brokenOff(fresh[:6], legend); len(bad) != 0 {
		t.Errorf("a table without its legend is a fair cut, got %q", bad)
	}
	if repl, _ := regenerate(fresh[:6], legend); len(repl) != 6 {
		t.Errorf("regenerate kept %q, want the table without its legend", repl)
	}
	said := []string{"What happened:", "  - tcp: all 3 arrived."}
	if bad := brokenOff(said, append(slices.Clone(said), "  - one more thing", "    said.")); len(bad) != 0 {
		t.Errorf("a lab's prose that ends a sentence may say less than a fresh run, got %q", bad)
	}
	for _, c := range []struct{ old, fresh string }{
		{"Echo: 20 messages, each sent when the previous reply", "Echo: 20 messages, each sent when the previous reply\narrived"},
		{"TCP header\n  offset  bytes  field", "TCP header\n  offset  bytes  field\n─────\n  20  fb fe  source port"},
	} {
		old, fresh := strings.Split(c.old, "\n"), strings.Split(c.fresh, "\n")
		if bad := brokenOff(old, fresh); len(bad) != 1 {
			t.Errorf("%q cut from %q: brokenOff gave %q, want one complaint", c.old, c.fresh, bad)
		}
		if repl, _ := regenerate(old, fresh); !slices.Equal(repl, fresh) {
			t.Errorf("regenerate kept %q of %q, want it whole", repl, fresh)
		}
	}
}

// TestDocsEndWithCheckYourself: every walkthrough ends with "Check
// yourself", two or three questions the reader's own run answers. The index,
// json (the --json documents) and limits (every server limit) are reference
// pages, not walkthroughs.
func TestDocsEndWithCheckYourself(t *testing.T) {
	for _, topic := range docs.Topics() {
		if topic == "index" || topic == "json" || topic == "limits" {
			continue
		}
		text, _ := docs.Read(topic)
		_, last, ok := strings.Cut(text, "\n## Check yourself\n")
		if !ok || strings.Contains(last, "\n## ") {
			t.Errorf("docs/%s.md: the last section must be \"## Check yourself\"", topic)
			continue
		}
		n := len(regexp.MustCompile(`(?m)^\d+\. `).FindAllString(last, -1))
		if n < 2 || n > 3 {
			t.Errorf("docs/%s.md: \"Check yourself\" has %d questions, want 2 or 3", topic, n)
		}
	}
}

// TestDocsImagesExist: every image a page links (Markdown ![..](path) or
// <img src>) is a file under docs/, drawn by 'make docs-img'; none is
// fetched from the network.
func TestDocsImagesExist(t *testing.T) {
	link := regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]*\ssrc="([^"]+)"`)
	linked := 0
	for _, topic := range docs.Topics() {
		text, err := docs.Read(topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			src := m[1] + m[2]
			linked++
			if strings.Contains(src, "://") || strings.HasPrefix(src, "//") {
				t.Errorf("docs/%s.md links %s: images must be files under docs/ (make docs-img)", topic, src)
				continue
			}
			if _, err := os.Stat(filepath.Join("..", "..", "docs", filepath.FromSlash(src))); err != nil {
				t.Errorf("docs/%s.md links %s, which does not exist (make docs-img draws the charts)", topic, src)
			}
		}
	}
	if linked == 0 {
		t.Error("no page links an image; the walkthroughs show their charts")
	}
}
