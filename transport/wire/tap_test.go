package wire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer starts a TCP server on 127.0.0.1:0 that echoes every byte.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTap(t *testing.T, network, upstream string, cfg Config) *Tap {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tp, err := Listen(ctx, network, "127.0.0.1:0", upstream, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); tp.Close() })
	return tp
}

// sendAndHash writes n random bytes to addr in odd-sized writes, reads the
// echo, and returns the hashes of what was sent and what came back.
func sendAndHash(addr string, n int, seed uint64) (sent, got [32]byte, err error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return sent, got, err
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// some lines and HTTP-looking bytes, so the decoders work too
	copy(data, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	errc := make(chan error, 1)
	go func() {
		for off := 0; off < len(data); {
			k := min(1+rng.IntN(7000), len(data)-off)
			if _, err := c.Write(data[off : off+k]); err != nil {
				errc <- err
				return
			}
			off += k
		}
		errc <- c.(*net.TCPConn).CloseWrite()
	}()
	h := sha256.New()
	m, err := io.Copy(h, c)
	if werr := <-errc; werr != nil {
		return sent, got, werr
	}
	if err != nil {
		return sent, got, err
	}
	if m != int64(n) {
		return sent, got, fmt.Errorf("echo returned %d bytes, want %d", m, n)
	}
	return sha256.Sum256(data), [32]byte(h.Sum(nil)), nil
}

func TestTapForwardsUnchangedUnderLoad(t *testing.T) {
	up := echoServer(t)
	for _, proto := range []Proto{Auto, TCP, HTTP, WS} {
		t.Run(proto.String(), func(t *testing.T) {
			var out syncBuffer
			tp := startTap(t, "tcp", up, Config{Proto: proto, Out: &out})
			const conns, size = 16, 256 << 10
			errs := make(chan error, conns)
			for i := range conns {
				go func() {
					sent, got, err := sendAndHash(tp.Addr().String(), size+i*977, uint64(i))
					if err == nil && sent != got {
						err = fmt.Errorf("conn %d: sha256 in %x != out %x", i, sent[:8], got[:8])
					}
					errs <- err
				}()
			}
			for range conns {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			tp.Close()
			tot := tp.Totals()
			if tot.Conns != conns {
				t.Errorf("counted %d connections, want %d", tot.Conns, conns)
			}
			var want int64
			for i := range conns {
				want += int64(size + i*977)
			}
			if tot.BytesToServer != want || tot.BytesToClient != want {
				t.Errorf("counted %d B to server, %d B to client; want %d each", tot.BytesToServer, tot.BytesToClient, want)
			}
		})
	}
}

// blockingWriter blocks every Write until release is closed: a terminal
// nobody reads.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) { <-w.release; return len(p), nil }

// A decoder that cannot write its trace must not slow the data path: the
// transfer completes, and decoding stops with a note.
func TestTapNeverStallsOnSlowTrace(t *testing.T) {
	up := echoServer(t)
	w := blockingWriter{make(chan struct{})}
	tp := startTap(t, "tcp", up, Config{Proto: TCP, Out: w, Backlog: 8})
	sent, got, err := sendAndHash(tp.Addr().String(), 4<<20, 7)
	close(w.release)
	if err != nil {
		t.Fatal(err)
	}
	if sent != got {
		t.Fatal("bytes changed through the tap")
	}
	tp.Close()
	if tot := tp.Totals(); tot.DecodeStopped != 1 || tot.UndecodedBytes == 0 {
		t.Errorf("decoding stopped on %d connections with %d B undecoded; want 1 and > 0", tot.DecodeStopped, tot.UndecodedBytes)
	}
}

// Hostile bytes (a 2^63-byte WebSocket frame, an endless HTTP head, junk)
// are forwarded unchanged; the decoders note them and neither crash nor
// hold anything up.
func TestTapHostileStreams(t *testing.T) {
	up := echoServer(t)
	wsUp := wsEchoServer(t)
	upgrade := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	cases := map[string][]byte{
		"huge 64-bit length": append([]byte(upgrade), append([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, bytes.Repeat([]byte{0xee}, 2<<20)...)...),
		"top bit set length": append([]byte(upgrade), append([]byte{0x82, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0}, bytes.Repeat([]byte{0}, 1<<20)...)...),
		"endless HTTP head":  append([]byte("GET / HTTP/1.1\r\nX: "), bytes.Repeat([]byte("a"), 3<<20)...),
		"huge chunk size":    []byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n"),
		"no newline":         bytes.Repeat([]byte("{\"seq\":"), 1<<18),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			var out syncBuffer
			upstream, want := up, payload
			if strings.HasPrefix(string(payload), upgrade) {
				upstream = wsUp
				want = append([]byte(upgradeAnswer), payload[len(upgrade):]...)
			}
			tp := startTap(t, "tcp", upstream, Config{Out: &out})
			c, err := net.Dial("tcp", tp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			go func() { c.Write(payload); c.(*net.TCPConn).CloseWrite() }()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes back, want %d, unchanged", len(got), len(want))
			}
			tp.Close()
			t.Log(firstLines(out.String(), "decoding stopped", "ended"))
		})
	}
}

const upgradeAnswer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

// wsEchoServer answers one HTTP head with 101 and then echoes every byte,
// frames or not.
func wsEchoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if l == "\r\n" {
						break
					}
				}
				io.WriteString(c, upgradeAnswer)
				io.Copy(c, br)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().String()
}

func firstLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// A real WebSocket server and client (gorilla/websocket) through the tap:
// the accept key checks out and frames decode.
func TestTapWebSocketEndToEnd(t *testing.T) {
	upgrader := websocket.Upgrader{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, p)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tap *Tap
	addr, err := Via(Config{Out: &out}, func(tp *Tap) { tap = tp })(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{`{"seq":1,"event":"echo","text":"hi"}`, strings.Repeat("z", 300), strings.Repeat("w", 70000)}
	for _, m := range msgs {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != m {
			t.Fatalf("echo: %v (got %d bytes)", err, len(p))
		}
	}
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	c.ReadMessage() // the server's close
	c.Close()
	cancel()
	tap.Close()
	trace := out.String()
	for _, want := range []string{
		"matches: the server really read this handshake",
		"netlab message seq=1 event=\"echo\" data=\"hi\"",
		"length 300: 7-bit field says 126",
		"length 70000: 7-bit field says 127",
		"close code 1000 (normal closure) reason \"bye\"",
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	tot := tap.Totals()
	if tot.Frames < 7 || tot.Requests != 1 || tot.Responses != 1 {
		t.Errorf("got %d frames, %d requests, %d responses; want >= 7, 1, 1", tot.Frames, tot.Requests, tot.Responses)
	}
	if t.Failed() {
		t.Log(trace)
	}
}

// net/http's client keeps one connection alive for several polls; the tap
// pairs each request with its response, chunked bodies included.
func TestTapHTTPKeepAlive(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/chunked" {
			w.Write([]byte(`[{"seq":1,"text":"a"},`))
			w.(http.Flusher).Flush()
			w.Write([]byte(`{"seq":2,"text":"b"}]`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	var out syncBuffer
	tp := startTap(t, "tcp", ln.Addr().String(), Config{Out: &out})
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	for i, path := range []string{"/poll", "/chunked", "/poll", "/send"} {
		var resp *http.Response
		if path == "/send" {
			resp, err = cl.Post("http://"+tp.Addr().String()+path, "application/json", strings.NewReader(`{"seq":9,"text":"up"}`))
		} else {
			resp, err = cl.Get("http://" + tp.Addr().String() + path)
		}
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	tp.Close()
	tot := tp.Totals()
	if tot.Conns != 1 || tot.Requests != 4 || tot.Responses != 4 {
		t.Errorf("got %d connections, %d requests, %d responses; want 1, 4, 4\n%s", tot.Conns, tot.Requests, tot.Responses, out.String())
	}
	if !strings.Contains(out.String(), "in 2 chunks (Transfer-Encoding: chunked") {
		t.Errorf("chunked body not decoded:\n%s", out.String())
	}
	if tot.Messages != 3 {
		t.Errorf("decoded %d netlab messages, want 3", tot.Messages)
	}
}

func TestTapUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	defer func() { pc.Close(); <-done }()
	var out syncBuffer
	tp := startTap(t, "udp", pc.LocalAddr().String(), Config{Out: &out})
	c, err := net.Dial("udp", tp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 5
	buf := make([]byte, 2048)
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf(`{"seq":%d,"event":"echo","text":"hi"}`, i)
		var got string
		for try := 0; try < 5 && got != msg; try++ { // UDP may drop: retry
			c.Write([]byte(msg))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, err := c.Read(buf)
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Fatal(err)
			}
			got = string(buf[:k])
		}
		if got != msg {
			t.Fatalf("datagram %d did not come back", i)
		}
	}
	tp.Close()
	tot := tp.Totals()
	if tot.Datagrams < 2*n || tot.Messages < 2*n {
		t.Errorf("counted %d datagrams and %d messages, want at least %d", tot.Datagrams, tot.Messages, 2*n)
	}
	if !strings.Contains(out.String(), "netlab message seq=5") {
		t.Errorf("trace lacks seq=5:\n%s", out.String())
	}
}

// What a tap records replays through the decoder to the same trace.
func TestTapRecordReplays(t *testing.T) {
	up := echoServer(t)
	var out, rec syncBuffer
	tp := startTap(t, "tcp", up, Config{Out: &out, Record: &rec})
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", tp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, `{"seq":1,"event":"echo","text":"hi"}`+"\n")
		bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	tp.Close()
	conns, err := ParseRecordings("rec", strings.NewReader(rec.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 {
		t.Fatalf("recording holds %d connections, want 2:\n%s", len(conns), rec.String())
	}
	var replay strings.Builder
	tot := conns[0].DecodeAs("conn 1", Auto, DefaultDumpBytes, &replay)
	if tot.Messages != 2 || !strings.Contains(out.String(), replay.String()[:200]) {
		t.Errorf("replay: %d messages; trace:\n%s\nreplay:\n%s", tot.Messages, out.String(), replay.String())
	}
}
