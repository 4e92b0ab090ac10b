package report

import (
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/netlab/netlab/labs/stats"
)

func TestDuration(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{812, "812 ns"},
		{63400, "63.4 µs"},
		{1250 * time.Microsecond, "1.25 ms"},
		{150 * time.Millisecond, "150 ms"},
		{2500 * time.Millisecond, "2.50 s"},
		{-63400, "-63.4 µs"},
	}
	for _, c := range cases {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%d) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.50 KiB", 3 << 20: "3.00 MiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTableAligns(t *testing.T) {
	tb := Table{Header: []string{"", "tcp", "udp"}}
	tb.Row("sent", "100", "100")
	tb.Section("round trip")
	tb.Row("p50", "63.4 µs", "58 µs")
	tb.Notes = []string{"note"}
	var b bytes.Buffer
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"          tcp    udp\n" +
		"────────────────────\n" +
		"sent      100    100\n" +
		"round trip\n" +
		"p50   63.4 µs  58 µs\n" +
		"note\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHistogramBars(t *testing.T) {
	var b bytes.Buffer
	err := Histogram(&b, []stats.Bucket{{Lo: 10000, Hi: 20000, Count: 10}, {Lo: 20000, Hi: 40000, Count: 1}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[0], strings.Repeat("█", 10)+" 10") || !strings.Contains(lines[1], "█"+strings.Repeat(" ", 9)+" 1") {
		t.Fatalf("bars wrong:\n%s", b.String())
	}
}

func TestTableColumnsAlign(t *testing.T) {
	tb := Table{Header: []string{"#", "what", "len"}, Columns: []Column{{Align: AlignRight}, {Align: AlignLeft}, {}}}
	tb.Row("1", "SYN", "0")
	tb.Row("10", "data", "12")
	var b bytes.Buffer
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		" #  what  len\n" +
		"─────────────\n" +
		" 1  SYN     0\n" +
		"10  data   12\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A table wider than MaxWidth folds its Fold column, then drops columns by
// rank, and says which it left out.
func TestTableFitsMaxWidth(t *testing.T) {
	long := strings.Repeat("word ", 30) // 150 columns of sentence
	tb := Table{Header: []string{"n", "extra", "what"}, Columns: []Column{{}, {Drop: 1}, {Align: AlignLeft, Fold: true}}}
	tb.Row("1", strings.Repeat("x", 90), long)
	var b bytes.Buffer
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > MaxWidth {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if strings.Contains(b.String(), "xxxx") || !strings.Contains(b.String(), "Left out to fit 100 columns: extra") {
		t.Errorf("the droppable column stayed, or no note says so:\n%s", b.String())
	}
	if got := strings.Count(b.String(), "word"); got != 30 {
		t.Errorf("folding lost words: %d of 30:\n%s", got, b.String())
	}
}

func TestWrap(t *testing.T) {
	got := Wrap("one two three four five", 12, "  - ", "    ")
	want := []string{"  - one two", "    three", "    four", "    five"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Wrap("a  b", 80, "", ""); got[0] != "a  b" {
		t.Errorf("text that fits changed: %q", got)
	}
	var b bytes.Buffer
	Bullets(&b, "-", []string{strings.Repeat("long sentence ", 20)})
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		if utf8.RuneCountInString(l) > DefaultWidth {
			t.Errorf("bullet line over %d columns: %q", DefaultWidth, l)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Plural(1, "message"), "1 message"},
		{Plural(0, "message"), "0 messages"},
		{Plural(int64(2), "reply", "replies"), "2 replies"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{120, 300, 12 * time.Second, "echo over poll: 120/300, 18 s left"},
		{0, 300, 0, "echo over poll: 0/300"},
		{5, 0, time.Second, "echo over poll: 5…"},
		{100, 200, 10 * time.Minute, "echo over poll: 100/200, 10 min left"},
	} {
		if got := progressLine("echo over poll", c.done, c.total, c.elapsed); got != c.want {
			t.Errorf("progressLine(%d, %d, %v) = %q, want %q", c.done, c.total, c.elapsed, got, c.want)
		}
	}
}

// The progress line is drawn while a step runs and erased by Stop; a nil
// Progress (stderr not a terminal) does nothing.
func TestProgressDrawsAndErases(t *testing.T) {
	var b syncBuf
	p := NewProgressForced(&b)
	p.Step("echo over tcp", 10)
	p.Add(4)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), "echo over tcp: 4/10") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop()
	p.Stop() // idempotent
	if !strings.Contains(b.String(), "echo over tcp: 4/10") {
		t.Fatalf("no progress line drawn: %q", b.String())
	}
	if !strings.HasSuffix(b.String(), "\x1b[J") {
		t.Errorf("Stop did not erase the line: %q", b.String())
	}
	var none *Progress
	none.Step("x", 1)
	none.Add(1)
	none.Stop()
	if NewProgress(&b) != nil {
		t.Error("a buffer is not a terminal, but NewProgress drew on it")
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressStatus(t *testing.T) {
	var b syncBuf
	p := NewProgressForced(&b)
	p.Status("proxy: 3 packets")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), "proxy: 3 packets") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop()
	if !strings.Contains(b.String(), "proxy: 3 packets") {
		t.Fatalf("status not drawn: %q", b.String())
	}
}

func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "29a8cc2f1b3c4d5e6f"}, {Key: "vcs.modified", Value: "true"}}}
	if got := versionOf(bi); got != "(devel) 29a8cc2f1b3c+dirty" {
		t.Errorf("got %q", got)
	}
	pseudo := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202021646-29a8cc2f1b3c+dirty"}, Settings: bi.Settings}
	if got := versionOf(pseudo); got != "v0.0.0-20261202021646-29a8cc2f1b3c+dirty" {
		t.Errorf("pseudo-version: got %q", got)
	}
	if got := versionOf(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}); got != "v1.2.0" {
		t.Errorf("got %q", got)
	}
	if Version() == "" {
		t.Error("empty version")
	}
}

