package accept

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The child process: an echo server under a low RLIMIT_NOFILE. The test
// binary runs itself with NETLAB_ACCEPT_CHILD=NOFILE,MAX and talks to it from
// the parent, whose own descriptors are not limited.
func TestMain(m *testing.M) {
	if spec := os.Getenv("NETLAB_ACCEPT_CHILD"); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

func child(spec string) int {
	nofile, maxConns, _ := strings.Cut(spec, ",")
	n, _ := strconv.Atoi(nofile)
	m, _ := strconv.Atoi(maxConns)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(n), Max: uint64(n)}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 1
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var logMu sync.Mutex
	ln := Wrap(raw, Config{Limit: NewLimit(m), Refusal: LineFull, Logf: func(f string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(os.Stderr, "LOG "+f+"\n", a...)
	}})
	fmt.Printf("%s %d\n", ln.Addr(), ln.Limit().Max())
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // the parent closing stdin ends us
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "EXIT accept:", err)
			return 3
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// startChild runs the echo server with nofile descriptors and a limit of
// max connections (0: DefaultMax) and returns its address and limit.
func startChild(t *testing.T, nofile, max int) (addr string, limit int, stderr *syncBuf) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("NETLAB_ACCEPT_CHILD=%d,%d", nofile, max))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr = new(syncBuf)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v (stderr %q)", err, stderr.String())
	}
	if _, err := fmt.Sscan(line, &addr, &limit); err != nil {
		t.Fatalf("child said %q", line)
	}
	return addr, limit, stderr
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
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

// echoes reports whether c echoes a line within d.
func echoes(c net.Conn, d time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// Out of descriptors: connections past the fd limit wait in the backlog,
// the server logs once and keeps going, and once clients leave it serves
// those that waited and new ones. Before the backoff loop, this server
// exited with "accept: too many open files".
func TestOutOfFilesIsRetried(t *testing.T) {
	const nofile = 40
	addr, _, stderr := startChild(t, nofile, 10000) // a limit above the fds: EMFILE happens
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 2 * nofile {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// The first ones are served; the last one waits (no descriptor left).
	if got, err := echoes(conns[0], 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("first client: %q, %v", got, err)
	}
	last := conns[len(conns)-1]
	if _, err := echoes(last, 300*time.Millisecond); err == nil {
		t.Fatalf("client %d was served under a %d-fd limit: the test did not reach EMFILE", len(conns), nofile)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "too many open files") }, "the EMFILE log line")
	// Most leave: the server picks up the rest, the waiting one included.
	keep := len(conns) - 10
	for _, c := range conns[:keep] {
		c.Close()
	}
	conns = conns[keep:]
	if got, err := echoes(last, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("waiting client after others left: %q, %v (stderr %q)", got, err, stderr.String())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, c)
	if got, err := echoes(c, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("new client: %q, %v", got, err)
	}
	log := stderr.String()
	if n := strings.Count(log, "LOG "); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, log)
	}
	if strings.Contains(log, "EXIT") {
		t.Errorf("server stopped accepting:\n%s", log)
	}
}

// Over the limit: the excess is told "server full" at once instead of
// hanging, and a client that comes after others left is served.
func TestOverLimitIsRefused(t *testing.T) {
	const nofile = 100
	addr, limit, stderr := startChild(t, nofile, 0) // DefaultMax under this rlimit
	if want := nofile - 32; limit != want {
		t.Fatalf("DefaultMax under RLIMIT_NOFILE %d = %d, want %d", nofile, limit, want)
	}
	var served []net.Conn
	defer func() {
		for _, c := range served {
			c.Close()
		}
	}()
	for i := range limit {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, c)
		if got, err := echoes(c, 5*time.Second); err != nil || got != "ping\n" {
			t.Fatalf("client %d of %d: %q, %v", i+1, limit, got, err)
		}
	}
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if got != string(LineFull) {
			t.Fatalf("client %d over the limit: %q, %v; want %q", i+1, got, err, LineFull)
		}
	}
	served[0].Close()
	served = served[1:]
	var c net.Conn
	waitFor(t, func() bool {
		var err error
		if c, err = net.Dial("tcp", addr); err != nil {
			return false
		}
		if got, _ := echoes(c, time.Second); got == "ping\n" {
			return true
		}
		c.Close()
		return false
	}, "a place after a client left")
	served = append(served, c)
	if strings.Contains(stderr.String(), "EXIT") {
		t.Errorf("server stopped: %s", stderr.String())
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, true},
		{&net.OpError{Op: "accept", Err: os.ErrDeadlineExceeded}, false},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := Temporary(tc.err); got != tc.want {
			t.Errorf("Temporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A deadline interrupts Accept while it backs off, as it does a plain
// TCPListener's Accept.
func TestDeadlineInterruptsBackoff(t *testing.T) {
	ln := Wrap(failing{}, Config{})
	go func() { time.Sleep(50 * time.Millisecond); ln.SetDeadline(time.Now()) }()
	start := time.Now()
	_, err := ln.Accept()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Accept = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("Accept returned after %v, want soon after the deadline (50ms)", d)
	}
	if ln.AcceptErrors() == 0 {
		t.Error("no accept error was retried")
	}
}

// failing is a listener whose Accept always fails with EMFILE.
type failing struct{}

func (failing) Accept() (net.Conn, error) {
	return nil, &net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
}
func (failing) Close() error   { return nil }
func (failing) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// A burst over the limit, more than maxRefusing at once: every client is
// still told, not closed without a word.
func TestBurstOverLimitIsStillTold(t *testing.T) {
	addr, _, stderr := startChild(t, 200, 2)
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if got, err := echoes(c, 5*time.Second); err != nil || got != "ping\n" {
			t.Fatalf("served client: %q, %v", got, err)
		}
	}
	// Dial them all before reading any, and keep each open: the first
	// maxRefusing refusals wait up to refuseWait for their client to close.
	const burst = 3 * maxRefusing
	for range burst {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	told := 0
	for i, c := range open[2:] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := bufio.NewReader(c).ReadString('\n')
		if got == string(LineFull) {
			told++
		} else {
			t.Logf("client %d of the burst: %q, %v", i+1, got, err)
		}
	}
	if told != burst {
		t.Errorf("%d of %d clients over the limit were told %q", told, burst, LineFull)
	}
	if strings.Contains(stderr.String(), "EXIT") {
		t.Errorf("server stopped: %s", stderr.String())
	}
}
