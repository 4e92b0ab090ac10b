package socketio

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// wsEnd joins the main namespace at addr on a raw Engine.IO WebSocket (a
// gorilla client), emits "kick" if kick, answers pings if pong, and
// returns how the server ended the WebSocket, as gorilla says it: "close
// 1006 (abnormal closure)" is a connection closed without a close frame.
// joined is closed once the server has answered CONNECT.
func wsEnd(t *testing.T, addr string, kick, pong bool, joined chan<- struct{}) string {
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Error(err)
		close(joined)
		return ""
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return strings.TrimPrefix(ce.Error(), "websocket: ")
		case err != nil:
			return err.Error()
		}
		switch p := string(b); {
		case strings.HasPrefix(p, "0{"): // Engine.IO open
			c.WriteMessage(websocket.TextMessage, []byte("40"))
		case strings.HasPrefix(p, "40"): // Socket.IO CONNECT answered
			close(joined)
			if kick {
				c.WriteMessage(websocket.TextMessage, []byte(`42["kick"]`))
			}
		case p == "2" && pong:
			c.WriteMessage(websocket.TextMessage, []byte("3"))
		}
	}
}

// startNetlabCloses serves a Server as testdata/js/closes.js serves Node's:
// a client that emits "kick" is disconnected by the server.
func startNetlabCloses(t *testing.T, opts ServerOptions) (string, *Server) {
	srv := NewServer(opts)
	srv.IO.On("connection", func(a ...any) {
		sock := a[0].(*socket.Socket)
		sock.On("kick", func(...any) { sock.Disconnect(true) })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return ln.Addr().String(), srv
}

// How a server ends a client's WebSocket, Node's socket.io next to
// netlab's: a close frame first (RFC 6455 7.1.1, 7.1.2), never a bare end
// of the connection (the library's engine sent none). Node's ws sends a
// close frame with no status code in each case; netlab does the same,
// except on shutdown, where it says 1001 (going away), which RFC 6455
// 7.4.1 gives for "a server going down", as netlab's other WebSocket doors
// do.
func TestServerClosesLikeNode(t *testing.T) {
	const noStatus = "close 1005 (no status)"
	for _, tc := range []struct {
		name         string
		ping         time.Duration // pingInterval and pingTimeout; 0: the defaults
		kick, pong   bool
		shutdown     bool
		node, netlab string
	}{
		{name: "the server disconnects the socket", kick: true, pong: true, node: noStatus, netlab: noStatus},
		{name: "ping timeout", ping: 200 * time.Millisecond, node: noStatus, netlab: noStatus},
		{name: "the server shuts down", pong: true, shutdown: true, node: noStatus, netlab: "close 1001 (going away): server shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if tc.ping > 0 {
				env = append(env, "PING_MS="+itoa(int(tc.ping.Milliseconds())))
			}
			nodeAddr, stdin := startNodeScript(t, "closes.js", env...)
			netlabAddr, srv := startNetlabCloses(t, ServerOptions{PingInterval: tc.ping, PingTimeout: tc.ping})
			for _, side := range []struct {
				name, addr, want string
				shutdown         func()
			}{
				{"Node", nodeAddr, tc.node, func() { io.WriteString(stdin, "close\n") }},
				{"netlab", netlabAddr, tc.netlab, srv.Close},
			} {
				joined := make(chan struct{})
				got := make(chan string, 1)
				go func() { got <- wsEnd(t, side.addr, tc.kick, tc.pong, joined) }()
				<-joined
				if tc.shutdown {
					side.shutdown()
				}
				if g := <-got; g != side.want {
					t.Errorf("%s: the client saw %q, want %q", side.name, g, side.want)
				}
			}
		})
	}
}
