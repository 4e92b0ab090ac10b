package quic

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
)

// Benchmarks on loopback, 64-byte messages. Run:
//
//	go test -run '^$' -bench . -benchtime 2000x ./transport/quic/

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

// BenchmarkEchoVsTCP reports the p50 round trip (client Send, server Recv
// and Send back, client Recv) over QUIC with one stream each way and over
// netlab's TCP transport, in alternating chunks of the same run (target:
// QUIC ≤ 3× TCP).
func BenchmarkEchoVsTCP(b *testing.B) {
	qc, qs, closeQ := pair(b, New(Options{}))
	defer closeQ()
	tc, ts, closeT := pair(b, tcp.New(tcp.Options{}))
	defer closeT()
	ctx := context.Background()
	echo := func(client, server transport.Conn, seq int) time.Duration {
		t0 := time.Now()
		if err := client.Send(ctx, transport.Message{Seq: uint64(seq), Data: payload}); err != nil {
			b.Fatal(err)
		}
		m, err := server.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := server.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
		if _, err := client.Recv(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var qd, td []time.Duration
	const chunk = 50
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		for i := range n {
			qd = append(qd, echo(qc, qs, done+i+1))
		}
		for i := range n {
			td = append(td, echo(tc, ts, done+i+1))
		}
	}
	b.StopTimer()
	qp, tp := stats.Percentile(qd, 50), stats.Percentile(td, 50)
	b.ReportMetric(float64(qp.Nanoseconds())/1000, "quic-p50-µs")
	b.ReportMetric(float64(tp.Nanoseconds())/1000, "tcp-p50-µs")
	b.ReportMetric(float64(qp)/float64(tp), "quic/tcp")
	b.ReportMetric(0, "ns/op")
}
