package httppoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// server listens with opts and hands accepted sessions to the test on the
// returned channel.
func server(t *testing.T, opts Options) (addr string, conns <-chan transport.Conn) {
	t.Helper()
	l, err := New(opts).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan transport.Conn, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	return l.Addr().String(), ch
}

// raw sends request bytes on a new TCP connection and reads one response.
func raw(t *testing.T, addr, req string) (status int, header http.Header, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, string(b)
}

// openSession opens a session with raw bytes, as curl -X POST would.
func openSession(t *testing.T, addr string) string {
	t.Helper()
	st, _, body := raw(t, addr, "POST /poll/session HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	if st != http.StatusCreated {
		t.Fatalf("POST /poll/session: %d %q", st, body)
	}
	return strings.TrimSpace(body)
}

func TestCurlLikeSession(t *testing.T) {
	addr, conns := server(t, Options{})
	sid := openSession(t, addr)
	srv := <-conns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	st, _, body := raw(t, addr, fmt.Sprintf("POST /poll?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello\nworld\n", sid))
	if st != http.StatusNoContent {
		t.Fatalf("POST: %d %q", st, body)
	}
	for _, want := range []string{"hello", "world"} {
		m, err := srv.Recv(ctx)
		if err != nil || string(m.Data) != want {
			t.Fatalf("server got %+v, %v; want %q", m, err, want)
		}
	}
	// Nothing queued: a short poll is answered at once, empty.
	st, h, _ := raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&after=0 HTTP/1.1\r\nHost: x\r\n\r\n", sid))
	if st != http.StatusNoContent || h.Get("X-Netlab-Last") != "0" {
		t.Fatalf("empty poll: %d %v", st, h)
	}
	// The client spoke plain text, so plain text comes back plain.
	srv.Send(ctx, transport.Message{Data: []byte("hi there")})
	srv.Send(ctx, transport.Message{Seq: 7, Event: "news", Data: []byte("structured")})
	st, h, body = raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&after=0 HTTP/1.1\r\nHost: x\r\n\r\n", sid))
	want := "hi there\n{\"seq\":7,\"event\":\"news\",\"text\":\"structured\"}\n"
	if st != http.StatusOK || body != want || h.Get("X-Netlab-Last") != "2" {
		t.Fatalf("poll: %d last=%s %q, want 200 last=2 %q", st, h.Get("X-Netlab-Last"), body, want)
	}
	// Not acknowledged yet (after=0 again): sent again.
	if _, _, again := raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&after=0 HTTP/1.1\r\nHost: x\r\n\r\n", sid)); again != want {
		t.Fatalf("repeat poll got %q, want the same messages", again)
	}
	// A long poll is held until a message arrives.
	go func() {
		time.Sleep(50 * time.Millisecond)
		srv.Send(context.Background(), transport.Message{Data: []byte("later")})
	}()
	st, h, body = raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&after=2&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n", sid))
	if st != http.StatusOK || body != "later\n" || h.Get("X-Netlab-Last") != "3" {
		t.Fatalf("long poll: %d %v %q", st, h, body)
	}
	st, _, _ = raw(t, addr, fmt.Sprintf("DELETE /poll?sid=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid))
	if st != http.StatusNoContent {
		t.Fatalf("DELETE: %d", st)
	}
	if _, err := srv.Recv(ctx); err != io.EOF {
		t.Fatalf("server Recv after DELETE: %v, want io.EOF", err)
	}
	srv.Close()
}

func TestBadInput(t *testing.T) {
	addr, conns := server(t, Options{MaxBody: 1024, MaxMessage: 100})
	sid := openSession(t, addr)
	srv := <-conns
	defer srv.Close()
	cases := []struct {
		name   string
		req    string
		status int
		reason string
	}{
		{"oversized body, Content-Length", "POST /poll?sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("a", 2000), 413, "limit"},
		{"oversized body, chunked", "POST /poll?sid=" + sid + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("a", 2000) + "\r\n0\r\n\r\n", 413, "limit"},
		{"oversized message", "POST /poll?sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: 201\r\n\r\n" + strings.Repeat("a", 200) + "\n", 413, "limit"},
		{"malformed message", "POST /poll?sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"seq\":x\n", 400, "malformed"},
		{"after not a number", "GET /poll?sid=" + sid + "&after=abc HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad after"},
		{"after negative", "GET /poll?sid=" + sid + "&after=-1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad after"},
		{"after beyond the queue", "GET /poll?sid=" + sid + "&after=99 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "beyond"},
		{"wait not a duration", "GET /poll?sid=" + sid + "&wait=soon HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad wait"},
		{"wait negative", "GET /poll?sid=" + sid + "&wait=-5s HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad wait"},
		{"missing sid", "GET /poll?after=0 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "missing sid"},
		{"unknown session", "GET /poll?sid=nope&after=0 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "unknown session"},
		{"unknown session POST", "POST /poll?sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 404, "unknown session"},
		{"GET on /poll/session", "GET /poll/session HTTP/1.1\r\nHost: x\r\n\r\n", 405, "POST"},
		{"PUT", "PUT /poll?sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "GET receives"},
		{"other path", "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "no such endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := raw(t, addr, tc.req)
			if st != tc.status || !strings.Contains(body, tc.reason) {
				t.Errorf("got %d %q, want %d with %q", st, body, tc.status, tc.reason)
			}
		})
	}
	// Nothing from the refused requests reached the server.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if m, err := srv.Recv(ctx); err == nil {
		t.Fatalf("a refused request delivered %+v", m)
	}
}

func TestSecondGETIsRefusedFirstGoesOn(t *testing.T) {
	addr, conns := server(t, Options{})
	sid := openSession(t, addr)
	srv := <-conns
	defer srv.Close()

	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(first, "GET /poll?sid=%s&after=0&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n", sid)
	// Wait until the first GET is held.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _, body := raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&after=0 HTTP/1.1\r\nHost: x\r\n\r\n", sid))
		if st == http.StatusConflict {
			if !strings.Contains(body, "already waiting") {
				t.Fatalf("409 without a reason: %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second GET got %d, want 409 while the first is held", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Send(context.Background(), transport.Message{Seq: 1, Data: []byte("for the first")})
	resp, err := http.ReadResponse(bufio.NewReader(first), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "for the first") {
		t.Fatalf("first GET: %s %q", resp.Status, body)
	}
}

func TestSlowlorisIsCutOff(t *testing.T) {
	addr, _ := server(t, Options{ReadHeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /poll?sid=x HTTP/1.1\r\nHost: x\r\n") // never the blank line
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("server kept a connection with unfinished headers open: %v", err)
	}
}

func TestSessionExpires(t *testing.T) {
	addr, conns := server(t, Options{SessionIdle: 100 * time.Millisecond})
	sid := openSession(t, addr)
	srv := <-conns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := srv.Recv(ctx)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Recv on an idle session: %v, want expired", err)
	}
	if st, _, _ := raw(t, addr, "GET /poll?sid="+sid+" HTTP/1.1\r\nHost: x\r\n\r\n"); st != http.StatusNotFound {
		t.Fatalf("GET on an expired session: %d, want 404", st)
	}
	srv.Close()
}

func FuzzDecodeLines(f *testing.F) {
	f.Add([]byte("hello\nworld\n"))
	f.Add([]byte("{\"seq\":1,\"text\":\"hi\"}\r\n{\"data\":\"/w==\"}\n\n"))
	f.Add([]byte("{\"seq\":"))
	o := Options{MaxMessage: 64}.withDefaults()
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, status, err := decodeLines(body, o)
		if err != nil && status != 400 && status != 413 {
			t.Fatalf("error %v with status %d", err, status)
		}
		for _, m := range msgs {
			if len(m.Data) > o.MaxMessage {
				t.Fatalf("accepted %d bytes over the limit", len(m.Data))
			}
		}
	})
}

// TestCloseDoesNotWaitForAnAbsentPoller: Close waits for a client to be
// told 410 Gone only while it is polling. A session curl opened and never
// polled ends at once (it used to wait closeTimeout, two seconds, keeping
// 'chat serve' from stopping on Ctrl-C); one polled in a loop still gets
// what was queued, then 410.
func TestCloseDoesNotWaitForAnAbsentPoller(t *testing.T) {
	addr, conns := server(t, Options{})
	openSession(t, addr)
	idle := <-conns
	time.Sleep(2 * pollGrace) // older than the first GET's grace: not polled
	start := time.Now()
	idle.Close()
	// The goal is 0.5 s for the whole server to stop; Close itself should
	// be a few milliseconds. Tolerance for a loaded machine and -race: half
	// of closeTimeout, which the old Close waited out.
	if took := time.Since(start); took > closeTimeout/2 {
		t.Errorf("Close of a session nobody polls took %v, want well under %v", took, closeTimeout)
	}

	sid := openSession(t, addr)
	polled := <-conns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := polled.Send(ctx, transport.Message{Data: []byte("last words")}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() { // a client polling with short GETs, 50 ms apart
		var seen []string
		after := 0
		for {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				got <- err.Error()
				return
			}
			fmt.Fprintf(c, "GET /poll?sid=%s&after=%d HTTP/1.1\r\nHost: x\r\n\r\n", sid, after)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				c.Close()
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.Close()
			seen = append(seen, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))))
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
				got <- strings.Join(seen, " | ")
				return
			}
			if resp.StatusCode == http.StatusOK {
				after++
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond) // a few polls: the message, then empty ones
	polled.Close()
	trail := <-got
	if !strings.HasPrefix(trail, `200 {"text":"last words"}`) || !strings.Contains(trail, "410 httppoll: session "+sid+" closed by the server") {
		t.Errorf("a client polling through Close saw %q; want the message, then 410", trail)
	}
}
