package main

// The hostile suite: bad input as an attacker would send it, in raw bytes
// and raw requests, against every server netlab runs (tcp, udp, http, ws,
// sse, socketio and quic serve, and each door of chat serve: nc, ws, poll,
// sse, socketio), with a well-behaved client checked meanwhile on each, and
// the process's file descriptors and goroutines compared before and after
// the lot. The RFC 6455 frame cases, the SSE, Socket.IO and QUIC ones are
// in hostile_newer_test.go.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// serving is a netlab server command running in this process.
type serving struct {
	match       []string // what re matched in its output
	out, errOut *syncBuffer
}

// startNetlab runs `netlab ARGS...` until the test ends and waits for re
// in its output (the address it listens on).
func startNetlab(t *testing.T, re string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{out: new(syncBuffer), errOut: new(syncBuffer)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &app{in: strings.NewReader(""), out: s.out, errOut: s.errOut}) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitInterrupted && code != exitOK {
			t.Errorf("%v exited %d: %s", args, code, s.errOut.String())
		}
	})
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.match = rx.FindStringSubmatch(s.out.String()); s.match != nil {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%v printed no %q: %q %q", args, re, s.out.String(), s.errOut.String())
	return nil
}

// openFDs counts this process's open file descriptors (-1 where /proc is
// missing).
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// dialLine connects to a line server and returns a reader of its lines.
func dialLine(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReaderSize(c, 64<<10)
}

// readUntil reads lines until one contains want, within 5 s.
func readUntil(t *testing.T, c net.Conn, r *bufio.Reader, want string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var seen []string
	for {
		l, err := r.ReadString('\n')
		if strings.Contains(l, want) {
			return l
		}
		seen = append(seen, l)
		if err != nil {
			t.Fatalf("waiting for %q: %v (read %q)", want, err, seen)
		}
	}
}

// closedWithin reports whether the server closes c within d (reading and
// discarding what it sends).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded) // EOF or a reset: closed by the server
}

