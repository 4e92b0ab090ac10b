package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// missed --offline-mode cut --pcap: the run prints the cut link's summary
// (the wire's counts, the stacks' real TCP counters: a cut of 300 ms makes
// the server's TCP retransmit on its timer), and the pcap reads back with
// exactly the packets the wire let through: those that entered, less the
// dropped and the cut, plus the copies.
func TestMissedCutPCAPAndLinkSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.pcap")
	code, out, errOut := runMissed(t, "-t", "tcp", "--scenario", "offline", "--strategy", "none",
		"--offline-mode", "cut", "--offline", "300ms", "--pcap", path)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := wirePassed(t, out)
	flat := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(out, "--cut ") || !strings.Contains(out, "RTO timeouts") {
		t.Errorf("no cut link summary with the TCP counters:\n%s", out)
	}
	var srvRTO int
	if i := strings.Index(flat, "server TCP:"); i >= 0 {
		var segs, rexmit, fast int
		fmt.Sscanf(flat[i:], "server TCP: %d segments, %d retransmitted (%d fast), %d RTO timeouts", &segs, &rexmit, &fast, &srvRTO)
	}
	if srvRTO < 1 {
		t.Errorf("server TCP: no retransmission timeout during a 300 ms cut:\n%s", out)
	}

	n := pcapPackets(t, path)
	if n == 0 || n != want {
		t.Errorf("pcap holds %d packets; the wire let %d through", n, want)
	}
	if !strings.Contains(errOut, fmt.Sprintf("wrote %d packets to %s", n, path)) {
		t.Errorf("stderr does not say what the pcap holds: %q", errOut)
	}
}

// --pcap without a cut has no wire to capture: a usage error.
func TestMissedPCAPNeedsCut(t *testing.T) {
	code, _, errOut := runMissed(t, "--pcap", filepath.Join(t.TempDir(), "x.pcap"))
	if code != exitUsage || !strings.Contains(errOut, "--offline-mode cut") {
		t.Errorf("exit %d, stderr %q; want a usage error naming --offline-mode cut", code, errOut)
	}
}
