package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
	"github.com/spf13/cobra"
)

// The same impairment flags, validated the same way, on every lab.
func TestLinkFlagsRejectBadValues(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--loss", "150%"}, "netlab: --loss 150%: a probability must be between 0% and 100%"},
		{[]string{"--delay", "-5ms"}, "netlab: --delay -5ms: cannot be negative"},
		{[]string{"--jitter", "soon"}, `netlab: --jitter "soon": want a duration like 20ms or 1.5s`},
		{[]string{"--burst", "p=1%"}, `netlab: --burst "p=1%": both p and r are needed`},
		{[]string{"--rate", "fast"}, `netlab: --rate "fast": want a bandwidth`},
		{[]string{"--cut", "2s"}, `netlab: --cut "2s": want AT+FOR`},
		{[]string{"--dup", "-1"}, "netlab: --dup -1: a probability must be between 0% and 100%"},
		{[]string{"--rto", "200ms"}, "netlab: --rto is gone: an impaired link now carries real TCP"},
		{[]string{"--tcp-recovery", "fast"}, `netlab: --tcp-recovery "fast": want rack or classic`},
	}
	for _, cmd := range [][]string{{"loss"}, {"echo"}, {"proxy", "--upstream", "127.0.0.1:1"}} {
		for _, c := range cases {
			args := append(append([]string{}, cmd...), c.args...)
			code, _, errOut := netlab(t, "", args...)
			if code != exitUsage || !strings.HasPrefix(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("netlab %s: exit %d, %q; want exit 2 and one line starting %q", strings.Join(args, " "), code, errOut, c.want)
			}
		}
	}
}

func TestLossJSON(t *testing.T) {
	code, out, errOut := netlab(t, "", "loss", "--transports", "udp,tcp", "--count", "40", "--interval", "2ms", "--loss", "10%", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Link    string
		Streams []struct {
			Transport string `json:"transport"`
			Sent      int    `json:"sent"`
			Delivered int    `json:"delivered"`
			Lost      int    `json:"lost"`
			Timeline  string `json:"timeline"`
			Delay     struct {
				P50Us float64 `json:"p50_us"`
			} `json:"one_way_delay"`
		} `json:"streams"`
	}
	config, results := envelopeOf(t, out)
	var conf struct {
		Link string `json:"link"`
	}
	if json.Unmarshal(config, &conf) != nil || json.Unmarshal(results, &res.Streams) != nil {
		t.Fatalf("config or results do not decode:\n%s", out)
	}
	res.Link = conf.Link
	if !strings.Contains(res.Link, "--loss 10%") || len(res.Streams) != 2 {
		t.Fatalf("unexpected JSON: %s", out)
	}
	for _, s := range res.Streams {
		if s.Sent != 40 || len(s.Timeline) != 40 || s.Delivered+s.Lost != 40 || s.Delay.P50Us <= 0 {
			t.Errorf("%s: %+v", s.Transport, s)
		}
	}
	if res.Streams[1].Lost != 0 {
		t.Errorf("tcp lost %d messages", res.Streams[1].Lost)
	}
}

// netlab proxy forwards through the link, counts, and prints totals on Ctrl-C.
func TestProxyCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	pcapPath := filepath.Join(t.TempDir(), "proxy.pcap")
	go func() {
		done <- run(ctx, []string{"proxy", "--upstream", ln.Addr().String(), "--delay", "10ms", "--loss", "20%", "--pcap", pcapPath},
			&app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	addrRe := regexp.MustCompile(`proxy tcp (127\.0\.0\.1:\d+) →`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRe.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no address printed: %q %q", out.String(), errOut.String())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	for i := 0; i < 20; i++ {
		msg := []byte("hello\n")
		c.Write(msg)
		if _, err := io.ReadFull(c, msg); err != nil || string(msg) != "hello\n" {
			t.Fatalf("echo %d through the proxy: %q %v", i, msg, err)
		}
	}
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d after Ctrl-C, want %d", code, exitInterrupted)
	}
	text := out.String()
	for _, want := range []string{`totals after .*, 1 client \(`, `(?m)^\s*segments sent\s+\d+\s+\d+$`, `(?m)^\s*retransmitted\s+[1-9]\d*\s+[1-9]\d*$`} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("totals lack %q:\n%s", want, text)
		}
	}
	// The pcap holds every packet the wire delivered: the "out" row.
	m := regexp.MustCompile(`(?m)^out\s+(\d+)\s+(\d+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no out row:\n%s", text)
	}
	up, _ := strconv.Atoi(m[1])
	down, _ := strconv.Atoi(m[2])
	f, err := os.Open(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		n++
	}
	if n != up+down || n < 40 {
		t.Errorf("pcap holds %d packets, the wire delivered %d + %d", n, up, down)
	}
	if !strings.Contains(errOut.String(), fmt.Sprintf("wrote %d packets to %s", n, pcapPath)) {
		t.Errorf("stderr does not say what the pcap holds: %q", errOut.String())
	}
}

// A lab with its own --rate and --seed (push: events per second, the
// schedule's seed) still gets every impairment: the bandwidth limit as
// --link-rate, the seed shared.
func TestLinkFlagsBesideLabFlags(t *testing.T) {
	cmd := &cobra.Command{Use: "lab"}
	cmd.Flags().Float64("rate", 10, "events per second")
	cmd.Flags().Int64("seed", 1, "schedule seed")
	lf := addLinkFlags(cmd)
	if err := cmd.Flags().Parse([]string{"--rate", "50", "--seed", "9", "--link-rate", "2Mbit", "--loss", "1%"}); err != nil {
		t.Fatal(err)
	}
	c, err := lf.config()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 2_000_000 || c.Seed != 9 || c.Loss != 0.01 {
		t.Errorf("got %v, want --loss 1%% --rate 2Mbit --seed 9", c)
	}
	if v, err := lf.via(); err != nil || v == nil {
		t.Errorf("via() = %v, %v; want a Via", v, err)
	}
	perfect := &cobra.Command{Use: "lab"}
	lf = addLinkFlags(perfect)
	if v, err := lf.via(); err != nil || v != nil {
		t.Errorf("no impairment: via() = %v, %v; want nil, nil", v, err)
	}
}

// --pcap on a lab: the file reads back with as many packets as the note on
// stderr says, and the link's summary (with the stacks' TCP counters)
// follows the lab's output.
func TestLabPCAPAndLinkSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pcap")
	code, out, errOut := netlab(t, "", "tcp", "echo", "-n", "10", "--loss", "10%", "--histogram=false", "--pcap", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"a simulated wire between two real TCP/IP stacks", "client TCP:", "server TCP:", "segments,", "RTO timeouts"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		n++
	}
	if n < 20 || !strings.Contains(errOut, fmt.Sprintf("wrote %d packets to %s", n, path)) {
		t.Errorf("pcap holds %d packets; stderr %q", n, errOut)
	}
}