// rawHTTP sends req on a new connection and reads one response.
func rawHTTP(t *testing.T, addr, req string) (int, http.Header, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("writing %.60q: %v", req, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("answer to %.60q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, string(b)
}

// echoLine checks a line echo server with a well-behaved client.
func echoLine(t *testing.T, addr string) {
	t.Helper()
	c, r := dialLine(t, addr)
	defer c.Close()
	fmt.Fprintf(c, "well-behaved\n")
	if got := readUntil(t, c, r, "well"); got != "well-behaved\n" {
		t.Fatalf("well-behaved client got %q", got)
	}
}

func TestHostile(t *testing.T) {
	fds, goroutines := openFDs(), runtime.NumGoroutine()
	t.Run("doors", func(t *testing.T) {
		t.Run("tcp", func(t *testing.T) { t.Parallel(); hostileTCP(t) })
		t.Run("udp", func(t *testing.T) { t.Parallel(); hostileUDP(t) })
		t.Run("http", func(t *testing.T) { t.Parallel(); hostileHTTP(t) })
		t.Run("ws", func(t *testing.T) { t.Parallel(); hostileWS(t) })
		t.Run("chat", func(t *testing.T) { t.Parallel(); hostileChat(t) })
		t.Run("sse", func(t *testing.T) { t.Parallel(); hostileSSE(t) })
		t.Run("socketio", func(t *testing.T) { t.Parallel(); hostileSocketIO(t) })
		t.Run("quic", func(t *testing.T) { t.Parallel(); hostileQUIC(t) })
	})
	// Everything the servers opened is closed once they stop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, g := openFDs(), runtime.NumGoroutine()
		if f <= fds+2 && g <= goroutines+2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the hostile suite: %d fds (before %d), %d goroutines (before %d)\n%s",
				f, fds, g, goroutines, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// meanwhile runs check (a well-behaved client's round trip) every 100 ms
// until the returned stop is called, and once more then; stop fails the test if any check
// failed meanwhile. check runs on its own goroutine: it returns an error.
func meanwhile(t *testing.T, name string, check func() error) (stop func()) {
	done := make(chan struct{})
	result := make(chan []error, 1)
	n := 0
	go func() {
		var errs []error
		one := func() {
			n++
			if err := check(); err != nil {
				errs = append(errs, err)
			}
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				one() // and once after everything hostile
				result <- errs
				return
			case <-tick.C:
				one()
			}
		}
	}()
	return func() {
		t.Helper()
		close(done)
		errs := <-result
		if len(errs) > 0 {
			t.Errorf("%s: %d of %d round trips failed while the hostile clients ran; first: %v", name, len(errs), n, errs[0])
		}
	}
}

// lineRoundTrip is a well-behaved line client's check: send a line, read it
// back within 3 s.
func lineRoundTrip(c net.Conn) func() error {
	r := bufio.NewReader(c)
	i := 0
	return func() error {
		i++
		want := fmt.Sprintf("check %d\n", i)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(c, want); err != nil {
			return err
		}
		got, err := r.ReadString('\n')
		if got != want {
			return fmt.Errorf("got %q, %v; want %q", got, err, want)
		}
		return nil
	}
}

func hostileTCP(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "tcp", "serve", "--listen", "127.0.0.1:0", "--max-conns", "8")
	addr := s.match[1]
	echoLine(t, addr)
	gc, _ := dialLine(t, addr)
	defer meanwhile(t, "tcp well-behaved client", lineRoundTrip(gc))()

	t.Run("malformed JSON line: an error line, connection kept", func(t *testing.T) {
		c, r := dialLine(t, addr)
		io.WriteString(c, "{\"seq\":x\n")
		readUntil(t, c, r, "error:")
		io.WriteString(c, "still here\n")
		readUntil(t, c, r, "still here")
	})
	t.Run("binary garbage: echoed, as JSON with base64 data", func(t *testing.T) {
		c, r := dialLine(t, addr)
		c.Write([]byte("\x00\xff\xfe\x01garbage\n"))
		readUntil(t, c, r, `"data":"AP/+AWdhcmJhZ2U="`)
	})
	t.Run("line over the limit: connection closed", func(t *testing.T) {
		c, _ := dialLine(t, addr)
		go c.Write(make([]byte, 500<<10)) // no newline, over 6*64KiB+1KiB
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("not closed")
		}
	})
	t.Run("half a line, then EOF", func(t *testing.T) {
		c, _ := dialLine(t, addr)
		io.WriteString(c, "{\"seq\":1,\"te")
		c.(*net.TCPConn).CloseWrite()
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("not closed")
		}
	})
	t.Run("over --max-conns: server full", func(t *testing.T) {
		var held []net.Conn
		// Take the 7 places the well-behaved client leaves (those of the
		// clients before may take a moment to be freed: the server closes
		// its side when it reads their EOF).
		waitFor(t, func() bool {
			c, r := dialLine(t, addr)
			io.WriteString(c, "hold\n")
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if l, _ := r.ReadString('\n'); l == "hold\n" {
				held = append(held, c)
			} else {
				c.Close()
			}
			return len(held) == 7
		}, "7 places")
		c, r := dialLine(t, addr)
		readUntil(t, c, r, "server full")
		for _, c := range held {
			c.Close()
		}
	})
	t.Run("1,000 connect/disconnect cycles", func(t *testing.T) {
		for range 1000 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	})
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		io.WriteString(c, "after\n")
		l, _ := bufio.NewReader(c).ReadString('\n')
		return l == "after\n"
	}, "the well-behaved client after the hostile ones")
}

func hostileUDP(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "udp", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	ask := func(msg []byte) (string, error) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		buf := make([]byte, 70000)
		for try := 0; try < 5; try++ { // UDP: ask again if a datagram is lost
			c.Write(msg)
			c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := c.Read(buf); err == nil {
				return string(buf[:n]), nil
			}
		}
		return "", fmt.Errorf("no answer to %.20q", msg)
	}
	if got, err := ask([]byte("well-behaved")); got != "well-behaved" {
		t.Fatalf("well-behaved client: %q %v", got, err)
	}
	// UDP may lose a datagram under a burst: the well-behaved client asks
	// again (ask tries five times) and must be answered.
	defer meanwhile(t, "udp well-behaved client", func() error {
		if got, err := ask([]byte("check")); got != "check" {
			return fmt.Errorf("got %q, %v", got, err)
		}
		return nil
	})()
	t.Run("2,000 source ports, then a new client: answered", func(t *testing.T) {
		for range 2000 {
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("burst"))
			c.Close()
		}
		if got, err := ask([]byte("newcomer")); got != "newcomer" {
			t.Fatalf("new client after the burst: %q %v", got, err)
		}
	})
	t.Run("largest datagram of garbage, empty datagram, malformed JSON", func(t *testing.T) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(make([]byte, 65507))
		c.Write(nil)
		c.Write([]byte("{\"seq\":"))
		if got, err := ask([]byte("still answered")); got != "still answered" {
			t.Fatalf("after garbage: %q %v", got, err)
		}
	})
}

