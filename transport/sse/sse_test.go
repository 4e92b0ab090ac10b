package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

func listen(t *testing.T, opts Options) transport.Listener {
	t.Helper()
	ln, err := New(opts).Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// connect dials ln with the client's opts and accepts the session: the
// client and the server's side of it, both closed when the test ends.
func connect(t *testing.T, ctx context.Context, ln transport.Listener, opts Options) (*Conn, transport.Conn) {
	t.Helper()
	client, err := Dial(ctx, ln.Addr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	srv, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return client, srv
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestCurl streams a session to the real curl -N and takes a POST from curl.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (.ci/run installs it)")
	}
	ln := listen(t, Options{})
	ctx := testCtx(t)
	url := "http://" + ln.Addr().String() + "/sse"
	cmd := exec.CommandContext(ctx, curl, "-sN", "--max-time", "8", url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("curl's output ended: %v", lines.Err())
		}
		return lines.Text()
	}
	want := func(s string) {
		t.Helper()
		for {
			l := next()
			if l == s {
				return
			}
			if strings.HasPrefix(s, "data: ") && strings.HasPrefix(l, "data: ") {
				t.Fatalf("curl printed %q, want %q", l, s)
			}
		}
	}
	want("event: session")
	sid := strings.TrimPrefix(next(), "data: ")
	srv, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.(*ServerConn).ID(); got != sid {
		t.Fatalf("curl saw session %q, the server accepted %q", sid, got)
	}
	if err := srv.Send(ctx, transport.Message{Data: []byte("hello curl")}); err != nil {
		t.Fatal(err)
	}
	want("id: 1")
	want("data: hello curl")
	if err := srv.Send(ctx, transport.Message{Seq: 7, Event: "tick", Data: []byte("7")}); err != nil {
		t.Fatal(err)
	}
	want("id: 2")
	want(`data: {"seq":7,"event":"tick","text":"7"}`)

	post := exec.CommandContext(ctx, curl, "-sS", "--fail-with-body", "-d", "hi from curl", url+"?sid="+sid)
	if b, err := post.CombinedOutput(); err != nil {
		t.Fatalf("curl POST: %v: %s", err, b)
	}
	m, err := srv.Recv(ctx)
	if err != nil || string(m.Data) != "hi from curl" {
		t.Fatalf("server received %+v, %v", m, err)
	}
	srv.Close()
	want("event: end")
}

// cutProxy forwards TCP to upstream; dark makes it swallow what the server
// sends, and cut closes every connection, as a dead link would.
type cutProxy struct {
	ln   net.Listener
	dark atomic.Bool
	mu   sync.Mutex
	open []net.Conn
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.open = append(p.open, c, u)
			p.mu.Unlock()
			go io.Copy(u, c)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := u.Read(buf)
					if n > 0 && !p.dark.Load() {
						c.Write(buf[:n])
					}
					if err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
	p.open = nil
}

