package redisadapter

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat/adapter/adaptertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redisServer is a real redis-server started by a test on a free loopback
// port, with persistence off.
type redisServer struct {
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts redis-server, or skips the test when it is not
// installed.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (Debian: apt-get install redis-server); skipping the Redis adapter tests")
	}
	r := &redisServer{bin: bin}
	var lastErr error
	for range 5 { // the free port can be taken between probe and start
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if lastErr = r.start(); lastErr == nil {
			t.Cleanup(r.stop)
			return r
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func (r *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }
func (r *redisServer) url() string  { return "redis://" + r.addr() }

func (r *redisServer) start() error {
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
		if c, err := net.DialTimeout("tcp", r.addr(), time.Second); err == nil {
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

func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// TestAdapter runs the adapter suite against a real redis-server.
func TestAdapter(t *testing.T) {
	r := startRedis(t)
	adaptertest.Run(t, adaptertest.Broker{
		New: func(t *testing.T, id string) adaptertest.Adapter {
			a, err := New(context.Background(), Config{URL: r.url(), ID: id})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			return a
		},
		Stop: func(t *testing.T) { r.stop() },
		Start: func(t *testing.T) {
			if err := r.start(); err != nil {
				t.Fatalf("restart redis-server: %v", err)
			}
		},
	})
}

func TestConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, err = New(context.Background(), Config{URL: "redis://" + addr})
	if err == nil || !strings.Contains(err.Error(), "redisadapter: connect") {
		t.Fatalf("connect to nothing: got %v, want a redisadapter: connect error", err)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := New(context.Background(), Config{URL: "http://127.0.0.1:6379"}); err == nil {
		t.Fatal("http:// URL: got nil error")
	}
}
