package sse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// rawHTTP sends request bytes on a new TCP connection and reads one
// response.
func rawHTTP(t *testing.T, addr, req string) (status int, header http.Header, body string) {
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
		t.Fatalf("reading the answer to %.60q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, string(b)
}

// openRaw opens a session with POST /sse/session, as curl -X POST would.
func openRaw(t *testing.T, addr string) string {
	t.Helper()
	st, _, body := rawHTTP(t, addr, "POST /sse/session HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	if st != http.StatusCreated {
		t.Fatalf("POST /sse/session: %d %q", st, body)
	}
	return strings.TrimSpace(body)
}

// A POST to a session whose queue is full is answered 429 with Retry-After
// at once and takes nothing: a retrying client does not duplicate lines.
// (It used to wait for room, line by line, holding the POST: half a body
// taken, then 410 when the session ended.)
func TestPostToFullQueue(t *testing.T) {
	ln := listen(t, Options{Queue: 4})
	addr := ln.Addr().String()
	sid := openRaw(t, addr)
	srv, err := ln.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	post := func(body string) (int, http.Header, string) {
		return rawHTTP(t, addr, fmt.Sprintf("POST /sse?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", sid, len(body), body))
	}
	if st, _, b := post("a1\na2\na3\n"); st != http.StatusNoContent {
		t.Fatalf("first POST: %d %q", st, b)
	}
	start := time.Now()
	st, h, b := post("b1\nb2\n")
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(b, "nothing was taken") {
		t.Fatalf("POST to a full queue: %d %v %q, want 429 with Retry-After", st, h, b)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v, want at once", d)
	}
	if st, _, b := post("x\nx\nx\nx\nx\n"); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST of more lines than the queue holds: %d %q, want 413", st, b)
	}
	ctx := testCtx(t)
	for _, want := range []string{"a1", "a2", "a3"} {
		if m, err := srv.Recv(ctx); err != nil || string(m.Data) != want {
			t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
		}
	}
	if st, _, b := post("b1\nb2\n"); st != http.StatusNoContent {
		t.Fatalf("POST after the queue drained: %d %q", st, b)
	}
	for _, want := range []string{"b1", "b2"} {
		if m, err := srv.Recv(ctx); err != nil || string(m.Data) != want {
			t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
		}
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if m, err := srv.Recv(short); err == nil {
		t.Fatalf("extra message %q: a refused POST was partly taken", m.Data)
	}
}

// The Go client sends a refused body again after Retry-After, so a server
// slower than its client loses nothing and gets nothing twice.
func TestClientResendsRefusedPost(t *testing.T) {
	ln := listen(t, Options{Queue: 8})
	ctx := testCtx(t)
	// Bodies of about 500 bytes: five or so 60-byte messages, fewer than
	// the server's queue holds, so that a body is refused only for want of
	// room.
	copts := Options{MaxMessage: 100}
	copts.MaxBody = int64(copts.wireLimit() + 500)
	client, srv := connect(t, ctx, ln, copts)
	const n = 40
	for i := 1; i <= n; i++ {
		if err := client.Send(ctx, transport.Message{Seq: uint64(i), Data: make([]byte, 60)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		m, err := srv.Recv(ctx)
		if err != nil || m.Seq != uint64(i) {
			t.Fatalf("message %d: got seq %d, %v", i, m.Seq, err)
		}
		time.Sleep(5 * time.Millisecond) // a slow server: the client's POSTs find the queue full
	}
}

// slowPost starts a POST that promises n bytes and sends one.
func slowPost(t *testing.T, addr, sid string, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /sse?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nx", sid, n)
	return c
}

// A body sent a byte at a time is cut off at BodyTimeout with 408, and a
// session may have only MaxPosts POSTs in progress: the rest get 429 at
// once instead of each holding a descriptor. (Both used to stay open as
// long as the client kept trickling.)
func TestSlowBodies(t *testing.T) {
	ln := listen(t, Options{BodyTimeout: 300 * time.Millisecond, MaxPosts: 2})
	addr := ln.Addr().String()
	sid := openRaw(t, addr)
	srv, err := ln.Accept(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, b := slowPost(t, addr, sid, 100000), slowPost(t, addr, sid, 100000)
	time.Sleep(100 * time.Millisecond) // both bodies are being read
	c := slowPost(t, addr, sid, 100000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third slow POST on one session: %v %v, want 429 with Retry-After", resp, err)
	}
	io.ReadAll(resp.Body)
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after 429: read %d, %v; want the connection closed (EOF)", n, err)
	}
	for _, nc := range []net.Conn{a, b} {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow POST: %v %v, want 408", resp, err)
		}
		io.ReadAll(resp.Body)
		if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("after 408: read %d, %v; want the connection closed (EOF)", n, err)
		}
	}
}

// Sessions beyond MaxSessions are answered 503 with Retry-After, on both
// ways of opening one; connections beyond MaxConns are answered 503 too.
func TestSessionAndConnCaps(t *testing.T) {
	ln := listen(t, Options{MaxSessions: 2})
	addr := ln.Addr().String()
	openRaw(t, addr)
	openRaw(t, addr)
	for _, req := range []string{
		"POST /sse/session HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /sse HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		st, h, body := rawHTTP(t, addr, req)
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "server full") {
			t.Errorf("%.20q over MaxSessions: %d %v %q, want 503 server full", req, st, h, body)
		}
	}

	ln2 := listen(t, Options{MaxConns: 1})
	held, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	fmt.Fprintf(held, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	held.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(held), nil); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("held connection: %v %v", resp, err)
	}
	st, h, body := rawHTTP(t, ln2.Addr().String(), "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "server full") {
		t.Fatalf("over MaxConns: %d %v %q, want 503 server full", st, h, body)
	}
}
