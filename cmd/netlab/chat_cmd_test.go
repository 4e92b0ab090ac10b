package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/chat"
)

func TestChatJoinFromTheTerminal(t *testing.T) {
	srv := startChat(t)
	for _, via := range []string{"ws", "poll", "socketio", "tcp"} {
		t.Run(via, func(t *testing.T) {
			room := "math" + via // a room per subtest: the previous client may still be leaving
			listener := dialChat(t, srv, "tcp", "lis"+via)
			listener.say("/join " + room)
			listener.expect("joined " + room)
			addr := srv.HTTPAddr.String()
			if via == "tcp" {
				addr = srv.LinesAddr.String()
			}
			code, out, errOut := netlab(t, "hello from "+via+"\n/who\n", "chat", "join", addr, "--via", via, "--name", "ada"+via, "--room", room)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := listener.expect("hello from"); got != "["+room+"] ada"+via+": hello from "+via {
				t.Errorf("listener got %q", got)
			}
			if !strings.Contains(out, "2 in "+room+":") || !strings.Contains(out, "ada"+via) {
				t.Errorf("join output lacks the /who answer:\n%s", out)
			}
		})
	}
}

func TestChatBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"chat", "join", "--via", "carrier-pigeon"},
		{"chat", "join", "--room", "no spaces"},
		{"chat", "join", "--name", "a;b"},
		{"chat", "serve", "--queue", "0"},
		{"chat", "bench", "--clients", "5", "--room", "10"},
	} {
		code, _, errOut := netlab(t, "", args...)
		if code != exitUsage || !strings.HasPrefix(errOut, "netlab: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
}

func TestChatServePrintsAddressesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	re := regexp.MustCompile(`nc:\s+nc (\S+) (\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	var m []string
	for m == nil && time.Now().Before(deadline) {
		m = re.FindStringSubmatch(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	if m == nil {
		cancel()
		<-done
		t.Fatalf("serve did not print an nc line:\n%s", out.String())
	}
	for _, want := range []string{"browser:  http://127.0.0.1:", "wscat:    wscat -c ws://127.0.0.1:", "curl:", `sse:      curl -N "http://127.0.0.1:`, `socketio: io("http://127.0.0.1:`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve output lacks %q:\n%s", want, out.String())
		}
	}
	c, err := dialLinesForTest(m[1] + ":" + m[2])
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if code := <-done; code != exitInterrupted && code != exitOK {
		t.Errorf("serve exit %d after cancel", code)
	}
	c.Close()
	if !strings.Contains(out.String(), "stopped:") {
		t.Errorf("serve did not say it stopped:\n%s", out.String())
	}
}

func TestChatBenchSmall(t *testing.T) {
	srv := startChat(t)
	code, out, errOut := netlab(t, "", "chat", "bench", srv.HTTPAddr.String(), "--clients", "30", "--room", "10", "--messages", "3", "--interval", "20ms", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Delivered    int     `json:"delivered"`
		Missing      int     `json:"missing"`
		Sockets      int64   `json:"server_sockets"`
		BytesPerConn float64 `json:"server_mem_per_conn_bytes"`
		Latency      struct {
			Count int     `json:"count"`
			P99   float64 `json:"p99_us"`
		} `json:"latency"`
	}
	if _, results := envelopeOf(t, out); json.Unmarshal(results, &res) != nil {
		t.Fatalf("bench --json:\n%s", out)
	}
	if res.Delivered != 30 || res.Missing != 0 || res.Latency.Count != 30 || res.Sockets < 30 {
		t.Errorf("bench: %+v, want 30 deliveries (10 members x 3), 30+ sockets", res)
	}
	if res.Latency.P99 <= 0 || res.BytesPerConn <= 0 {
		t.Errorf("bench: p99 %v µs, %v bytes/conn: want measured values", res.Latency.P99, res.BytesPerConn)
	}
}

func dialLinesForTest(addr string) (interface{ Close() error }, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return chat.DialLines(ctx, addr)
}

// TestChatServeStopsWithAnIdlePollSession: a polling session made with
// curl -X POST and never polled cannot be told goodbye; chat serve does
// not wait for it on Ctrl-C (it waited two seconds, the polling door's
// close timeout).
func TestChatServeStopsWithAnIdlePollSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	re := regexp.MustCompile(`curl:\s+SID=\$\(curl -s -X POST (\S+)\)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		m = re.FindStringSubmatch(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	if m == nil {
		cancel()
		<-done
		t.Fatalf("serve did not print a curl line:\n%s", out.String())
	}
	resp, err := http.Post(m[1], "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", m[1], resp.Status)
	}
	time.Sleep(500 * time.Millisecond) // the session is idle: no GET comes
	cancel()
	stopped := time.Now()
	code := <-done
	if took := time.Since(stopped); took > stopWithin {
		t.Errorf("chat serve took %v to stop with an idle polling session open, want at most %v (goal 500ms)", took, stopWithin)
	}
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
}
