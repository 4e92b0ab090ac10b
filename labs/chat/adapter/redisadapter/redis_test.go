package redisadapter

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/chat/adapter/adaptertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAdapter runs the adapter suite against a real redis-server.
func TestAdapter(t *testing.T) {
	r := adaptertest.StartRedis(t)
	adaptertest.Run(t, adaptertest.Broker{
		New: func(t *testing.T, id string) adaptertest.Adapter {
			a, err := New(context.Background(), Config{URL: r.URL(), ID: id})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			return a
		},
		Stop: func(t *testing.T) { r.Stop() },
		Start: func(t *testing.T) {
			if err := r.Start(); err != nil {
				t.Fatalf("restart redis-server: %v", err)
			}
		},
	})
}

func TestConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, err = New(context.Background(), Config{URL: "redis://" + addr})
	if err == nil || !strings.Contains(err.Error(), "redisadapter: connect") {
		t.Fatalf("connect to nothing: got %v, want a redisadapter: connect error", err)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := New(context.Background(), Config{URL: "http://127.0.0.1:6379"}); err == nil {
		t.Fatal("http:// URL: got nil error")
	}
}
