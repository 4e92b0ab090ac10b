package socketio

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"
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
// BenchmarkSocketIOPaths (paths_test.go) splits the gap.
//
//	go test -run '^$' -bench GoClientVsWebSocket -benchtime 5000x ./transport/socketio/
func BenchmarkGoClientVsWebSocket(b *testing.B) {
	sio := goClientRT(b, startNetlabB(b, ServerOptions{}))
	raw := wsEchoRT(b, context.Background())
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
