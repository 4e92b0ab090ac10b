package httppoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// Every number and duration a GET takes, against the values a hostile
// client tries: each is refused with 400 at once. wait=NaN used to be taken
// as a negative wait and held the GET forever.
func TestPollQueryValues(t *testing.T) {
	addr, conns := server(t, Options{})
	sid := openSession(t, addr)
	srv := <-conns
	defer srv.Close()
	bad := []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "infinity", "-1", "-0.5", "1e400", "-1e400",
		"3601", "99999999h", "2h", "-5s", "soon", "1x", "", "0x", " 1", "1e"}
	for _, param := range []string{"wait", "after"} {
		for _, v := range bad {
			if v == "" {
				continue // absent means the default
			}
			t.Run(param+"="+v, func(t *testing.T) {
				start := time.Now()
				st, _, body := raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&%s=%s HTTP/1.1\r\nHost: x\r\n\r\n", sid, param, url.QueryEscape(v)))
				if st != http.StatusBadRequest || !strings.Contains(body, param+"=") {
					t.Errorf("got %d %q, want 400 about %s", st, body, param)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("answered after %v, want at once", d)
				}
			})
		}
	}
	// Good values are taken: huge-but-allowed waits are capped at MaxHold,
	// after= takes any uint64 up to the queue's end.
	for _, q := range []string{"wait=0", "wait=0s", "wait=0.0", "after=0", "after=0&wait=0"} {
		if st, _, body := raw(t, addr, fmt.Sprintf("GET /poll?sid=%s&%s HTTP/1.1\r\nHost: x\r\n\r\n", sid, q)); st != http.StatusNoContent {
			t.Errorf("%s: %d %q, want 204", q, st, body)
		}
	}
	if _, w, err := parsePollQuery(url.Values{"wait": {"3600"}}, DefaultMaxHold); err != nil || w != DefaultMaxHold {
		t.Errorf("wait=3600: %v, %v; want capped at %v", w, err, DefaultMaxHold)
	}
	if a, _, err := parsePollQuery(url.Values{"after": {"18446744073709551615"}}, DefaultMaxHold); err != nil || a != 1<<64-1 {
		t.Errorf("after=max uint64: %v, %v", a, err)
	}
	if _, _, err := parsePollQuery(url.Values{"after": {"18446744073709551616"}}, DefaultMaxHold); err == nil {
		t.Error("after=2^64 accepted")
	}
}

// A POST to a session whose queue is full is answered 429 with Retry-After
// at once and takes nothing: a retrying client does not duplicate lines.
func TestPostToFullQueue(t *testing.T) {
	addr, conns := server(t, Options{Queue: 4})
	sid := openSession(t, addr)
	srv := <-conns
	defer srv.Close()
	post := func(body string) (int, http.Header, string) {
		return raw(t, addr, fmt.Sprintf("POST /poll?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", sid, len(body), body))
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []string{"a1", "a2", "a3"} {
		m, err := srv.Recv(ctx)
		if err != nil || string(m.Data) != want {
			t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
		}
	}
	// Room again: the same POST goes through, whole.
	if st, _, b := post("b1\nb2\n"); st != http.StatusNoContent {
		t.Fatalf("POST after the queue drained: %d %q", st, b)
	}
	for _, want := range []string{"b1", "b2"} {
		if m, err := srv.Recv(ctx); err != nil || string(m.Data) != want {
			t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if m, err := srv.Recv(short); err == nil {
		t.Fatalf("extra message %q: a refused POST was partly taken", m.Data)
	}
}

// slowPost starts a POST that promises n bytes and sends one.
func slowPost(t *testing.T, addr, sid string, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /poll?sid=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nx", sid, n)
	return c
}

// A body sent a byte at a time is cut off at BodyTimeout with 408, and a
// session may have only MaxPosts POSTs in progress: the rest get 429 at
// once instead of each holding a descriptor.
func TestSlowBodies(t *testing.T) {
	addr, conns := server(t, Options{BodyTimeout: 300 * time.Millisecond, MaxPosts: 2})
	sid := openSession(t, addr)
	srv := <-conns
	defer srv.Close()
	a, b := slowPost(t, addr, sid, 100000), slowPost(t, addr, sid, 100000)
	defer a.Close()
	defer b.Close()
	time.Sleep(100 * time.Millisecond) // both bodies are being read
	c := slowPost(t, addr, sid, 100000)
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third slow POST on one session: %v %v, want 429", resp, err)
	}
	// and the refused connection is closed at once, not kept reading the body
	io.ReadAll(resp.Body)
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after 429: read %d, %v; want the connection closed (EOF)", n, err)
	}
	for _, nc := range []net.Conn{a, b} {
		start := time.Now()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow POST: %v %v, want 408", resp, err)
		}
		// and the connection is closed, not kept for another request
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("after 408: read %d, %v; want the connection closed (EOF)", n, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cut off after %v, want about the 300ms body timeout", d)
		}
	}
}

