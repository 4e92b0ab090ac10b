package natsadapter

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat/adapter/adaptertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAdapter runs the adapter suite against an embedded nats-server.
func TestAdapter(t *testing.T) {
	srv, err := StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	t.Cleanup(func() { _ = srv.Close() })
	adaptertest.Run(t, adaptertest.Broker{
		New: func(t *testing.T, id string) adaptertest.Adapter {
			a, err := New(Config{URL: srv.URL(), ID: id})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			return a
		},
		Stop: func(t *testing.T) { _ = srv.Close() },
		Start: func(t *testing.T) {
			s, err := StartServer(addr)
			if err != nil {
				t.Fatalf("restart the broker on %s: %v", addr, err)
			}
			srv = s
		},
	})
}

func TestStartServerLoopbackRandomPort(t *testing.T) {
	a, err := StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := StartServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(a.Addr(), "127.0.0.1:") || a.Addr() == "127.0.0.1:4222" {
		t.Errorf("embedded server on %s, want 127.0.0.1 on a random port", a.Addr())
	}
	if a.Addr() == b.Addr() {
		t.Errorf("two embedded servers on the same address %s", a.Addr())
	}
	if !strings.HasPrefix(a.URL(), "nats://127.0.0.1:") {
		t.Errorf("URL %q, want nats://127.0.0.1:PORT", a.URL())
	}
	if _, err := StartServer(a.Addr()); err == nil {
		t.Errorf("second server on %s: got nil error, want port in use", a.Addr())
	}
}

func TestConnectRefused(t *testing.T) {
	srv, err := StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	_ = srv.Close()
	_, err = New(Config{URL: url})
	if err == nil || !strings.Contains(err.Error(), "natsadapter: connect") {
		t.Fatalf("connect to a stopped server: got %v, want a natsadapter: connect error", err)
	}
}
