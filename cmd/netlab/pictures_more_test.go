package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// svgTexts returns the texts of an SVG file that gonum/plot wrote.
func svgTexts(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`>([^<>]+)</text>`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

func hasText(texts []string, prefix string) bool {
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestLossPlotDrawsTheTCPSender: loss --plot over the simulated wire draws,
// besides the delays, the time–sequence graph and cwnd of the TCP sender,
// for the TCP stream only; a link that drops packets has its marks.
func TestLossPlotDrawsTheTCPSender(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := netlab(t, "", "loss", "--transports", "udp,tcp", "--count", "100", "--interval", "2ms",
		"--loss", "5%", "--plot", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "C ──► S") {
		t.Error("--plot printed the ladder, which only --ladder asks for")
	}
	seq := svgTexts(t, filepath.Join(dir, "loss-tcp-sequence.svg"))
	if !hasText(seq, "tcp: ") || hasText(seq, "udp") {
		t.Errorf("the sequence graph should have a tcp panel and no udp one: %v", seq)
	}
	for _, want := range []string{"segment sent", "acknowledged", "retransmitted", "dropped by the wire"} {
		if !hasText(seq, want) {
			t.Errorf("the sequence graph lacks %q: %v", want, seq)
		}
	}
	cwnd := svgTexts(t, filepath.Join(dir, "loss-tcp-cwnd.svg"))
	for _, want := range []string{"tcp: congestion window", "cwnd", "ssthresh", "RTO"} {
		if !hasText(cwnd, want) {
			t.Errorf("the cwnd chart lacks %q: %v", want, cwnd)
		}
	}
	if d := svgTexts(t, filepath.Join(dir, "loss-delay.svg")); !hasText(d, "udp: ") || !hasText(d, "tcp: ") {
		t.Errorf("the delay chart lacks a transport: %v", d)
	}
}

// TestReportFromSavedLossAndMissed: netlab report turns loss and missed
// documents into pages with their tables and charts.
func TestReportFromSavedLossAndMissed(t *testing.T) {
	for _, c := range []struct {
		args   []string
		text   string // a line of the lab's table
		charts int
	}{
		{[]string{"loss", "--transports", "udp,tcp", "--count", "60", "--interval", "2ms", "--ladder", "--json"},
			"what the client&#39;s TCP did", 3},
		{[]string{"missed", "--scenario", "offline", "--offline", "300ms", "--strategy", "none,replay", "--transports", "ws", "--json"},
			"missed: the server emits numbered events", 1},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			dir := t.TempDir()
			code, doc, errOut := netlab(t, "", c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			in := filepath.Join(dir, "run.json")
			if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, out, errOut := netlab(t, "", "report", in); code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			b, err := os.ReadFile(filepath.Join(dir, "run.html"))
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			if !strings.Contains(page, c.text) {
				t.Errorf("the page lacks %q", c.text)
			}
			if n := strings.Count(page, "<svg"); n != c.charts {
				t.Errorf("%d charts on the page, want %d", n, c.charts)
			}
		})
	}
}

// TestMorePlots: loss streams, events and cluster demo draw their charts,
// one series per transport (or per server side).
func TestMorePlots(t *testing.T) {
	for _, c := range []struct {
		args  []string
		file  string
		texts []string
	}{
		{[]string{"loss", "streams", "--count", "100", "--handshake=false"}, "loss-streams-delay.svg",
			[]string{"tcp: ", "quic: ", "quic-streams: "}},
		{[]string{"events", "--transports", "tcp,ws", "--round-trips", "20"}, "events-ack-client.svg",
			[]string{"tcp", "ws (WebSocket)"}},
		{[]string{"cluster", "demo", "--adapter", "nats", "--messages", "5", "--no-kill"}, "cluster-latency-nats.svg",
			[]string{"same server", "across servers (nats)"}},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := netlab(t, "", append(c.args, "--plot", dir)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			texts := svgTexts(t, filepath.Join(dir, c.file))
			for _, want := range c.texts {
				if !hasText(texts, want) {
					t.Errorf("%s lacks %q: %v", c.file, want, texts)
				}
			}
		})
	}
}
