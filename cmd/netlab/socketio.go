package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/socketio"
)

func init() {
	transportBuilders["socketio"] = func(o *transportOptions) transport.Transport {
		return socketio.New(socketio.Options{Transports: o.socketio.list()})
	}
	register(newSocketIOCmd)
}

// socketioTransports is --socketio-transports: what the Socket.IO client
// tries, as the JS client's transports option.
type socketioTransports []string

func (t *socketioTransports) list() []string {
	if len(*t) == 0 {
		return []string{socketio.Polling, socketio.WebSocket}
	}
	return *t
}

func (t *socketioTransports) String() string { return strings.Join(t.list(), ",") }
func (t *socketioTransports) Type() string   { return "list" }
func (t *socketioTransports) Set(s string) error {
	l, err := socketio.ParseTransports(s)
	if err != nil {
		return err
	}
	*t = l
	return nil
}

func addSocketIOFlags(fs *pflag.FlagSet, o *transportOptions) {
	fs.Var(&o.socketio, "socketio-transports", "socketio: what the client tries: polling, websocket, or polling,websocket (poll, then upgrade)")
}

const socketioDefaultListen = "127.0.0.1:3000"

// socketio serve's HTTP limits: request headers arrive within
// socketioReadHeaderTimeout; a connection with no request is kept
// socketioIdleTimeout (Node's keepAliveTimeout).
const (
	socketioReadHeaderTimeout = 10 * time.Second
	socketioIdleTimeout       = 5 * time.Second
)

func newSocketIOCmd(a *app) *cobra.Command {
	group := newGroupCmd(a, transportGroup{
		name:  "socketio",
		short: "Socket.IO labs: the real protocol (Engine.IO v4, Socket.IO v5), polling then WebSocket",
		long: `Socket.IO is a protocol on top of HTTP and WebSocket. Its lower layer,
Engine.IO, opens a session with an HTTP GET (long-polling: the open packet
gives the session id, the ping interval and the payload limit), then
upgrades it to a WebSocket (2probe, 3probe, 5); the server pings, the
client answers. Its upper layer, Socket.IO, carries named events
(42["chat","hi"]), acknowledgements (431["ok"]), rooms and namespaces.

'netlab socketio serve' runs a Socket.IO server (a Go port of the Node
server) with the chat lab's events, for the real socket.io-client and
browsers. echo and connect use netlab's own small Go client. Other labs
take --transports ...,socketio.`,
		defaultListen: socketioDefaultListen,
		build: func(o *transportOptions, _ bool) transport.Transport {
			return transportBuilders["socketio"](o)
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			if cmd.Name() != "serve" {
				addSocketIOFlags(cmd.Flags(), o)
			}
		},
	})
	for _, c := range group.Commands() {
		if c.Name() == "serve" {
			group.RemoveCommand(c)
		}
	}
	group.AddCommand(newSocketIOServeCmd(a), newSocketIODemoCmd(a))
	return group
}

func newSocketIODemoCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Three Socket.IO clients through every kind of emit, rooms, a disconnect and a recovery (a second)",
		Long: `Starts netlab's Socket.IO server (the events of 'netlab socketio serve') and
three clients, ada, bob and cy, on 127.0.0.1, and goes through: an emit from
a client with an ack, an emit to one socket, to a room, to everyone but the
sender, to everyone; rooms (every socket is in the room of its own id); a
disconnect leaving its rooms; a dropped connection that comes back
recovered. Each line says what each client received, as measured.`,
		Example: `  netlab socketio demo
  netlab socketio demo --json
  netlab docs socketio      # the walkthrough that explains each step`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			started := time.Now()
			steps, err := socketio.Demo(cmd.Context())
			interrupted := cmd.Context().Err() != nil
			if interrupted {
				err = nil // the steps that ran are the result; run exits 130
			}
			if asJSON {
				env := report.NewEnvelope("socketio demo", started)
				env.Results = socketioDemoJSON(steps)
				env.Interrupted = interrupted
				if err != nil {
					env.Errors = []string{err.Error()}
				}
				if jerr := env.Write(a.out); jerr != nil {
					return jerr
				}
				return err
			}
			for i, st := range steps {
				fmt.Fprintf(a.out, "%d. %s\n", i+1, st.Did)
				for _, n := range socketioDemoNames {
					got := st.Got[n]
					if got == "" {
						got = "-"
					}
					// One received item per line when they do not fit in one.
					if len(got) > 80 {
						got = strings.ReplaceAll(got, "; ", ";\n               ")
					}
					fmt.Fprintf(a.out, "     %-4s got: %s\n", n, got)
				}
				fmt.Fprintf(a.out, "   → %s\n", st.Note)
			}
			if interrupted {
				fmt.Fprintln(a.out, "\n(interrupted: the steps above are those that ran)")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document instead of the steps")
	return cmd
}