// pollCases are the hostile values of every number and duration a poll GET
// takes; each must be answered 400 at once.
var pollCases = []string{"wait=NaN", "wait=Inf", "wait=-Inf", "wait=-1", "wait=1e400", "wait=99999999h", "wait=soon",
	"after=NaN", "after=Inf", "after=-1", "after=1e400", "after=18446744073709551616", "after=abc"}

// hostilePoll runs the polling cases against the endpoint at addr (http
// serve, or chat's poll door), with a well-behaved session meanwhile.
func hostilePoll(t *testing.T, addr string) {
	st, _, sid := rawHTTP(t, addr, "POST /poll/session HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	sid = strings.TrimSpace(sid)
	if st != http.StatusCreated {
		t.Fatalf("open a session: %d %q", st, sid)
	}
	t.Run("number and duration parameters", func(t *testing.T) {
		for _, q := range pollCases {
			start := time.Now()
			st, _, body := rawHTTP(t, addr, fmt.Sprintf("GET /poll?sid=%s&%s HTTP/1.1\r\nHost: x\r\n\r\n", sid, q))
			if st != http.StatusBadRequest || time.Since(start) > 2*time.Second {
				t.Errorf("%s: %d after %v %q, want 400 at once", q, st, time.Since(start), body)
			}
		}
	})
	t.Run("slow POST bodies: 429 beyond two per session at once, 408 at the body deadline", func(t *testing.T) {
		slowBodies(t, addr, "/poll?sid="+sid) // 50,000 bytes promised: under both servers' body limits
	})
	t.Run("well-behaved session still works", func(t *testing.T) {
		st, _, body := rawHTTP(t, addr, fmt.Sprintf("POST /poll?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhello\n", sid))
		if st != http.StatusNoContent {
			t.Fatalf("POST: %d %q", st, body)
		}
	})
}

// pollRoundTrip is a well-behaved polling client's check (http serve
// echoes): open a session once, then POST a line and GET it back.
func pollRoundTrip(hc *http.Client, addr string) func() error {
	var sid string
	var after int
	return func() error {
		if sid == "" {
			resp, err := hc.Post("http://"+addr+"/poll/session", "text/plain", nil)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sid = strings.TrimSpace(string(b))
		}
		after++
		want := fmt.Sprintf("check %d", after)
		resp, err := hc.Post("http://"+addr+"/poll?sid="+sid, "text/plain", strings.NewReader(want+"\n"))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("POST: %s", resp.Status)
		}
		resp, err = hc.Get(fmt.Sprintf("http://%s/poll?sid=%s&after=%d&wait=3s", addr, sid, after-1))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("GET: %s %q, want %q", resp.Status, b, want)
		}
		return nil
	}
}

func hostileHTTP(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "http", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	var wg sync.WaitGroup
	wg.Add(1)
	slowloris := make(chan bool, 1)
	go func() { // slowloris: headers never finished
		defer wg.Done()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			slowloris <- false
			return
		}
		defer c.Close()
		io.WriteString(c, "GET /poll HTTP/1.1\r\nHost: x\r\n")
		slowloris <- closedWithin(c, 10*time.Second)
	}()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	defer meanwhile(t, "http well-behaved session", pollRoundTrip(hc, addr))()
	hostilePoll(t, addr)
	httpDoorLimits(t, addr, "/poll", `listening on (\S+)`, "http", "serve")
	wg.Wait()
	if !<-slowloris {
		t.Error("slowloris: unfinished headers kept open past 10 s")
	}
}

// wsRoundTrip is a well-behaved WebSocket client's check: from sends a
// text, to reads until it arrives (3 s).
func wsRoundTrip(from, to *websocket.Conn) func() error {
	i := 0
	return func() error {
		i++
		want := fmt.Sprintf("check %d", i)
		from.SetWriteDeadline(time.Now().Add(3 * time.Second))
		if err := from.WriteMessage(websocket.TextMessage, []byte(want)); err != nil {
			return err
		}
		to.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			_, b, err := to.ReadMessage()
			if err != nil {
				return fmt.Errorf("waiting for %q: %v", want, err)
			}
			if strings.Contains(string(b), want) {
				return nil
			}
		}
	}
}

