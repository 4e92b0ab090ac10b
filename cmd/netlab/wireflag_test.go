package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wireLab runs a lab with --wire and checks the order of what it printed:
// the trace, the tap's cost summary, then the lab's own table.
func wireLab(t *testing.T, labTitle string, args ...string) string {
	t.Helper()
	code, out, errOut := netlab(t, "", args...)
	if code != 0 {
		t.Fatalf("netlab %s: exit %d: %s\n%s", strings.Join(args, " "), code, errOut, out)
	}
	tap := strings.Index(out, "tap on 127.0.0.1:")
	summary := strings.Index(out, "through the tap: what crossed it")
	lab := strings.Index(out, labTitle)
	if tap < 0 || summary < tap || lab < summary {
		t.Fatalf("netlab %s: want the trace, then the tap's summary, then %q:\n%s", strings.Join(args, " "), labTitle, out)
	}
	if !strings.Contains(out[summary:lab], "per netlab message:") {
		t.Errorf("the tap's summary has no cost per message:\n%s", out[summary:lab])
	}
	return out
}

// decoded counts the messages of event ev the tap decoded, by sequence
// number, in both directions.
func decoded(out, ev string) map[int]int {
	n := map[int]int{}
	for _, m := range regexp.MustCompile(`netlab message seq=(\d+) event="`+ev+`"`).FindAllStringSubmatch(out, -1) {
		seq, _ := strconv.Atoi(m[1])
		n[seq]++
	}
	return n
}

func TestWireFlagTCPEcho(t *testing.T) {
	out := wireLab(t, "Echo: 3 messages", "tcp", "echo", "-n", "3", "--wire")
	got := decoded(out, "echo")
	for seq := 1; seq <= 3; seq++ {
		if got[seq] != 2 {
			t.Errorf("seq %d decoded %d times, want 2 (out and back):\n%s", seq, got[seq], out)
		}
	}
	for _, want := range []string{
		"between the tcp client and the server",
		"conn 1      opened:",
		"0000  7b 22 73 65 71 22 3a", // the hex dump of {"seq":
		"cost 129 B = payload 64 B + envelope 64 B + framing 1 B (the \\n)",
		"through the tap (trace above",
		"messages sent            3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
}

func TestWireFlagWSEcho(t *testing.T) {
	out := wireLab(t, "Echo: 2 messages", "ws", "echo", "-n", "2", "--wire", "--wire-dump", "0")
	for _, want := range []string{
		"GET /ws HTTP/1.1",
		"Sec-WebSocket-Key: ",
		"HTTP/1.1 101 Switching Protocols",
		"matches: the server really read this handshake",
		"MASK=1 key=",
		"MASK=0 (server frames are sent unmasked)",
		"close code 1000",
	} {
		// The tap folds lines wider than 100 columns: compare words.
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "WebSocket frame: text"); n != 4 {
		t.Errorf("%d text frames decoded, want 4 (2 messages out and back):\n%s", n, out)
	}
	if got := decoded(out, "echo"); got[1] != 2 || got[2] != 2 {
		t.Errorf("decoded messages %v, want seq 1 and 2 twice each:\n%s", got, out)
	}
}

// --wire with an impaired link: client → tap → link → server, for a
// stream and a datagram transport.
func TestWireFlagWithDelay(t *testing.T) {
	out := wireLab(t, "Echo: 2 messages", "echo", "--transports", "tcp,udp", "-n", "2", "--wire", "--delay", "5ms", "--wire-dump", "0")
	for _, want := range []string{
		"between the tcp client and the impaired link",
		"between the udp client and the impaired link",
		"tcp through the tap: what crossed it",
		"udp through the tap: what crossed it",
		"udp c→s  datagram #2",
		"through an impaired link: --delay 5ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0000  ") {
		t.Errorf("--wire-dump 0 still printed a hex dump:\n%s", out)
	}
	if got := decoded(out, "echo"); got[1] != 4 || got[2] != 4 {
		t.Errorf("decoded messages %v, want seq 1 and 2 four times each (tcp and udp, out and back):\n%s", got, out)
	}
	// The delay is really on the path: 5 ms each way, so no round trip
	// under 10 ms.
	mins := regexp.MustCompile(`(?m)^  min\s+(\S.*)$`).FindStringSubmatch(out)
	if mins == nil {
		t.Fatalf("no min round-trip time:\n%s", out)
	}
	for _, cell := range strings.Fields(mins[1]) {
		if cell == "µs" || cell == "ns" {
			t.Errorf("min round trip in %s with --delay 5ms: the link is not on the path:\n%s", cell, out)
		}
	}
}

func TestWireFlagPush(t *testing.T) {
	out := wireLab(t, "push: the server speaks first", "push", "--transports", "tcp", "--count", "2", "--rate", "50", "--drain", "300ms", "--wire")
	if got := decoded(out, "push"); got[1] != 1 || got[2] != 1 {
		t.Errorf("decoded push events %v, want seq 1 and 2 once each:\n%s", got, out)
	}
	if !strings.Contains(out, `event="hello"`) {
		t.Errorf("the client's hello is not in the trace:\n%s", out)
	}
}

func TestWireFlagUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"tcp", "echo", "--wire", "--json"}, "netlab: --wire prints a trace, --json one JSON document: use one"},
		{[]string{"echo", "--wire", "--json"}, "netlab: --wire prints a trace, --json one JSON document: use one"},
		{[]string{"push", "--wire", "--json"}, "netlab: --wire prints a trace, --json one JSON document: use one"},
		{[]string{"udp", "echo", "--wire", "--trace"}, "netlab: --wire and --trace both print every message as it goes: use one"},
		{[]string{"ws", "echo", "--wire-dump", "16"}, "netlab: --wire-dump sets how much of each read --wire dumps: add --wire"},
		{[]string{"push", "--wire-dump", "16"}, "netlab: --wire-dump sets how much of each read --wire dumps: add --wire"},
		{[]string{"http", "echo", "--wire", "--wire-dump", "-1"}, "netlab: --wire-dump must be >= 0, got -1"},
	}
	for _, c := range cases {
		code, out, errOut := netlab(t, "", c.args...)
		if code != exitUsage || !strings.HasPrefix(errOut, c.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("netlab %s: exit %d, %q (stdout %q); want exit 2 and one line starting %q", strings.Join(c.args, " "), code, errOut, out, c.want)
		}
	}
}
