package httppoll

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

func TestEchoBothModes(t *testing.T) {
	for _, mode := range []Mode{Short, Long} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			client, server, _ := pair(t, Options{Mode: mode, PollInterval: 10 * time.Millisecond})
			const n = 200
			for i := 1; i <= n; i++ {
				if err := client.Send(ctx, transport.Message{Seq: uint64(i), Event: "echo", Data: []byte("hello")}); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= n; i++ {
				m, err := server.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Seq != uint64(i) || string(m.Data) != "hello" {
					t.Fatalf("got %+v, want seq %d", m, i)
				}
				if err := server.Send(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= n; i++ {
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
			t.Logf("client %+v server %+v", st, sst)
			if st.Requests < 3 || st.BytesSent == 0 || st.BytesReceived == 0 {
				t.Fatalf("client stats %+v look wrong", st)
			}
		})
	}
}