func hostileWS(t *testing.T) {
	s := startNetlab(t, `listening on (\S+)`, "ws", "serve", "--listen", "127.0.0.1:0")
	addr := s.match[1]
	good, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	echo := func() {
		t.Helper()
		good.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := good.WriteMessage(websocket.TextMessage, []byte("well-behaved")); err != nil {
			t.Fatal(err)
		}
		if _, b, err := good.ReadMessage(); err != nil || !strings.Contains(string(b), "well-behaved") {
			t.Fatalf("well-behaved client: %q %v", b, err)
		}
	}
	echo()
	g2, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	defer meanwhile(t, "ws well-behaved client", wsRoundTrip(g2, g2))()
	slowloris := make(chan bool, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			slowloris <- false
			return
		}
		defer c.Close()
		io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
		slowloris <- closedWithin(c, 10*time.Second)
	}()
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"Upgrade: foo", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\nSec-WebSocket-Version: 13\r\n" + key + "\r\n", 400},
		{"no Sec-WebSocket-Key", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"Sec-WebSocket-Version: 12", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\n" + key + "\r\n", 400},
		{"POST with Upgrade", "POST /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" + key + "Content-Length: 0\r\n\r\n", 405},
		{"cross-site Origin", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n" + key + "\r\n", 403},
		{"oversize headers (2 MiB)", "GET /ws HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := rawHTTP(t, addr, tc.req)
			if st != tc.status {
				t.Errorf("got %d %q, want %d", st, body, tc.status)
			}
			// RFC 6455 §4.4: a version the server does not speak is
			// answered with the versions it does.
			if strings.Contains(tc.name, "Version") && h.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("no Sec-WebSocket-Version: 13 in %v", h)
			}
		})
	}
	t.Run("frames", func(t *testing.T) { hostileWSFrames(t, addr, "/ws") })
	echo()
	if !<-slowloris {
		t.Error("slowloris: unfinished handshake kept open past 10 s")
	}
}