// Connections over MaxConns are answered 503 and closed; a well-behaved
// client gets in when one leaves.
func TestMaxConns(t *testing.T) {
	addr, _ := server(t, Options{MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The server counts a connection once it accepted it: wait until both
	// are in by sending a request on each.
	for _, c := range held {
		fmt.Fprintf(c, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 404 {
			t.Fatalf("held connection: %v %v", resp, err)
		}
	}
	st, h, body := raw(t, addr, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "server full") {
		t.Fatalf("third connection: %d %v %q, want 503 server full", st, h, body)
	}
	held[0].Close()
	held[1].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _, _ := raw(t, addr, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
		if st == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after the held connections closed", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func FuzzPollQuery(f *testing.F) {
	for _, s := range []string{"after=0&wait=25s", "wait=NaN", "wait=1e400", "after=-1", "wait=3600", "after=18446744073709551616", "wait=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		_, wait, err := parsePollQuery(q, DefaultMaxHold)
		if err == nil && (wait < 0 || wait > DefaultMaxHold) {
			t.Fatalf("%q: wait %v outside [0, %v]", raw, wait, DefaultMaxHold)
		}
	})
}

// FuzzReadAnswer feeds a client poll answers a server (or anyone in the
// middle) might send: never a panic, and a number it accepts always
// matches the messages it delivered.
func FuzzReadAnswer(f *testing.F) {
	f.Add([]byte("hello\n{\"seq\":2,\"text\":\"x\"}\n"), "2", uint64(0))
	f.Add([]byte("{\"seq\":"), "1", uint64(0))
	f.Add([]byte(""), "18446744073709551615", uint64(18446744073709551615))
	f.Add([]byte("a\nb\n"), "-1", uint64(3))
	o := Options{MaxMessage: 64, MaxBody: 4096}.withDefaults()
	f.Fuzz(func(t *testing.T, body []byte, last string, after uint64) {
		n := uint64(0)
		got, err := readAnswer(strings.NewReader(string(body)), last, after, o, func(transport.Message) error { n++; return nil })
		if err == nil && got != after+n {
			t.Fatalf("accepted last=%d after %d with %d messages", got, after, n)
		}
	})
}

// 200 slow POSTs (10 sessions, 20 each, Content-Length 100000 sent a byte
// at a time) do not hold 200 of the server's descriptors: beyond two per
// session they are refused and closed at once, and the rest are cut at
// the body deadline. Before, all 200 stayed open for as long as their
// clients liked.
func TestTwoHundredSlowPOSTs(t *testing.T) {
	if openFDsHere() < 0 {
		t.Skip("no /proc/self/fd to count descriptors")
	}
	addr, conns := server(t, Options{BodyTimeout: 500 * time.Millisecond})
	var sids []string
	for range 10 {
		sids = append(sids, openSession(t, addr))
		<-conns // closed, all at once, with the server
	}
	before := openFDsHere()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range 200 {
		clients = append(clients, slowPost(t, addr, sids[i%10], 100000))
	}
	// The test holds the 200 client ends; the server's ends beyond two
	// per session (20) must go at once, and those 20 at the deadline.
	waitForFDs := func(max int, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for openFDsHere() > max {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d descriptors open, want at most %d (%d before the POSTs)", what, openFDsHere(), max, before)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitForFDs(before+200+20+5, 2*time.Second, "refused POSTs")
	waitForFDs(before+200+5, 3*time.Second, "after the body deadline")
}

func openFDsHere() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