// TestReconnectReplaysWhatWasLost: messages the server wrote while the link
// was dark never reached the client; it reconnects after the server's
// retry: (not its own much longer default) with Last-Event-ID, and the
// server replays exactly those, counted.
func TestReconnectReplaysWhatWasLost(t *testing.T) {
	ln := listen(t, Options{Retry: 50 * time.Millisecond})
	p := newCutProxy(t, ln.Addr().String())
	ctx := testCtx(t)
	client, err := Dial(ctx, p.ln.Addr().String(), Options{Reconnect: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Send(ctx, transport.Message{Event: "hello"})
	c, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := c.(*ServerConn)
	for i := 1; i <= 3; i++ {
		srv.Send(ctx, transport.Message{Seq: uint64(i)})
	}
	for i := 1; i <= 3; i++ {
		if m, err := client.Recv(ctx); err != nil || m.Seq != uint64(i) {
			t.Fatalf("Recv %d = %+v, %v", i, m, err)
		}
	}
	p.dark.Store(true)
	srv.Send(ctx, transport.Message{Seq: 4})
	srv.Send(ctx, transport.Message{Seq: 5})
	for srv.Stats().Queued > 0 { // written to the socket, swallowed by the link
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	p.dark.Store(false)
	cutAt := time.Now()
	p.cut()
	for i := 4; i <= 5; i++ {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := client.Recv(rctx)
		cancel()
		if err != nil || m.Seq != uint64(i) {
			t.Fatalf("after the cut, Recv = %+v, %v; want seq %d replayed", m, err, i)
		}
	}
	if d := time.Since(cutAt); d > 5*time.Second {
		t.Errorf("reconnected %v after the cut: retry: 50ms not honoured", d)
	}
	st := srv.Stats()
	if st.Streams != 2 || st.Replayed != 2 || st.Gap != 0 {
		t.Errorf("stats = %+v, want 2 streams, 2 replayed, no gap", st)
	}
	if client.Reconnects() != 1 {
		t.Errorf("client reconnected %d times, want 1", client.Reconnects())
	}
	// The session goes on as before.
	srv.Send(ctx, transport.Message{Seq: 6})
	if m, err := client.Recv(ctx); err != nil || m.Seq != 6 {
		t.Fatalf("after the replay Recv = %+v, %v", m, err)
	}
}

// readEvents reads n events (id and data) from a raw stream.
func readEvents(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	var got []string
	id := ""
	for len(got) < n {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %v: %v", got, err)
		}
		l = strings.TrimRight(l, "\n")
		switch {
		case strings.HasPrefix(l, "id: "):
			id = strings.TrimPrefix(l, "id: ")
		case strings.HasPrefix(l, "data: ") && id != "":
			got = append(got, id+"="+strings.TrimPrefix(l, "data: "))
			id = ""
		}
	}
	return got
}

// TestReplayBufferIsBounded: a reconnect from further back than the buffer
// gets what is left, and the rest is counted as a gap.
func TestReplayBufferIsBounded(t *testing.T) {
	ln := listen(t, Options{Replay: 3})
	ctx := testCtx(t)
	base := "http://" + ln.Addr().String() + "/sse"
	resp, err := http.Post(base+"/session", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sid := strings.TrimSpace(string(b))
	c, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := c.(*ServerConn)
	for i := 1; i <= 10; i++ {
		srv.Send(ctx, transport.Message{Data: []byte(fmt.Sprint("m", i))})
	}
	stream := func(last string) (*http.Response, *bufio.Reader) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"?sid="+sid, nil)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
			t.Fatalf("GET: %s, Content-Type %q", resp.Status, ct)
		}
		return resp, bufio.NewReader(resp.Body)
	}
	r1, br := stream("")
	if got := readEvents(t, br, 10); got[0] != "1=m1" || got[9] != "10=m10" {
		t.Fatalf("first stream: %v", got)
	}
	r1.Body.Close()
	for srv.Stats().Queued > 0 { // the server marks them written after its flush
		time.Sleep(time.Millisecond)
	}
	r2, br := stream("2")
	defer r2.Body.Close()
	got := readEvents(t, br, 3)
	if strings.Join(got, " ") != "8=m8 9=m9 10=m10" {
		t.Fatalf("replay after Last-Event-ID 2 with a 3-message buffer: %v", got)
	}
	st := srv.Stats()
	if st.Replayed != 3 || st.Gap != 5 {
		t.Fatalf("stats = %+v, want 3 replayed and a gap of 5 (3..7)", st)
	}
}

