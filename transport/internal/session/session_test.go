package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// conn is a session as the table sees one: a real connection (one end of a
// transporttest.Pipe) that records its Close.
type conn struct {
	transport.Conn
	closed chan struct{}
}

func newConn() *conn {
	a, b := transporttest.Pipe()
	b.Close()
	return &conn{Conn: a, closed: make(chan struct{})}
}

func (c *conn) Close() error { close(c.closed); return c.Conn.Close() }

func TestTable(t *testing.T) {
	tb := New[*conn]("test", 1)
	a, b, c := newConn(), newConn(), newConn()
	if err := tb.Add("a", a, 2); err != nil {
		t.Fatal(err)
	}
	if err := tb.Add("b", b, 2); !errors.Is(err, ErrBacklog) {
		t.Fatalf("a second session with a backlog of one: %v, want ErrBacklog", err)
	}
	if _, ok := tb.Lookup("b"); ok {
		t.Fatal("a session refused for the backlog is still in the table")
	}
	got, err := tb.Accept(context.Background())
	if err != nil || got != a {
		t.Fatalf("Accept: %v, %v", got, err)
	}
	if err := tb.Add("b", b, 2); err != nil {
		t.Fatal(err)
	}
	if err := tb.Add("c", c, 2); !errors.Is(err, ErrFull) {
		t.Fatalf("a third session with max 2: %v, want ErrFull", err)
	}
	tb.Remove("a", b) // not a's session: nothing happens
	if s, ok := tb.Lookup("a"); !ok || s != a {
		t.Fatal("Remove took out a session the id does not name")
	}
	tb.Remove("a", a)
	if _, ok := tb.Lookup("a"); ok {
		t.Fatal("Remove left the session in")
	}

	var abandoned []*conn
	tb.Close(func(c *conn) { abandoned = append(abandoned, c) })
	tb.Close(func(*conn) { t.Error("a second Close did something") })
	if len(abandoned) != 1 || abandoned[0] != b {
		t.Errorf("abandoned %v, want b (still waiting for Accept)", abandoned)
	}
	select {
	case <-b.closed:
	case <-time.After(time.Second):
		t.Error("Close did not close the open session")
	}
	if _, err := tb.Accept(context.Background()); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Accept after Close: %v, want ErrClosed", err)
	}
	if err := tb.Add("c", c, 0); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
}

func TestHTTPErrorAndID(t *testing.T) {
	w := httptest.NewRecorder()
	HTTPError(w, "sse", 404, "unknown session %q", "x")
	if w.Code != 404 || w.Body.String() != "sse: unknown session \"x\"\n" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("got %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if a, b := NewID(), NewID(); len(a) != 24 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("ids %q, %q: want 24 hex digits, different", a, b)
	}
}