// socketioDemoNames are the demo's clients, in the order they are shown.
var socketioDemoNames = []string{"ada", "bob", "cy"}

// socketioDemoStepJSON is one step of 'netlab socketio demo --json'.
type socketioDemoStepJSON struct {
	Did      string                    `json:"did"`
	Received []socketioDemoReceiptJSON `json:"received"`
	Note     string                    `json:"note"`
}

// socketioDemoReceiptJSON is what one client received in a step: its
// events, in order; none is [].
type socketioDemoReceiptJSON struct {
	Client string   `json:"client"`
	Events []string `json:"events"`
}

func socketioDemoJSON(steps []socketio.DemoStep) []socketioDemoStepJSON {
	out := []socketioDemoStepJSON{}
	for _, st := range steps {
		j := socketioDemoStepJSON{Did: st.Did, Note: st.Note, Received: []socketioDemoReceiptJSON{}}
		for _, n := range socketioDemoNames {
			j.Received = append(j.Received, socketioDemoReceiptJSON{Client: n, Events: append([]string{}, st.Events[n]...)})
		}
		out = append(out, j)
	}
	return out
}

// socketioServeOptions are the flags of 'netlab socketio serve'.
type socketioServeOptions struct {
	listen       string
	recovery     time.Duration
	maxPayload   int64
	pingInterval time.Duration
	allowOrigins []string
	maxConns     int
}

