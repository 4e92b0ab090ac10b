package socketio

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/ws"
)

// BenchmarkJSAckRoundTrip: the real socket.io-client's ack round trip
// (emit "echo" with an ack, over WebSocket) against netlab's server and
// against the Node socket.io server, in alternating rounds of 2000; reports
// each server's median p50 and their ratio (netlab / node: below 1 means
// netlab's server answered sooner).
//
//	go test -run '^$' -bench JSAckRoundTrip -benchtime 1x ./transport/socketio/
func BenchmarkJSAckRoundTrip(b *testing.B) {
	dir := jsDirB(b)
	servers := map[string]string{"netlab": startNetlabB(b, ServerOptions{}), "node": startNodeB(b)}
	p50 := map[string][]float64{}
	for range b.N {
		for round := 0; round < 3; round++ {
			for _, name := range []string{"netlab", "node"} {
				out, err := exec.Command("node", dir+"/bench.js", "http://"+servers[name], "2000", "websocket").Output()
				if err != nil {
					b.Fatalf("bench.js against %s: %v", name, err)
				}
				var r struct {
					P50 float64 `json:"p50_us"`
				}
				if err := json.Unmarshal(out, &r); err != nil {
					b.Fatalf("bench.js printed %q", out)
				}
				p50[name] = append(p50[name], r.P50)
			}
		}
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	n, o := med(p50["netlab"]), med(p50["node"])
	b.ReportMetric(n, "netlab-p50-µs")
	b.ReportMetric(o, "node-p50-µs")
	b.ReportMetric(n/o, "netlab/node")
}

// BenchmarkGoClientVsWebSocket: one round trip of netlab's Go client
// (EmitWithAck "echo", over WebSocket) against netlab's Socket.IO server,
// and, in the same run, one round trip of netlab's raw WebSocket transport
// against an echo loop; reports both and the ratio (the goal: within 1.5×).
//
//	go test -run '^$' -bench GoClientVsWebSocket -benchtime 5000x ./transport/socketio/
func BenchmarkGoClientVsWebSocket(b *testing.B) {
	ctx := context.Background()
	addr := startNetlabB(b, ServerOptions{})
	c, err := Connect(ctx, addr, ClientOptions{Transports: []string{WebSocket}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	tr := ws.New(ws.Options{})
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
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
	defer wc.Close()

	sio := func() {
		if _, err := c.EmitWithAck(ctx, "echo", "ping"); err != nil {
			b.Fatal(err)
		}
	}
	raw := func() {
		if err := wc.Send(ctx, transport.Message{Seq: 1, Data: []byte("ping")}); err != nil {
			b.Fatal(err)
		}
		if _, err := wc.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 { // warm up both
		sio()
		raw()
	}
	var tSIO, tRaw time.Duration
	b.ResetTimer()
	for range b.N { // alternate, so load affects both alike
		t0 := time.Now()
		sio()
		t1 := time.Now()
		raw()
		tSIO += t1.Sub(t0)
		tRaw += time.Since(t1)
	}
	b.ReportMetric(float64(tSIO.Microseconds())/float64(b.N), "socketio-µs/rt")
	b.ReportMetric(float64(tRaw.Microseconds())/float64(b.N), "ws-µs/rt")
	b.ReportMetric(float64(tSIO)/float64(tRaw), "socketio/ws")
}

// BenchmarkGoClientVsBareEngineIO splits BenchmarkGoClientVsWebSocket's
// gap: netlab's Go client (EmitWithAck "echo") against a bare gorilla
// WebSocket that writes 421["echo","ping"] and reads frames until the
// 431[...] ack, both against the same netlab server, alternating. The ratio
// is what the Go client adds above the wire; the rest of the gap to raw
// WebSocket is the server's (the library hands each event to a task queue
// and each write to a write queue: two goroutine wake-ups a round trip).
//
//	go test -run '^$' -bench GoClientVsBareEngineIO -benchtime 5000x ./transport/socketio/
func BenchmarkGoClientVsBareEngineIO(b *testing.B) {
	ctx := context.Background()
	addr := startNetlabB(b, ServerOptions{})
	c, err := Connect(ctx, addr, ClientOptions{Transports: []string{WebSocket}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bare, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	// Until the first ack: frames whose data starts with want (the open
	// packet 0{...}, then 40{...} and the welcome event, then pings are
	// read and skipped on the way).
	readUntil := func(want string) {
		for {
			_, m, err := bare.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(string(m), want) {
				return
			}
		}
	}
	readUntil("0")
	if err := bare.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		b.Fatal(err)
	}
	readUntil("40")
	frame := []byte(`421["echo","ping"]`)
	raw := func() {
		if err := bare.WriteMessage(websocket.TextMessage, frame); err != nil {
			b.Fatal(err)
		}
		readUntil("431[")
	}
	sio := func() {
		if _, err := c.EmitWithAck(ctx, "echo", "ping"); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 {
		sio()
		raw()
	}
	var tSIO, tRaw time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		sio()
		t1 := time.Now()
		raw()
		tSIO += t1.Sub(t0)
		tRaw += time.Since(t1)
	}
	b.ReportMetric(float64(tSIO.Microseconds())/float64(b.N), "goclient-µs/rt")
	b.ReportMetric(float64(tRaw.Microseconds())/float64(b.N), "bare-µs/rt")
	b.ReportMetric(float64(tSIO)/float64(tRaw), "goclient/bare")
}
