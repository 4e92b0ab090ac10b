package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTCPServeEchoesALastLineWithoutNewline: nc sends its input's last
// line without a newline when the input has none; it is echoed, not dropped.
func TestTCPServeEchoesALastLineWithoutNewline(t *testing.T) {
	addr, stop := startServe(t, "tcp")
	defer stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "one\nlast without newline")
	c.(*net.TCPConn).CloseWrite() // what nc does at the end of its input
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "one\nlast without newline") {
		t.Errorf("echo = %q, want both lines back", got)
	}
}

// TestUDPServeAnswersJSONLinesWithALine: nc -u sends a JSON line; the reply
// ends with a newline too, so the terminal's next line starts clean.
func TestUDPServeAnswersJSONLinesWithALine(t *testing.T) {
	addr, stop := startServe(t, "udp")
	defer stop()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"seq":1,"text":"hi"}` + "\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != `{"seq":1,"text":"hi"}`+"\n" {
		t.Errorf("reply %q, %v: want the JSON line with its newline", buf[:n], err)
	}
	// A netlab client sends no newline and gets none.
	c.Write([]byte(`{"seq":2,"text":"hi"}`))
	n, err = c.Read(buf)
	if err != nil || string(buf[:n]) != `{"seq":2,"text":"hi"}` {
		t.Errorf("reply %q, %v: want the JSON datagram as sent", buf[:n], err)
	}
}

// TestServersLogClientsUnlessQuiet: a line per connect and disconnect with
// the client's address and transport; --quiet prints none.
func TestServersLogClientsUnlessQuiet(t *testing.T) {
	addr, stop := startServe(t, "tcp")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	io.WriteString(c, "hi\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadFull(c, make([]byte, 3))
	c.Close()
	time.Sleep(200 * time.Millisecond)
	out := stop()
	for _, want := range []string{"connect    " + local + " over tcp", "disconnect " + local + " over tcp"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve output lacks %q:\n%s", want, out)
		}
	}
}

func TestServerLogIsRateLimited(t *testing.T) {
	var b strings.Builder
	l := newServerLog(&b, false)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	l.last = now
	for i := 0; i < 100; i++ {
		l.printf("connect %d", i)
	}
	now = now.Add(time.Second)
	l.printf("later")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != logBurst+2 || !strings.Contains(lines[logBurst], "... 80 more not shown") || !strings.HasSuffix(lines[logBurst+1], "later") {
		t.Errorf("%d lines:\n%s", len(lines), b.String())
	}
	if q := newServerLog(&b, true); q != nil || q.echoConn("tcp") != nil {
		t.Errorf("--quiet should log nothing")
	}
	var nilLog *serverLog
	nilLog.printf("nothing") // must not panic
}

func TestChatServeLogsJoinsAndLeaves(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	defer func() { cancel(); <-done }()
	re := regexp.MustCompile(`nc:\s+nc (\S+) (\d+)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		m = re.FindStringSubmatch(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	if m == nil {
		t.Fatalf("no nc line:\n%s", out.String())
	}
	c, err := net.Dial("tcp", m[1]+":"+m[2])
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "/nick nia\n/join math\n/leave math\n/quit\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(c)
	c.Close()
	want := []string{"connect    ", "via tcp", "join       nia (", "leave      nia (", "disconnect nia ("}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(out.String(), w)
		}
		if ok {
			return
		}
	}
	t.Errorf("chat serve output lacks some of %q:\n%s", want, out.String())
}

func TestChatJoinToTheNcDoorSaysSo(t *testing.T) {
	srv := startChat(t)
	code, _, errOut := netlab(t, "", "chat", "join", srv.LinesAddr.String(), "--name", "ada")
	if code == 0 || !strings.Contains(errOut, "that port answers, but not with HTTP") || !strings.Contains(errOut, "--via tcp") {
		t.Errorf("chat join to the nc door: exit %d, %q", code, errOut)
	}
}
