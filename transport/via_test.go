package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/netlab/netlab/transport"
)

// hop is a real TCP proxy on 127.0.0.1 that appends its name to every line
// going towards the server, so a test can see the order the bytes took.
func hop(t *testing.T, name string, started *[]string, mu *sync.Mutex) transport.Via {
	return func(ctx context.Context, network, upstream string) (string, error) {
		mu.Lock()
		*started = append(*started, name+"→"+upstream)
		mu.Unlock()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		var wg sync.WaitGroup
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer up.Close()
			back := make(chan struct{})
			go func() { defer close(back); io.Copy(c, up) }()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if _, err := io.WriteString(up, sc.Text()+" "+name+"\n"); err != nil {
					break
				}
			}
			up.(*net.TCPConn).CloseWrite()
			<-back
		}()
		return ln.Addr().String(), nil
	}
}

func TestChainOrder(t *testing.T) {
	// the server echoes the line it received
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()

	var mu sync.Mutex
	var started []string
	via := transport.Chain(hop(t, "first", &started, &mu), nil, hop(t, "second", &started, &mu))
	addr, err := via(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(started) != 2 || started[0] != "second→"+ln.Addr().String() || !strings.HasPrefix(started[1], "first→127.0.0.1:") {
		t.Fatalf("started %q: want the Via nearest the server first, each given the next one's address", started)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "hi\n")
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hi first second\n" {
		t.Fatalf("server got %q: want the client's line through first, then second", got)
	}
	<-done
}

func TestChainNilAndOne(t *testing.T) {
	if transport.Chain() != nil || transport.Chain(nil, nil) != nil {
		t.Fatal("Chain of no Vias is not nil")
	}
	called := 0
	one := transport.Via(func(ctx context.Context, network, upstream string) (string, error) {
		called++
		return "one:" + upstream, nil
	})
	addr, err := transport.Chain(nil, one)(context.Background(), "udp", "s")
	if err != nil || addr != "one:s" || called != 1 {
		t.Fatalf("Chain(nil, one) = %q, %v after %d calls", addr, err, called)
	}
}

func TestChainError(t *testing.T) {
	boom := errors.New("boom")
	firstCalled := false
	first := transport.Via(func(ctx context.Context, network, upstream string) (string, error) {
		firstCalled = true
		return "x", nil
	})
	failing := transport.Via(func(ctx context.Context, network, upstream string) (string, error) {
		return "", boom
	})
	if _, err := transport.Chain(first, failing)(context.Background(), "tcp", "s"); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if firstCalled {
		t.Fatal("the Via nearer the client was started although the one after it failed")
	}
}
