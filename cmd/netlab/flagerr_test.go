package main

import (
	"net"
	"strings"
	"testing"
)

func TestPlainBadInputMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "--count", "abc"}, "netlab: --count abc: want a whole number, e.g. --count 100"},
		{[]string{"echo", "-n", "abc"}, "netlab: --count abc: want a whole number"},
		{[]string{"echo", "--interval", "5"}, "netlab: --interval 5: want a duration with its unit, e.g. --interval 500ms, 2s or 1m (5 alone has no unit)"},
		{[]string{"echo", "--loss", "5"}, "did you mean 5%?"},
		{[]string{"echo", "--timeout", "0"}, "netlab: --timeout must be more than 0"},
		{[]string{"compar"}, `netlab: unknown command "compar" for "netlab": did you mean compare? (see 'netlab --help')`},
	} {
		code, _, errOut := netlab(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("netlab %v: exit %d, %q; want exit %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
		if strings.Count(strings.TrimSpace(errOut), "\n") != 0 || strings.Contains(errOut, "strconv") {
			t.Errorf("netlab %v: want one plain line, got %q", tc.args, errOut)
		}
	}
}

func TestBindErrorsAreOneLineForEveryServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"chat", "serve", "--listen", busy, "--tcp", "127.0.0.1:0"}, "--listen"},
		{[]string{"chat", "serve", "--listen", "127.0.0.1:0", "--tcp", busy}, "--tcp"},
		{[]string{"proxy", "--listen", busy, "--upstream", "127.0.0.1:1"}, "--listen"},
		{[]string{"tcp", "serve", "--listen", busy}, "--listen"},
	} {
		_, _, errOut := netlab(t, "", tc.args...)
		want := "netlab: listen " + busy + ": address already in use — pick another with " + tc.flag + ", or port 0 for any free port\n"
		if errOut != want {
			t.Errorf("netlab %v:\n got %q\nwant %q", tc.args, errOut, want)
		}
	}
}
