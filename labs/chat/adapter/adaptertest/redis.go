package adaptertest

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A RedisServer is a real redis-server started by a test on a free loopback
// port, with persistence off (no RDB snapshots, no AOF). It is stopped when the
// test ends.
type RedisServer struct {
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server, or skips the test with a message saying
// how to install it when the binary is not on PATH.
func StartRedis(t *testing.T) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (Debian: apt-get install redis-server); skipping the Redis tests")
	}
	r := &RedisServer{bin: bin}
	var lastErr error
	for range 5 { // the free port can be taken between probe and start
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if lastErr = r.Start(); lastErr == nil {
			t.Cleanup(r.Stop)
			return r
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// Addr is host:port.
func (r *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is redis://host:port.
func (r *RedisServer) URL() string { return "redis://" + r.Addr() }

// Start starts (or restarts) the server on its port and waits until it
// accepts connections.
func (r *RedisServer) Start() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited: %s", r.port, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
			_ = c.Close()
			r.cmd, r.done = cmd, done
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server on port %d did not accept connections within 10s", r.port)
}

// Stop kills the server (as a crash would) and waits for it to exit.
func (r *RedisServer) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}
