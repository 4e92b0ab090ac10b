package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/httppoll"
	"github.com/netlab/netlab/transport/socketio"
	"github.com/netlab/netlab/transport/ws"
)

func init() { register(newChatCmd) }

func newChatCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Chat with rooms: one hub behind WebSocket, Socket.IO, SSE, HTTP long polling and TCP lines",
		Long: `A chat server with rooms, as Socket.IO defines them: every client sits in a
room named by its own random id, joins and leaves other rooms, and gets what
is broadcast to any of its rooms exactly once. Browsers, nc, curl, wscat and
'netlab chat join' share the same rooms.`,
		Example: `  netlab chat demo                                 # scripted bots, a few seconds
  netlab chat serve --listen 0.0.0.0:8080          # a classroom server
  netlab chat join 127.0.0.1:8080 --name ada --room math`,
	}
	cmd.AddCommand(newChatServeCmd(a), newChatJoinCmd(a), newChatDemoCmd(a), newChatBenchCmd(a))
	return cmd
}

// chatWSOptions are the WebSocket options of the chat server: messages are
// short chat lines, so frames are limited far below the transport default.
var chatWSOptions = ws.Options{MaxMessage: 4 << 10}

// chatPollOptions are the long-polling options of the chat server and of
// 'netlab chat join --via poll'.
var chatPollOptions = httppoll.Options{Mode: httppoll.Long, MaxMessage: 4 << 10, MaxBody: 64 << 10}

// chatHTTPDoors builds the server side of the HTTP doors.
func chatHTTPDoors() []chat.HTTPDoor {
	wsSrv := ws.NewServer(chatWSOptions)
	pollSrv := httppoll.NewServer(chatPollOptions)
	return []chat.HTTPDoor{
		{Name: "ws", Path: "/ws", Handler: wsSrv, Accept: wsSrv, Close: wsSrv.Close},
		{Name: "poll", Path: httppoll.DefaultPrefix, Handler: pollSrv, Accept: pollSrv, Close: pollSrv.Close},
		chatSSEDoor(), // chat_sse.go
		chatSocketIODoor(),
	}
}

// chatDialers builds the client side of the HTTP doors.
func chatDialers() []chat.Dialer {
	return []chat.Dialer{
		{Name: "ws", Dial: func(ctx context.Context, s *chat.Server) (transport.Conn, error) {
			c, err := ws.Dial(ctx, "ws://"+s.HTTPAddr.String()+"/ws", chatWSOptions)
			if err != nil {
				return nil, err // not a nil *Conn inside the interface
			}
			return c, nil
		}},
		{Name: "poll", Dial: func(ctx context.Context, s *chat.Server) (transport.Conn, error) {
			c, err := httppoll.Dial(ctx, s.HTTPAddr.String(), chatPollOptions)
			if err != nil {
				return nil, err // not a nil *Conn inside the interface
			}
			return c, nil
		}},
	}
}

