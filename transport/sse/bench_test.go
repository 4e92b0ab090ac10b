package sse

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/ws"
)

// Benchmarks on loopback, 64-byte messages. Run:
//
//	go test -run '^$' -bench . -benchtime 2000x ./transport/sse/

var payload = bytes.Repeat([]byte("x"), 64)

func pair(b *testing.B, tr transport.Transport) (client, server transport.Conn, closeAll func()) {
	ctx := context.Background()
	ln, err := tr.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if client, err = tr.Dial(ctx, ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	if server, err = ln.Accept(ctx); err != nil {
		b.Fatal(err)
	}
	return client, server, func() { client.Close(); server.Close(); ln.Close() }
}

// BenchmarkPushVsWebSocket reports the p50 time from the server's Send to
// the client's Recv over SSE and over netlab's WebSocket transport, in
// alternating chunks of the same run (target: SSE ≤ 1.5× WebSocket).
// Events are 1 ms apart, so each finds an idle connection.
func BenchmarkPushVsWebSocket(b *testing.B) {
	sc, ss, closeSSE := pair(b, New(Options{}))
	defer closeSSE()
	wc, wsrv, closeWS := pair(b, ws.New(ws.Options{}))
	defer closeWS()
	ctx := context.Background()
	push := func(server, client transport.Conn, seq int) time.Duration {
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		if err := server.Send(ctx, transport.Message{Seq: uint64(seq), Event: "event", Data: payload}); err != nil {
			b.Fatal(err)
		}
		if _, err := client.Recv(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var sseD, wsD []time.Duration
	const chunk = 20
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		for i := range n {
			sseD = append(sseD, push(ss, sc, done+i+1))
		}
		for i := range n {
			wsD = append(wsD, push(wsrv, wc, done+i+1))
		}
	}
	b.StopTimer()
	sp, wp := stats.Percentile(sseD, 50), stats.Percentile(wsD, 50)
	b.ReportMetric(float64(sp.Nanoseconds())/1000, "sse-p50-µs")
	b.ReportMetric(float64(wp.Nanoseconds())/1000, "ws-p50-µs")
	b.ReportMetric(float64(sp)/float64(wp), "sse/ws")
	b.ReportMetric(0, "ns/op")
}