func ExampleSideBySide() {
	type run struct {
		transport string
		sent      int
	}
	t, row := SideBySide([]run{{"tcp", 100}, {"udp", 98}}, func(r run) string { return r.transport })
	row("sent", func(r run) string { return fmt.Sprint(r.sent) })
	t.Write(os.Stdout)
	// Output:
	//       tcp  udp
	// ──────────────
	// sent  100   98
}

func TestFitFoldsLongLinesOnly(t *testing.T) {
	var b strings.Builder
	long := "conn 1 c→s  HTTP request  GET /socket.io/?EIO=4&sid=afmv90A5R0230wAAAAAAAAAA&transport=polling HTTP/1.1"
	body := "            so far: " + strings.Repeat("word ", 20) + "end"
	word := strings.Repeat("x", 120)
	Fit(&b).Write([]byte("short  line\n" + long + "\n" + body + "\n" + word + "\n"))
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"short  line",
		"conn 1 c→s  HTTP request  GET /socket.io/?EIO=4&sid=afmv90A5R0230wAAAAAAAAAA&transport=polling",
		"  HTTP/1.1",
		"            so far: word word word word word word word word word word word word word word word word",
		"              word word word word end",
		word, // one word wider than a line stays whole
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Fit wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSideBySideSplitsWhenTooWide(t *testing.T) {
	names := []string{"tcp", "udp", "quic", "poll", "longpoll", "sse", "ws", "socketio"}
	tb, row := SideBySide(names, func(n string) string { return n })
	tb.Title = "a title"
	tb.Section("a section")
	row("a row label of some length", func(n string) string { return "cell " + n + " of width" })
	tb.Notes = []string{"a note"}
	var b strings.Builder
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for i, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > MaxWidth {
			t.Errorf("line %d is %d columns", i+1, n)
		}
	}
	for _, n := range names {
		if !strings.Contains(out, "cell "+n+" of width") {
			t.Errorf("column %s left out", n)
		}
	}
	parts := strings.Count(out, "a section")
	if parts < 2 || strings.Count(out, "a row label of some length") != parts ||
		strings.Count(out, "a title") != 1 || strings.Count(out, "a note") != 1 {
		t.Errorf("want 2 parts or more, each with the section and the row, and the title and the note once")
	}
	if strings.Index(out, "a title") > strings.Index(out, "tcp") || strings.LastIndex(out, "a note") < strings.LastIndex(out, "socketio") {
		t.Errorf("want the title first and the note last")
	}
}
