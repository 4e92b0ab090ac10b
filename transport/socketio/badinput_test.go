package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// probe is one hostile exchange: it returns what the server answered, as
// "STATUS body" lines, one per request.
type probe func(t *testing.T, base string) string

func do(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// handshake opens a polling session and returns its sid.
func handshake(t *testing.T, base string) string {
	t.Helper()
	got := do(t, "GET", base+"?EIO=4&transport=polling", "")
	var hs struct{ SID string }
	if i := strings.IndexByte(got, '{'); i < 0 || json.Unmarshal([]byte(got[i:]), &hs) != nil || hs.SID == "" {
		t.Fatalf("handshake answered %q", got)
	}
	return hs.SID
}

// afterwards says what a GET on the session answers once the hostile
// packet was handled: whether the server closed the session.
func afterwards(t *testing.T, base, sid string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"?EIO=4&transport=polling&sid="+sid, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "open (the poll is held)"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

var probes = []struct {
	name string
	run  probe
}{
	{"unknown sid", func(t *testing.T, base string) string {
		return do(t, "GET", base+"?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", "")
	}},
	{"EIO=3", func(t *testing.T, base string) string {
		return do(t, "GET", base+"?EIO=3&transport=polling", "")
	}},
	{"unknown transport", func(t *testing.T, base string) string {
		return do(t, "GET", base+"?EIO=4&transport=carrier-pigeon", "")
	}},
	{"handshake by POST", func(t *testing.T, base string) string {
		return do(t, "POST", base+"?EIO=4&transport=polling", "40")
	}},
	{"bad engine.io packet", func(t *testing.T, base string) string {
		sid := handshake(t, base)
		return do(t, "POST", base+"?EIO=4&transport=polling&sid="+sid, "9garbage") + " | then " + afterwards(t, base, sid)
	}},
	{"bad socket.io packet", func(t *testing.T, base string) string {
		sid := handshake(t, base)
		do(t, "POST", base+"?EIO=4&transport=polling&sid="+sid, "40")
		// Read the 40 answer and the welcome event (in one poll or two).
		for range 5 {
			if strings.Contains(afterwards(t, base, sid), "welcome") {
				break
			}
		}
		return do(t, "POST", base+"?EIO=4&transport=polling&sid="+sid, "42not json") + " | then " + afterwards(t, base, sid)
	}},
	{"payload over the limit", func(t *testing.T, base string) string {
		sid := handshake(t, base)
		big := "4" + strings.Repeat("x", DefaultMaxPayload)
		return do(t, "POST", base+"?EIO=4&transport=polling&sid="+sid, big) + " | then " + afterwards(t, base, sid)
	}},
}

// TestHostileInputLikeNode sends each hostile request to the Node server
// and to netlab's, and wants the same answers; a client connected
// throughout keeps being served by both.
func TestHostileInputLikeNode(t *testing.T) {
	servers := map[string]string{"node": startNode(t), "netlab": startNetlab(t, ServerOptions{})}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bystanders := map[string]*Client{}
	for name, addr := range servers {
		c, err := Connect(ctx, addr, ClientOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer c.Close()
		bystanders[name] = c
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			node := p.run(t, "http://"+servers["node"]+"/socket.io/")
			netlab := p.run(t, "http://"+servers["netlab"]+"/socket.io/")
			if node != netlab {
				t.Errorf("netlab answered %q\n                 Node answers %q", netlab, node)
			}
			for name, c := range bystanders {
				if got, err := c.EmitWithAck(ctx, "echo", "still here"); err != nil || string(got[0]) != `"still here"` {
					t.Errorf("%s: a connected client's echo after %s: %s, %v", name, p.name, got, err)
				}
			}
		})
	}
}
