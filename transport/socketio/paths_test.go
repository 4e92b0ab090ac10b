package socketio

import (
	"context"
	"net"
	"net/http"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/ws"
)

// The benchmarks in this file split the gap between netlab's Go client
// against netlab's server and a raw WebSocket echo, path by path, all in
// one process (client and server share the machine's cores, as in the
// labs). The paths, each one round trip of a 4-byte "ping":
//
//	netlab       netlab's Client (EmitWithAck "echo") -> netlab's Server
//	             with ServeRooms, as `netlab socketio serve` runs it
//	lib          netlab's Client -> the library's server with default
//	             options and one handler: "echo" acks its arguments
//	bare-netlab  a hand-rolled client (one gorilla conn: write
//	             421["echo","ping"], read frames until 431[) -> netlab's Server
//	bare-lib     the hand-rolled client -> the library's server
//	ws           netlab's ws transport (Send, Recv) -> a ws echo loop:
//	             the anchor of the 1.5x goal
//	gorilla      a gorilla conn (WriteMessage, ReadMessage) -> a gorilla
//	             echo loop (ReadMessage, WriteMessage), nothing else
//
// lib and bare-lib keep the real library and the real protocol; the
// difference between netlab and lib is netlab's server wrapper, between
// lib and bare-lib netlab's client.

// benchPaths starts every path and returns one round trip of each, by name,
// in the order above.
func benchPaths(b *testing.B) (names []string, rt map[string]func()) {
	ctx := context.Background()
	netlab := startNetlabB(b, ServerOptions{})
	lib := startLibEcho(b)
	rt = map[string]func(){
		"netlab":      goClientRT(b, netlab),
		"lib":         goClientRT(b, lib),
		"bare-netlab": bareClientRT(b, netlab),
		"bare-lib":    bareClientRT(b, lib),
		"ws":          wsEchoRT(b, ctx),
		"gorilla":     gorillaEchoRT(b),
	}
	return []string{"netlab", "lib", "bare-netlab", "bare-lib", "ws", "gorilla"}, rt
}

// startLibEcho serves the library's Socket.IO server, default options,
// with an "echo" handler that acks its arguments, on 127.0.0.1:0.
func startLibEcho(b *testing.B) string {
	io := socket.NewServer(nil, nil)
	io.On("connection", func(a ...any) {
		sock := a[0].(*socket.Socket)
		sock.On("echo", func(args ...any) {
			if ack, ok := lastAck(args); ok {
				ack(args[:len(args)-1], nil)
			}
		})
	})
	return serveB(b, io.ServeHandler(nil), func() { io.Close(nil) })
}

func serveB(b *testing.B, h http.Handler, stop func()) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	b.Cleanup(func() {
		stop()
		hs.Close()
	})
	return ln.Addr().String()
}

// goClientRT: netlab's Client over WebSocket, EmitWithAck "echo".
func goClientRT(b *testing.B, addr string) func() {
	ctx := context.Background()
	c, err := Connect(ctx, addr, ClientOptions{Transports: []string{WebSocket}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return func() {
		if _, err := c.EmitWithAck(ctx, "echo", "ping"); err != nil {
			b.Fatal(err)
		}
	}
}

// bareClientRT: the least a client can do: one gorilla conn, the Engine.IO
// open and the Socket.IO CONNECT by hand, then per round trip one frame
// out and frames in until the ack (a ping or the welcome event on the way
// is read and skipped).
func bareClientRT(b *testing.B, addr string) func() {
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	readUntil := func(want string) {
		for {
			_, m, err := conn.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(string(m), want) {
				return
			}
		}
	}
	readUntil("0")
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		b.Fatal(err)
	}
	readUntil("40")
	frame := []byte(`421["echo","ping"]`)
	return func() {
		if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			b.Fatal(err)
		}
		readUntil("431[")
	}
}

// wsEchoRT: netlab's ws transport, Send then Recv, against a loop that
// sends back what it receives.
func wsEchoRT(b *testing.B, ctx context.Context) func() {
	tr := ws.New(ws.Options{})
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			sc, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				for {
					m, err := sc.Recv(ctx)
					if err != nil || sc.Send(ctx, m) != nil {
						return
					}
				}
			}()
		}
	}()
	wc, err := tr.Dial(ctx, ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { wc.Close() })
	return func() {
		if err := wc.Send(ctx, transport.Message{Seq: 1, Data: []byte("ping")}); err != nil {
			b.Fatal(err)
		}
		if _, err := wc.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// gorillaEchoRT: gorilla alone, both ends, one goroutine each.
func gorillaEchoRT(b *testing.B) func() {
	up := websocket.Upgrader{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			t, m, err := conn.ReadMessage()
			if err != nil || conn.WriteMessage(t, m) != nil {
				return
			}
		}
	})
	addr := serveB(b, h, func() {})
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/socket.io/", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ping := []byte("ping")
	return func() {
		if err := conn.WriteMessage(websocket.TextMessage, ping); err != nil {
			b.Fatal(err)
		}
		if _, _, err := conn.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSocketIOPaths times every path in one run, alternating one
// round trip of each so that load falls on all alike, and reports each
// path's mean round trip and its ratio to ws (the raw netlab WebSocket
// echo, the anchor of the goal "netlab within 1.5x of ws").
//
//	go test -run '^$' -bench SocketIOPaths -benchtime 5000x -count 5 ./transport/socketio/
func BenchmarkSocketIOPaths(b *testing.B) {
	names, rt := benchPaths(b)
	for range 200 { // warm up
		for _, n := range names {
			rt[n]()
		}
	}
	total := make([]time.Duration, len(names))
	b.ResetTimer()
	for range b.N {
		for i, n := range names {
			t0 := time.Now()
			rt[n]()
			total[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	anchor := total[indexOf(names, "ws")]
	for i, n := range names {
		b.ReportMetric(float64(total[i].Nanoseconds())/1e3/float64(b.N), n+"-µs/rt")
		if n != "ws" {
			b.ReportMetric(float64(total[i])/float64(anchor), n+"/ws")
		}
	}
}

// BenchmarkSocketIOPath runs one path at a time and counts, per round
// trip, what the whole process (client and server) did: goroutines
// created and heap allocations (runtime/metrics). For system calls, run
// one path under strace -c -f with two -benchtime values and subtract.
//
//	go test -run '^$' -bench 'SocketIOPath$' -benchtime 5000x ./transport/socketio/
func BenchmarkSocketIOPath(b *testing.B) {
	names, rt := benchPaths(b)
	for _, n := range names {
		b.Run(n, func(b *testing.B) {
			for range 200 {
				rt[n]()
			}
			s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}, {Name: "/gc/heap/allocs:objects"}}
			metrics.Read(s)
			g0, a0 := s[0].Value.Uint64(), s[1].Value.Uint64()
			b.ResetTimer()
			for range b.N {
				rt[n]()
			}
			b.StopTimer()
			metrics.Read(s)
			b.ReportMetric(float64(s[0].Value.Uint64()-g0)/float64(b.N), "goroutines/rt")
			b.ReportMetric(float64(s[1].Value.Uint64()-a0)/float64(b.N), "allocs/rt")
		})
	}
}

func indexOf(names []string, n string) int {
	for i, m := range names {
		if m == n {
			return i
		}
	}
	return -1
}
