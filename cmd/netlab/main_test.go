package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// netlab runs the command in-process and returns exit code, stdout, stderr.
func netlab(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	code := run(ctx, args, &app{in: strings.NewReader(stdin), out: &out, errOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestHelpListsLabs(t *testing.T) {
	code, out, _ := netlab(t, "", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"echo", "tcp", "udp", "docs"} {
		if !regexp.MustCompile(`(?m)^  ` + want + `\s+\S`).MatchString(out) {
			t.Errorf("netlab --help does not list %q with a line of help:\n%s", want, out)
		}
	}
}

func TestEveryCommandHasHelpAndExample(t *testing.T) {
	root := newRootCmd(&app{in: strings.NewReader(""), out: io.Discard, errOut: io.Discard})
	for _, c := range allCommands(root) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%q has no example in its --help", c.CommandPath())
		}
	}
}

func TestEchoSideBySide(t *testing.T) {
	code, out, errOut := netlab(t, "", "echo", "--transports", "tcp,udp", "--count", "20", "--size", "32")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^\s+tcp\s+udp$`).MatchString(out) {
		t.Errorf("no tcp and udp columns:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^echoed back\s+20\s+\d+$`).MatchString(out) {
		t.Errorf("tcp did not echo 20 of 20:\n%s", out)
	}
	for _, row := range []string{"lost", "out of order", "duplicated", "  p50", "  p99", "  max", "histogram"} {
		if !strings.Contains(out, row) {
			t.Errorf("output lacks %q:\n%s", row, out)
		}
	}
}