func newChatServeCmd(a *app) *cobra.Command {
	var listen, lines string
	var queue, maxConns int
	var adapterKind, natsURL, redisURL, serverID string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the chat page, WebSocket and long-polling endpoints, and a TCP line port",
		Long: `Serve a chat until Ctrl-C: the page at http://LISTEN/ (a browser uses
WebSocket, or long polling when WebSocket is unavailable), the WebSocket
endpoint /ws (wscat), the long-polling endpoints (curl), and a TCP port for
nc where each line is a message or a command (/help lists them).

Every client starts in the room "lobby". Pass --listen 0.0.0.0:8080 to let
other machines in (a classroom).

Several servers share one set of rooms through a broker, as Socket.IO's
adapters do: --adapter nats (with --nats URL; 'netlab cluster broker' runs
one) or --adapter redis (with --redis URL). Each server publishes its
broadcasts to the broker and delivers what the others publish to its own
clients. See 'netlab docs cluster'.`,
		Example: `  term1$ netlab chat serve --listen 0.0.0.0:8080      # nc door on 0.0.0.0:7500
  term2$ nc 127.0.0.1 7500
  term3$ wscat -c ws://127.0.0.1:8080/ws

  # two servers sharing rooms through NATS
  term1$ netlab cluster broker --listen 127.0.0.1:4222
  term2$ netlab chat serve --listen 127.0.0.1:8080 --tcp 127.0.0.1:8081 --adapter nats --nats nats://127.0.0.1:4222
  term3$ netlab chat serve --listen 127.0.0.1:9080 --tcp 127.0.0.1:9081 --adapter nats --nats nats://127.0.0.1:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if queue < 1 {
				return usagef("--queue must be >= 1, got %d", queue)
			}
			if maxConns < 0 {
				return usagef("--max-conns must be >= 0 (0: the fd limit less an eighth), got %d", maxConns)
			}
			if err := cluster.CheckKind(adapterKind); err != nil {
				return usagef("--adapter: %v", err)
			}
			log := newServerLog(a.out, quiet) // serverlog.go
			if !cmd.Flags().Changed("tcp") {  // the nc door follows --listen's host
				lines = followHost(listen, chatLinesPort)
			}
			ctx := cmd.Context()
			if serverID == "" {
				serverID = cluster.NewServerID()
			}
			ad, err := cluster.OpenAdapter(ctx, cluster.AdapterConfig{Kind: adapterKind, NATSURL: natsURL, RedisURL: redisURL, ServerID: serverID})
			if err != nil {
				return err
			}
			shared := ""
			if adapterKind != cluster.KindNone && adapterKind != "local" {
				shared = adapterKind
			}
			res, err := chat.Serve(ctx, chat.ServeOptions{
				Server: chat.ServerConfig{Listen: listen, Lines: lines, Doors: chatHTTPDoors(), MaxConns: maxConns,
					Logf: func(format string, args ...any) { fmt.Fprintf(a.errOut, "netlab: "+format+"\n", args...) },
					Hub: chat.Config{SendQueue: queue, ServerID: serverID, Adapter: ad, Log: log.chatEvent, Disconnecting: func(m chat.Member, rooms []string, reason error) {
						if errors.Is(reason, chat.ErrSlowConsumer) { // the instructor wants to know
							fmt.Fprintf(a.errOut, "disconnected %s (%s, %s): %v\n", m.Name, m.Door, m.ID, reason)
						} else {
							log.chatLeft(m, reason) // serverlog.go
						}
					}}},
				Listening: func(s *chat.Server) { chat.WriteServing(a.out, s, serverID, shared) },
			})
			if !res.Started {
				return bindError(err, "--listen", listen, "--tcp", lines) // dialhint.go
			}
			if werr := res.WriteText(a.out); werr != nil {
				return werr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP address: the page, /ws and the polling endpoints")
	cmd.Flags().StringVar(&lines, "tcp", "127.0.0.1:"+chatLinesPort, "TCP line address for nc (\"\" to turn off; default: the host of --listen, port "+chatLinesPort+")")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no line per client connecting, joining, leaving, disconnecting")
	cmd.Flags().IntVar(&queue, "queue", chat.DefaultSendQueue, "messages queued per client before a slow client is disconnected")
	cmd.Flags().IntVar(&maxConns, "max-conns", 0, "open connections at most, HTTP and nc together; more are refused (0: the fd limit less an eighth)")
	cmd.Flags().StringVar(&adapterKind, "adapter", cluster.KindNone, "share rooms with other servers: none, nats or redis")
	cmd.Flags().StringVar(&natsURL, "nats", "nats://127.0.0.1:4222", "NATS server for --adapter nats")
	cmd.Flags().StringVar(&redisURL, "redis", "redis://127.0.0.1:6379", "Redis server for --adapter redis")
	cmd.Flags().StringVar(&serverID, "id", "", "this server's name in the cluster (default: host name and a random suffix)")
	return cmd
}

func newChatJoinCmd(a *app) *cobra.Command {
	var name, room, via string
	var latency bool
	cmd := &cobra.Command{
		Use:   "join [ADDR]",
		Short: "Join a chat server from the terminal",
		Long: `Join a chat server (default 127.0.0.1:8080) and chat from the terminal: each
line you type goes to your room; /help lists the commands. --via poll uses
HTTP long polling instead of WebSocket; --via socketio uses the Socket.IO
door (/socket.io/, polling then the upgrade to WebSocket, as the JS client
does); --via tcp uses the TCP line port (default address 127.0.0.1:7500).
--latency shows how long each message took from the server taking it to your
terminal (exact when server and client share a clock, e.g. same machine).`,
		Example: `  netlab chat join --name ada --room math
  netlab chat join 192.168.1.20:8080 --name ada --room math --latency
  echo "hello" | netlab chat join --name bot --room lobby`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if via != "ws" && via != "poll" && via != "socketio" && via != "tcp" {
				return usagef("--via must be ws, poll, socketio or tcp, got %q", via)
			}
			if err := chat.CheckNick(name); name != "" && err != nil {
				return usagef("--name: %v", err)
			}
			if err := chat.CheckRoom(room); err != nil {
				return usagef("--room: %v", err)
			}
			addr := "127.0.0.1:8080"
			if via == "tcp" {
				addr = "127.0.0.1:" + chatLinesPort
			}
			if len(args) == 1 {
				addr = args[0]
			}
			ctx := cmd.Context()
			var c transport.Conn
			var err error
			switch via {
			case "tcp":
				c, err = chat.DialLines(ctx, addr)
			case "poll":
				c, err = httppoll.Dial(ctx, addr, chatPollOptions)
			case "socketio":
				c, err = socketio.New(socketio.Options{}).Dial(ctx, addr) // chat_socketio.go
			default:
				u := addr
				if !strings.Contains(u, "://") {
					u = "ws://" + addr + "/ws"
				}
				c, err = ws.Dial(ctx, u, chatWSOptions)
			}
			if err != nil && via != "tcp" && strings.Contains(err.Error(), "malformed HTTP") { // dialhint.go
				return fmt.Errorf("chat join %s: that port answers, but not with HTTP (it sent %s): is it the nc door of 'netlab chat serve'? Join it with --via tcp, or give the HTTP port (8080 by default)", addr, answerOf(err.Error()))
			}
			if err != nil {
				return fmt.Errorf("chat join: %w (is 'netlab chat serve' running there?)", err)
			}
			defer c.Close()
			return chat.Join(ctx, c, chat.JoinOptions{Name: name, Room: room, Latency: latency, In: a.in, Out: a.out})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "your name (letters, digits, - _ .)")
	cmd.Flags().StringVar(&room, "room", chat.DefaultRoom, "room to join")
	cmd.Flags().StringVar(&via, "via", "ws", "door to use: ws, poll (HTTP long polling), socketio or tcp")
	cmd.Flags().BoolVar(&latency, "latency", false, "show how long each message took to reach you")
	return cmd
}

func newChatDemoCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Scripted bots in a few rooms over different doors: who received what, and when",
		Long: `Start a chat server on 127.0.0.1 and four bots connected through different
doors (WebSocket, HTTP long polling, TCP lines), then show step by step who received each
message and how long after it was sent: room targeting, the default (own id)
room, a union broadcast to several rooms, a broadcast to everyone, and
auto-leave when a client disconnects. Takes about three seconds.`,
		Example: "  netlab chat demo\n  netlab chat demo --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			started := time.Now()
			res, err := chat.Demo(cmd.Context(), chat.DemoConfig{Doors: chatHTTPDoors(), Dialers: chatDialers()})
			if asJSON {
				env := report.NewEnvelope("chat demo", started)
				env.Config = struct {
					Doors string `json:"doors"`
				}{res.Doors}
				env.Results = res.JSON()
				env.Interrupted = res.Interrupted
				if err != nil && !res.Interrupted {
					env.Errors = []string{err.Error()}
				}
				if jerr := env.Write(a.out); jerr != nil {
					return jerr
				}
				return err
			}
			if res.HTTPAddr != "" {
				if werr := res.WriteText(a.out); werr != nil {
					return werr
				}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document instead of the steps")
	return cmd
}
