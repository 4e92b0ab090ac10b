package ws

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair starts a Transport.Listen server and dials it.
func pair(t *testing.T, opts Options) (client, server transport.Conn, l transport.Listener) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := New(opts)
	l, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	client, err = tr.Dial(ctx, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return client, server, l
}

func TestEchoAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, server, _ := pair(t, Options{})
	for i := 1; i <= 100; i++ {
		if err := client.Send(ctx, transport.Message{Seq: uint64(i), Event: "echo", Data: []byte("hello")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 100; i++ {
		m, err := server.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != uint64(i) || string(m.Data) != "hello" || m.Event != "echo" {
			t.Fatalf("got %+v, want seq %d hello", m, i)
		}
		if err := server.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 100; i++ {
		m, err := client.Recv(ctx)
		if err != nil || m.Seq != uint64(i) {
			t.Fatalf("echo %d: got %+v, %v", i, m, err)
		}
	}
	server.Close()
	if _, err := client.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("client Recv after server Close: %v, want io.EOF", err)
	}
	st := client.(transport.Meter).WireStats()
	sst := server.(transport.Meter).WireStats()
	if st.BytesSent == 0 || st.BytesSent != sst.BytesReceived || st.BytesReceived != sst.BytesSent {
		t.Fatalf("client %+v and server %+v disagree on bytes", st, sst)
	}
}

func TestBrowserGetsTestPage(t *testing.T) {
	addr := echoServer(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "new WebSocket(") {
		t.Fatalf("browser GET: %s, want 200 with a page that opens a WebSocket", resp.Status)
	}
}