func TestEchoJSON(t *testing.T) {
	code, out, errOut := netlab(t, "", "tcp", "echo", "-n", "10", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Lab     string
		Results []struct {
			Transport    string
			Sent         int
			Received     int
			RTT          struct{ Count int } `json:"rtt"`
			RTTSamplesUs []float64           `json:"rtt_samples_us"`
			BytesSent    *int64              `json:"bytes_sent"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	r := doc.Results[0]
	if doc.Lab != "echo" || r.Transport != "tcp" || r.Sent != 10 || r.Received != 10 || r.RTT.Count != 10 || len(r.RTTSamplesUs) != 10 || r.BytesSent == nil || *r.BytesSent <= 0 {
		t.Fatalf("JSON: %+v", doc)
	}
}

func TestTrace(t *testing.T) {
	code, out, _ := netlab(t, "", "udp", "echo", "-n", "3", "--trace")
	if code != 0 {
		t.Fatal(code)
	}
	if n := strings.Count(out, "──▶ server"); n != 3 {
		t.Errorf("%d outgoing trace lines, want 3:\n%s", n, out)
	}
	if n := strings.Count(out, "◀──seq"); n != 3 {
		t.Errorf("%d reply trace lines, want 3:\n%s", n, out)
	}
}

func TestStreamLab(t *testing.T) {
	code, out, errOut := netlab(t, "", "tcp", "stream", "--count", "50", "--read-size", "64", "--round-trips", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"recovered 50 of 50 messages, in order: yes", "TCP_INFO", "Nagle"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadInputIsOneLineAndExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"echo", "--transports", "tcp,carrier-pigeon"}, `unknown transport "carrier-pigeon"`},
		{[]string{"echo", "--transports", "tcp,tcp"}, "listed twice"},
		{[]string{"tcp", "echo", "--count", "-3"}, "count must be at least 1"},
		{[]string{"udp", "echo", "--size", "70000"}, "over the udp limit"},
		{[]string{"tcp", "echo", "--interval", "-1s"}, "interval must not be negative"},
		{[]string{"tcp", "echo", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"tcp", "echo", "--count", "many"}, "--count many: want a whole number"},
		{[]string{"tcp", "serve", "--listen", "nonsense"}, "bad --listen address"},
		{[]string{"tcp", "connect"}, "connect needs one address"},
		{[]string{"udp", "connect", "no-port"}, "bad address"},
		{[]string{"docs", "nosuchtopic"}, "no walkthrough called"},
		{[]string{"docs", "tcp", "udp"}, "accepts at most 1 arg"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"chat", "serve", "--adapter", "pigeon"}, `--adapter: unknown adapter "pigeon"`},
		{[]string{"tcp", "echo", "stray"}, `unknown command "stray"`},
		{[]string{"loss", "streams", "--transports", "udp"}, "--transports: udp does not promise delivery"},
	}
	for _, c := range cases {
		code, out, errOut := netlab(t, "", c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, exitUsage, errOut)
		}
		if !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, errOut, c.want)
		}
		if out != "" {
			t.Errorf("%v: printed to stdout on a usage error: %q", c.args, out)
		}
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, errOut := netlab(t, "", "tcp", "serve", "--listen", ln.Addr().String())
	if code != exitError || !strings.Contains(errOut, "address already in use — pick another with --listen") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// startServe runs `netlab ARGS... serve --listen 127.0.0.1:0` and returns
// the address it printed and a stop function that returns its output.
func startServe(t *testing.T, group string) (addr string, stop func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{group, "serve", "--listen", "127.0.0.1:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	re := regexp.MustCompile(`listening on (\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], func() string {
				cancel()
				if code := <-done; code != exitInterrupted && code != exitOK {
					t.Errorf("serve exited %d: %s", code, errOut.String())
				}
				return out.String()
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	t.Fatalf("serve printed no address: %q %q", out.String(), errOut.String())
	return "", nil
}

func TestTCPServeWorksWithNcAndConnect(t *testing.T) {
	addr, stop := startServe(t, "tcp")
	// As nc would: bare lines.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	io.WriteString(c, "hello from nc\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.ReadString('\n')
	if err != nil || line != "hello from nc\n" {
		t.Fatalf("nc-style echo = %q, %v", line, err)
	}
	c.Close()
	// The interactive client.
	code, out, errOut := netlab(t, "one\ntwo\n", "tcp", "connect", addr)
	if code != 0 {
		t.Fatalf("connect exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`← seq 1  "one"  rtt \d`).MatchString(out) || !strings.Contains(out, `← seq 2  "two"`) {
		t.Fatalf("connect output:\n%s", out)
	}
	if total := stop(); !strings.Contains(total, "2 clients, 3 messages echoed") {
		t.Fatalf("serve totals:\n%s", total)
	}
}

func TestUDPServeWorksWithNcU(t *testing.T) {
	addr, stop := startServe(t, "udp")
	defer stop()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	c.Write([]byte("hello from nc -u\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello from nc -u\n" {
		t.Fatalf("nc -u echo = %q, %v", buf[:n], err)
	}
	code, out, errOut := netlab(t, "ping\n", "udp", "connect", addr)
	if code != 0 || !strings.Contains(out, `← seq 1  "ping"  rtt`) {
		t.Fatalf("udp connect exit %d:\n%s\n%s", code, out, errOut)
	}
}

func TestInterruptPrintsPartialResults(t *testing.T) {
	// As Ctrl-C does: the context is cancelled while the lab runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errOut syncBuffer
	code := run(ctx, []string{"tcp", "echo", "--count", "100000", "--interval", "10ms"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitInterrupted, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "tcp (interrupted)") || !strings.Contains(out.String(), "messages sent") {
		t.Fatalf("no partial table:\n%s", out.String())
	}
}

func TestDocsTopics(t *testing.T) {
	code, out, _ := netlab(t, "", "docs")
	if code != 0 || !strings.Contains(out, "tcp") || !strings.Contains(out, "udp") {
		t.Fatalf("docs list: %d\n%s", code, out)
	}
	code, out, _ = netlab(t, "", "docs", "tcp")
	if code != 0 || !strings.HasPrefix(out, "# ") {
		t.Fatalf("docs tcp: %d\n%s", code, out)
	}
}

// netlab --version prints the version from the build info, the one every
// JSON document carries.
func TestVersion(t *testing.T) {
	code, out, _ := netlab(t, "", "--version")
	if code != exitOK || out != "netlab "+report.Version()+"\n" {
		t.Errorf("exit %d, %q; want netlab %s", code, out, report.Version())
	}
	code, out, _ = netlab(t, "", "layers", "--json")
	var doc struct {
		Version string `json:"netlab_version"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || doc.Version != report.Version() {
		t.Errorf("layers --json: exit %d, netlab_version %q", code, doc.Version)
	}
}