func hostileChat(t *testing.T) {
	s := startNetlab(t, `browser:\s+http://(\S+)/[\s\S]*nc:\s+nc (\S+) (\d+)`, "chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0")
	httpAddr, ncAddr := s.match[1], net.JoinHostPort(s.match[2], s.match[3])
	// Two well-behaved clients in the lobby, one per raw door.
	a, ar := dialLine(t, ncAddr)
	readUntil(t, a, ar, "welcome")
	good, _, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	wsUntil := func(ws *websocket.Conn, want string) string {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("ws: waiting for %q: %v", want, err)
			}
			if strings.Contains(string(b), want) {
				return string(b)
			}
		}
	}
	wsUntil(good, "welcome")
	talk := func(text string) {
		t.Helper()
		good.WriteMessage(websocket.TextMessage, []byte(text))
		readUntil(t, a, ar, text)
	}
	talk("hello from ws")
	var pair [2]*websocket.Conn
	for i := range pair {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wsUntil(c, "welcome")
		c.WriteMessage(websocket.TextMessage, []byte("/join checks"))
		wsUntil(c, "joined checks")
		pair[i] = c
	}
	defer meanwhile(t, "chat well-behaved pair (ws)", wsRoundTrip(pair[0], pair[1]))()

	slow := make(chan bool, 1)
	go func() { // slowloris on the HTTP port
		c, err := net.Dial("tcp", httpAddr)
		if err != nil {
			slow <- false
			return
		}
		defer c.Close()
		io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\n")
		slow <- closedWithin(c, 10*time.Second)
	}()

	t.Run("nc: line over 2,048 bytes: refused, connection kept", func(t *testing.T) {
		c, r := dialLine(t, ncAddr)
		readUntil(t, c, r, "welcome")
		io.WriteString(c, strings.Repeat("x", 3000)+"\n")
		readUntil(t, c, r, "longer than 2048")
		io.WriteString(c, "/help\n")
		readUntil(t, c, r, "commands:")
	})
	t.Run("nc: 20 malformed lines in a row: disconnected with a reason", func(t *testing.T) {
		c, r := dialLine(t, ncAddr)
		readUntil(t, c, r, "welcome")
		io.WriteString(c, strings.Repeat("{\"event\":\n", 20))
		readUntil(t, c, r, "20 bad messages in a row")
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("not closed")
		}
	})
	t.Run("nc: flood of 200 lines: told to slow down, connection kept", func(t *testing.T) {
		c, r := dialLine(t, ncAddr)
		readUntil(t, c, r, "welcome")
		io.WriteString(c, "/join flood\n"+strings.Repeat("spam\n", 200))
		readUntil(t, c, r, "flood:")
		time.Sleep(100 * time.Millisecond)
		io.WriteString(c, "/rooms\n")
		readUntil(t, c, r, "own rooms")
	})
	t.Run("ws: /rooms over 296 rooms, /who in a lobby of 150: split, never disconnected", func(t *testing.T) {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+httpAddr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		wsUntil(ws, "welcome")
		// 148 line clients + a + ws = 150 in the lobby, and 296 rooms with
		// long names (two joins each, under the flood limit).
		for i := range 148 {
			c, r := dialLine(t, ncAddr)
			readUntil(t, c, r, "welcome")
			fmt.Fprintf(c, "/join room-%026d\n/join room-%026d\n", 2*i, 2*i+1)
		}
		// Ask until all 296 are there, at most 4 times a second (under the
		// flood limit).
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			ws.WriteMessage(websocket.TextMessage, []byte("/rooms"))
			if strings.Contains(wsUntil(ws, "own rooms"), "room-00000000000000000000000295") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the 296 rooms were not all listed within 15 s")
			}
		}
		ws.WriteMessage(websocket.TextMessage, []byte("/rooms"))
		last := wsUntil(ws, "own rooms")
		if !strings.Contains(last, "part") {
			t.Errorf("/rooms over 200 rooms came in one message: %.200q", last)
		}
		if !strings.Contains(last, "room-00000000000000000000000295") {
			t.Errorf("the last part lacks the last room: %.300q", last)
		}
		ws.WriteMessage(websocket.TextMessage, []byte("/who lobby"))
		wsUntil(ws, "in lobby (part")
		ws.WriteMessage(websocket.TextMessage, []byte("/help"))
		wsUntil(ws, "commands:") // still connected
	})
	t.Run("ws: bad Upgrade: 400", func(t *testing.T) {
		st, _, _ := rawHTTP(t, httpAddr, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		if st != http.StatusBadRequest {
			t.Fatalf("got %d, want 400", st)
		}
	})
	t.Run("HTTP: oversize headers: 431", func(t *testing.T) {
		st, _, _ := rawHTTP(t, httpAddr, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
		if st != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d, want 431", st)
		}
	})
	t.Run("HTTP doors", func(t *testing.T) { // side by side: each waits for a body deadline
		t.Run("poll", func(t *testing.T) { t.Parallel(); hostilePoll(t, httpAddr) })
		t.Run("ws frames", func(t *testing.T) { t.Parallel(); hostileWSFrames(t, httpAddr, "/ws") })
		t.Run("sse", func(t *testing.T) { t.Parallel(); hostileSSEDoor(t, httpAddr) })
		t.Run("socketio", func(t *testing.T) { t.Parallel(); hostileSocketIODoor(t, httpAddr) })
	})
	t.Run("over --max-conns: server full on nc, 503 on HTTP", func(t *testing.T) {
		s2 := startNetlab(t, `browser:\s+http://(\S+)/[\s\S]*nc:\s+nc (\S+) (\d+)`, "chat", "serve", "--listen", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--max-conns", "2")
		nc2 := net.JoinHostPort(s2.match[2], s2.match[3])
		for range 2 {
			c, r := dialLine(t, nc2)
			readUntil(t, c, r, "welcome")
		}
		c, r := dialLine(t, nc2)
		readUntil(t, c, r, "server full")
		st, _, body := rawHTTP(t, s2.match[1], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if st != http.StatusServiceUnavailable {
			t.Fatalf("HTTP over the shared cap: %d %q, want 503", st, body)
		}
	})
	talk("still talking")
	if !<-slow {
		t.Error("slowloris on the chat's HTTP port kept open past 10 s")
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpDoorLimits checks two limits every HTTP server has: headers over its
// limit to path at addr are answered 431, and with --max-conns 1 (serve,
// its address matched by pattern) a second connection gets 503 "server
// full" with Retry-After while the first is kept alive.
func httpDoorLimits(t *testing.T, addr, path, pattern string, serve ...string) {
	t.Run("oversize headers: 431", func(t *testing.T) {
		st, _, _ := rawHTTP(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
		if st != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d, want 431", st)
		}
	})
	t.Run("over --max-conns: 503", func(t *testing.T) {
		s2 := startNetlab(t, pattern, append(serve, "--listen", "127.0.0.1:0", "--max-conns", "1")...)
		c, err := net.Dial("tcp", s2.match[1])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		http.ReadResponse(bufio.NewReader(c), nil) // kept alive: it holds the one place
		st, h, body := rawHTTP(t, s2.match[1], "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "server full") {
			t.Fatalf("got %d %v %q, want 503 server full", st, h, body)
		}
	})
}
