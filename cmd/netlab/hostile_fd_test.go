package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestHostileChild is not a test: it is the child process of the
// out-of-descriptors tests, `netlab ARGS...` under a low RLIMIT_NOFILE, run
// by the test binary itself (NETLAB_HOSTILE_CHILD="NOFILE ARGS..."). It
// stops when its stdin closes.
func TestHostileChild(t *testing.T) {
	spec := os.Getenv("NETLAB_HOSTILE_CHILD")
	if spec == "" {
		return
	}
	f := strings.Fields(spec)
	n, _ := strconv.Atoi(f[0])
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(n), Max: uint64(n)}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	os.Exit(run(ctx, f[1:], &app{in: strings.NewReader(""), out: os.Stdout, errOut: os.Stderr}))
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLimited runs netlab args in a child process with nofile
// descriptors and returns the first submatch of re in its output.
func startLimited(t *testing.T, nofile int, re string, args ...string) (addr string, stderr *lockedBuf) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("NETLAB_HOSTILE_CHILD=%d %s", nofile, strings.Join(args, " ")))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr = new(lockedBuf)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	rx := regexp.MustCompile(re)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := rx.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- strings.Join(m[1:], ":"):
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case addr = <-found:
		return addr, stderr
	case <-time.After(20 * time.Second):
		t.Fatalf("%v printed no %q: %s", args, re, stderr.String())
		return "", nil
	}
}

// Out of descriptors, a server (tcp, http, sse and socketio serve, chat's
// nc door)
// keeps serving: clients past the limit wait, the error is logged once, and when
// others leave the waiting ones and new ones are served. It used to exit
// ("accept: too many open files"), or, on the chat door, stop accepting
// for good.
func TestOutOfDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name, re      string
		probe, answer string // what a client sends, and the start of the line it waits for
		args          []string
	}{
		{"tcp serve", `listening on (\S+)`, "ping\n", "ping", []string{"tcp", "serve", "--listen", "127.0.0.1:0", "--max-conns", "1000"}},
		{"chat serve nc door", `nc:\s+nc (\S+) (\d+)`, "", "welcome", []string{"chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--max-conns", "1000"}},
		{"http serve", `listening on (\S+)`, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", []string{"http", "serve", "--listen", "127.0.0.1:0", "--max-conns", "1000"}},
		{"sse serve", `listening on (\S+)`, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", []string{"sse", "serve", "--listen", "127.0.0.1:0", "--max-conns", "1000"}},
		{"socketio serve", `server on http://(\S+)/socket\.io/`, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", []string{"socketio", "serve", "--listen", "127.0.0.1:0", "--max-conns", "1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const nofile = 48
			addr, stderr := startLimited(t, nofile, tc.re, tc.args...)
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
			served := func(c net.Conn, d time.Duration) bool {
				c.SetDeadline(time.Now().Add(d))
				defer c.SetDeadline(time.Time{})
				r := bufio.NewReader(c)
				io.WriteString(c, tc.probe)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return false
					}
					if strings.HasPrefix(l, tc.answer) {
						return true
					}
				}
			}
			if !served(conns[0], 5*time.Second) {
				t.Fatalf("first client not served: %s", stderr.String())
			}
			last := conns[len(conns)-1]
			if served(last, 300*time.Millisecond) {
				t.Fatalf("client %d served under a %d-fd limit: the test did not run out of descriptors", len(conns), nofile)
			}
			waitFor(t, func() bool { return strings.Contains(stderr.String(), "too many open files") }, "the log line")
			keep := len(conns) - 5
			for _, c := range conns[:keep] {
				c.Close()
			}
			conns = conns[keep:]
			if !served(last, 5*time.Second) {
				t.Fatalf("the waiting client was not served once others left: %s", stderr.String())
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if !served(c, 5*time.Second) {
				t.Fatalf("a new client was not served: %s", stderr.String())
			}
			// Each accept loop logs once. chat serve has two (its HTTP
			// doors and the nc door), and both can run out.
			perLoop := map[string]int{}
			for _, m := range regexp.MustCompile(`accept on (\S+): .*too many open files`).FindAllStringSubmatch(stderr.String(), -1) {
				perLoop[m[1]]++
			}
			for a, n := range perLoop {
				if n != 1 {
					t.Errorf("the accept loop on %s logged %d times, want once:\n%s", a, n, stderr.String())
				}
			}
			if perLoop[addr] != 1 {
				t.Errorf("the accept loop on %s (the one the clients filled) did not log once:\n%s", addr, stderr.String())
			}
		})
	}
}
