package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
