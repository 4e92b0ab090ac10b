package main

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestShareAddrsGivesRealAddresses(t *testing.T) {
	if got := shareAddrs("127.0.0.1:8080"); len(got) != 1 || got[0] != "127.0.0.1:8080" {
		t.Errorf("a named host is given as is: %v", got)
	}
	for _, listen := range []string{"0.0.0.0:8080", "[::]:8080", ":8080"} {
		got := shareAddrs(listen)
		if len(got) == 0 {
			t.Fatalf("%s: no address", listen)
		}
		for _, a := range got {
			ap, err := netip.ParseAddrPort(a)
			if err != nil || ap.Addr().IsUnspecified() || ap.Port() != 8080 || ap.Addr().IsLinkLocalUnicast() {
				t.Errorf("%s: %q is not a real address of this machine to give out (%v)", listen, a, err)
			}
			if listen == "0.0.0.0:8080" && !ap.Addr().Is4() {
				t.Errorf("0.0.0.0 listens on IPv4 only, but %q was given", a)
			}
		}
		// The first one is what the examples print: a non-loopback address
		// when the machine has one.
		first, _ := netip.ParseAddrPort(got[0])
		if ifs := machineAddrs(listen == "0.0.0.0:8080"); !ifs[0].IsLoopback() && first.Addr().IsLoopback() {
			t.Errorf("%s: loopback %s printed first though the machine has %v", listen, got[0], ifs)
		}
	}
}

func TestListenedOnKeepsTheAskedHost(t *testing.T) {
	got := listenedOn("0.0.0.0:0", &net.TCPAddr{IP: net.IPv6unspecified, Port: 4321})
	if got != "0.0.0.0:4321" {
		t.Errorf("listenedOn = %q, want 0.0.0.0:4321", got)
	}
}

// TestChatLinesDoorFollowsListen: without --tcp, the nc door listens on
// --listen's host (127.0.0.3 here: loopback, as every test server).
func TestChatLinesDoorFollowsListen(t *testing.T) {
	if got := followHost("0.0.0.0:8080", chatLinesPort); got != "0.0.0.0:7500" {
		t.Errorf("followHost = %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"chat", "serve", "--listen", "127.0.0.3:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	re := regexp.MustCompile(`nc:\s+nc (\S+) (\d+)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		m = re.FindStringSubmatch(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if m == nil {
		t.Fatalf("no nc line:\n%s\n%s", out.String(), errOut.String())
	}
	if m[1] != "127.0.0.3" || m[2] != chatLinesPort {
		t.Errorf("nc door on %s:%s, want 127.0.0.3:%s (the host of --listen)", m[1], m[2], chatLinesPort)
	}
	if strings.Contains(out.String(), "THIS-MACHINE-IP") {
		t.Errorf("placeholder printed:\n%s", out.String())
	}
}

// TestConnectSaysWhatItFound: the wrong kind of server, nothing at all, and
// a udp connect to nothing each get a sentence that says so.
func TestConnectSaysWhatItFound(t *testing.T) {
	srv := startChat(t)
	lines := srv.LinesAddr.String()
	code, _, errOut := netlab(t, "hi\n", "ws", "connect", lines)
	if code == 0 || !strings.Contains(errOut, "that port answers, but not with WebSocket") || !strings.Contains(errOut, "nc door of 'netlab chat serve'") {
		t.Errorf("ws connect to the nc door: exit %d, %q", code, errOut)
	}
	code, _, errOut = netlab(t, "hi\n", "http", "connect", lines)
	if code == 0 || !strings.Contains(errOut, "not with HTTP") || !strings.Contains(errOut, `(it sent "guest-`) {
		t.Errorf("http connect to the nc door: exit %d, %q", code, errOut)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close() // nothing listens there now
	code, _, errOut = netlab(t, "hi\n", "tcp", "connect", free)
	if code == 0 || !strings.Contains(errOut, "connection refused: nothing listens there") || !strings.Contains(errOut, "netlab tcp serve --listen "+free) {
		t.Errorf("tcp connect to nothing: exit %d, %q", code, errOut)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := pc.LocalAddr().String()
	defer pc.Close() // reads nothing, answers nothing
	_, _, errOut = netlab(t, "hi\n", "udp", "connect", silent)
	if !strings.Contains(errOut, "no reply came from "+silent) || !strings.Contains(errOut, "UDP has no connection") {
		t.Errorf("udp connect to a silent port: %q", errOut)
	}
}