// TestBadInput: each bad request gets its status and reason, and the
// session and server go on serving.
func TestBadInput(t *testing.T) {
	ln := listen(t, Options{MaxBody: 1000, MaxMessage: 100})
	ctx := testCtx(t)
	client, err := Dial(ctx, ln.Addr().String(), Options{MaxMessage: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	base := "http://" + ln.Addr().String() + "/sse"
	sid := client.Session()
	do := func(method, url, body string, hdr ...string) int {
		req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name, method, url, body string
		hdr                     []string
		want                    int
	}{
		{"body over MaxBody", "POST", base + "?sid=" + sid, strings.Repeat("x", 2000), nil, 413},
		{"message over MaxMessage", "POST", base + "?sid=" + sid, strings.Repeat("y", 200), nil, 413},
		{"malformed JSON", "POST", base + "?sid=" + sid, `{"seq":`, nil, 400},
		{"bad Last-Event-ID", "GET", base + "?sid=" + sid, "", []string{"Last-Event-ID", "abc"}, 400},
		{"Last-Event-ID ahead", "GET", base + "?sid=" + sid, "", []string{"Last-Event-ID", "99"}, 400},
		{"unknown session", "GET", base + "?sid=nope", "", nil, 404},
		{"POST without sid", "POST", base, "hi", nil, 400},
		{"Last-Event-ID without sid", "GET", base, "", []string{"Last-Event-ID", "3"}, 400},
		{"PUT", "PUT", base + "?sid=" + sid, "", nil, 405},
		{"no such path", "GET", "http://" + ln.Addr().String() + "/other", "", nil, 404},
	}
	for _, c := range cases {
		if got := do(c.method, c.url, c.body, c.hdr...); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// Still serving, both ways.
	srv, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client.Send(ctx, transport.Message{Seq: 1, Data: []byte("ok")})
	if m, err := srv.Recv(ctx); err != nil || m.Seq != 1 {
		t.Fatalf("after bad input the server received %+v, %v", m, err)
	}
	srv.Send(ctx, transport.Message{Seq: 2})
	if m, err := client.Recv(ctx); err != nil || m.Seq != 2 {
		t.Fatalf("after bad input the client received %+v, %v", m, err)
	}
}

// TestSilentStreamIsCut: a server that stops sending even heartbeats is
// given up on after three heartbeats, and the client reconnects.
func TestSilentStreamIsCut(t *testing.T) {
	ln := listen(t, Options{Retry: 20 * time.Millisecond})
	p := newCutProxy(t, ln.Addr().String())
	ctx := testCtx(t)
	client, err := Dial(ctx, p.ln.Addr().String(), Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for c.(*ServerConn).Stats().Streams == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the answer's header reaches the client
	p.dark.Store(true)                // the server's bytes, heartbeats too, stop arriving
	time.Sleep(400 * time.Millisecond)
	p.dark.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for client.Reconnects() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if client.Reconnects() == 0 {
		t.Fatal("a stream silent for 8 heartbeats was not cut and reopened")
	}
}

func TestEndedSessionIsNotReopened(t *testing.T) {
	ln := listen(t, Options{})
	ctx := testCtx(t)
	client, srv := connect(t, ctx, ln, Options{})
	srv.Close()
	if _, err := client.Recv(ctx); err != io.EOF {
		t.Fatalf("Recv after the server closed: %v, want io.EOF", err)
	}
	if err := client.Send(ctx, transport.Message{Seq: 1}); err != nil && !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after the server closed: %v", err)
	}
	client.Close()
}

// TestClientRefusesOversizedMessage: a server whose limit is larger than the
// client's sends a message the client's MaxMessage does not allow. The
// stream's buffer has room for it (base64 in JSON is sized at four times
// MaxMessage), so it is the client's own check that refuses it.
func TestClientRefusesOversizedMessage(t *testing.T) {
	ln := listen(t, Options{MaxMessage: 1000})
	ctx := testCtx(t)
	client, srv := connect(t, ctx, ln, Options{MaxMessage: 100})
	for seq, n := range []int{100, 101} {
		if err := srv.Send(ctx, transport.Message{Seq: uint64(seq + 1), Data: make([]byte, n)}); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := client.Recv(ctx); err != nil || len(m.Data) != 100 {
		t.Fatalf("a 100-byte message at the 100-byte limit: %d bytes, %v", len(m.Data), err)
	}
	if m, err := client.Recv(ctx); !errors.Is(err, transport.ErrTooLarge) {
		t.Fatalf("a 101-byte message past the 100-byte limit: %d bytes, %v; want ErrTooLarge", len(m.Data), err)
	}
}