func newSocketIOServeCmd(a *app) *cobra.Command {
	o := socketioServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Socket.IO server with the chat lab's events until Ctrl-C",
		Long: `Runs a Socket.IO server (Engine.IO v4 / Socket.IO v5, what the Node socket.io
4.x server speaks) at /socket.io/ with these events:

  echo ARGS...      the ack carries ARGS back (no ack: an "echo" event does)
  ask ARGS...       the server emits "question" ARGS to you with an ack, and
                    acks ask with your answer
  join ROOM         join a room (ack: your rooms; every socket is also in
  leave ROOM        the room named by its own id)
  rooms             ack: your rooms
  chat ROOM TEXT    to ROOM's members but you (socket.to(room).emit)
  broadcast TEXT    to everyone but you (socket.broadcast.emit)
  all TEXT          to everyone, you included (io.emit)

On connect the server sends "welcome" {id, transport, recovered}. Connection
state recovery is on: a client that comes back within --recovery gets its
id, its rooms and the broadcasts it missed. It listens on 127.0.0.1 unless
--listen names another address; browser pages from the same host and from
localhost may connect, others only with --allow-origin. Every event is
logged, one line each.`,
		Example: `  netlab socketio serve
  netlab socketio serve --listen 127.0.0.1:0 --recovery 30s
  netlab socketio serve --listen 0.0.0.0:3000 --allow-origin https://class.example.org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkHostPort(o.listen); err != nil {
				return usagef("bad --listen address %q: want HOST:PORT, for example %s", o.listen, socketioDefaultListen)
			}
			if o.recovery < 0 {
				return usagef("--recovery must be >= 0 (0 turns connection state recovery off), got %v", o.recovery)
			}
			if o.maxConns < 0 {
				return usagef("--max-conns must be >= 0 (0: the fd limit less an eighth), got %d", o.maxConns)
			}
			if o.maxPayload < 1024 {
				return usagef("--max-payload must be at least 1024 bytes, got %d", o.maxPayload)
			}
			return serveSocketIO(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.listen, "listen", "l", socketioDefaultListen, "address to listen on (HOST:PORT; port 0 picks a free one)")
	f.DurationVar(&o.recovery, "recovery", socketio.DefaultRecoveryWindow, "connection state recovery: maxDisconnectionDuration, how long a lost session is kept (0 turns recovery off)")
	f.Int64Var(&o.maxPayload, "max-payload", socketio.DefaultMaxPayload, "maxHttpBufferSize: the largest packet or polling body accepted, in bytes")
	f.DurationVar(&o.pingInterval, "ping-interval", socketio.DefaultPingInterval, "how often the server pings each client")
	f.StringSliceVar(&o.allowOrigins, "allow-origin", nil, "also accept browser pages from these origins (e.g. https://class.example.org), or * for any")
	f.IntVar(&o.maxConns, "max-conns", 0, "open connections at most; more are answered 503 (0: the fd limit less an eighth)")
	return cmd
}

func serveSocketIO(ctx context.Context, a *app, o socketioServeOptions) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen)
	if err != nil {
		return listenError(err, o.listen)
	}
	srv := socketio.NewServer(socketio.ServerOptions{
		MaxPayload:     o.maxPayload,
		PingInterval:   o.pingInterval,
		RecoveryWindow: o.recovery,
		NoRecovery:     o.recovery == 0,
		AllowOrigins:   o.allowOrigins,
	})
	var mu sync.Mutex
	events := 0
	socketio.ServeRooms(srv, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		events++
		fmt.Fprintf(a.out, "%s  %s\n", time.Now().Format("15:04:05.000"), line)
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, socketioPage)
	})
	// Node's http server: 16 KiB of headers (431 above), a kept-alive
	// connection closed after 5 s without a request. The accept loop
	// retries running out of descriptors and answers 503 over --max-conns.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: socketioReadHeaderTimeout, MaxHeaderBytes: 16 << 10, IdleTimeout: socketioIdleTimeout}
	capped := accept.Wrap(ln, accept.Config{Limit: accept.NewLimit(o.maxConns), Refusal: accept.HTTPFull,
		Logf: func(format string, args ...any) { fmt.Fprintf(a.errOut, "netlab: "+format+"\n", args...) }})
	served := make(chan error, 1)
	go func() { served <- hs.Serve(capped) }()

	addr := ln.Addr().String()
	recovery := "off"
	if o.recovery > 0 {
		recovery = "maxDisconnectionDuration " + o.recovery.String()
	}
	mu.Lock()
	fmt.Fprintf(a.out, `netlab socketio server on http://%[1]s/socket.io/ (Engine.IO v4, Socket.IO v5)
  connection state recovery: %[2]s; payload limit %[3]d bytes
Connect with the real JS client (npm install socket.io-client@4.8):
  node -e 'const s = require("socket.io-client").io("http://%[1]s");
    s.on("connect", () => s.emit("echo", "hi", (r) => { console.log("ack:", r); s.close(); }));'
or open http://%[1]s/ in a browser (the page loads socket.io-client from cdn.socket.io),
or see the protocol with curl: curl 'http://%[1]s/socket.io/?EIO=4&transport=polling'
   or netlab: netlab socketio connect %[1]s
Press Ctrl-C to stop.
`, addr, recovery, o.maxPayload)
	mu.Unlock()

	start := time.Now()
	select {
	case <-ctx.Done():
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			srv.Close()
			return err
		}
	}
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if hs.Shutdown(sctx) != nil {
		hs.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(a.out, "\nstopped after %s: %d events logged\n", time.Since(start).Round(time.Millisecond), events)
	return nil
}

// socketioPage is a small page that connects with the real JS client.
const socketioPage = `<!doctype html>
<meta charset="utf-8">
<title>netlab socketio</title>
<script src="https://cdn.socket.io/4.8.1/socket.io.min.js"></script>
<h1>netlab socketio</h1>
<p>Open the browser's developer tools (Network tab) to see the polling requests and the upgrade.</p>
<form id="f"><input id="room" value="lobby" size="8"> <input id="text" placeholder="message" autofocus> <button>send</button>
<button type="button" id="join">join</button></form>
<pre id="log"></pre>
<script>
const log = (...a) => { document.getElementById("log").textContent += a.map(x => typeof x === "string" ? x : JSON.stringify(x)).join(" ") + "\n"; };
const socket = io();
socket.on("connect", () => log("connect", socket.id, "over", socket.io.engine.transport.name, "recovered:", socket.recovered));
socket.io.engine.on("upgrade", (t) => log("upgrade to", t.name));
socket.on("disconnect", (r) => log("disconnect:", r));
socket.onAny((ev, ...args) => log("<-", ev, ...args));
const room = () => document.getElementById("room").value;
document.getElementById("join").onclick = () => socket.emit("join", room(), (rooms) => log("rooms:", rooms));
document.getElementById("f").onsubmit = (e) => { e.preventDefault(); socket.emit("chat", room(), document.getElementById("text").value); };
</script>
`
