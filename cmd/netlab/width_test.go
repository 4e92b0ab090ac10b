package main

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netlab/netlab/labs/report"
)

// overWide lists the lines of out wider than report.MaxWidth columns.
func overWide(out string) []string {
	var wide []string
	for i, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > report.MaxWidth {
			wide = append(wide, fmt.Sprintf("line %d is %d columns: %q", i+1, n, l))
		}
	}
	return wide
}

// TestLabOutputFitsIn100Columns runs every lab with its default layout
// (the default transports and scenarios, fewer messages so it is quick) and
// checks that no line of what it prints is wider than 100 columns: prose
// wraps (to 80 columns when stdout is not a terminal, as here) and tables
// fold or drop columns. The docs test checks the same of every command in
// docs/, the full-size default runs among them.
func TestLabOutputFitsIn100Columns(t *testing.T) {
	for _, args := range [][]string{
		{"echo", "--transports", "all", "--count", "5"},
		{"push", "--count", "5", "--rate", "200", "--schedule", "fixed"},
		{"compare", "--count", "5", "--rate", "200", "--echo-count", "5", "--schedule", "fixed"},
		{"loss", "--count", "40", "--interval", "2ms"},
		{"missed", "--offline", "300ms", "--late", "300ms"},
		{"missed", "--scenario", "offline", "--offline-mode", "cut", "--offline", "300ms"},
		{"events", "--round-trips", "3"},
		{"layers", "--transport", "tcp"},
		{"layers", "--transport", "ws"},
		{"wire", "demo"},
		{"wire", "demo", "--transport", "all", "--count", "2"},
		{"chat", "demo"},
		{"tcp", "stream"},
		{"tcp", "echo", "-n", "2", "--wire"},
		{"wire", "sample", "ws"},
		{"cluster", "demo", "--adapter", "none"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := netlab(t, "", args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range overWide(out) {
				t.Errorf("netlab %s: %s", strings.Join(args, " "), w)
			}
		})
	}
}
