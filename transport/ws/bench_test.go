package ws

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
)

// The benchmarks compare netlab's WebSocket transport with netlab's raw TCP
// transport and with a bare gorilla/websocket echo written here, all on
// loopback with 64-byte messages. Run:
//
//	go test -run '^$' -bench . -benchtime 5000x ./transport/ws/
//
// Implementations take turns in chunks of round trips, so a burst of load
// from other processes hits all of them alike.

var payload = bytes.Repeat([]byte("x"), 64)

// roundTripper does one echo round trip.
type roundTripper interface {
	roundTrip() error
	close()
}

// netlabEcho is a client Conn of tr whose server echoes every message.
type netlabEcho struct {
	ln     transport.Listener
	client transport.Conn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    uint64
}

func newNetlabEcho(b *testing.B, tr transport.Transport) *netlabEcho {
	e := &netlabEcho{}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	ln, err := tr.Listen(e.ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e.ln = ln
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		c, err := ln.Accept(e.ctx)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv(e.ctx)
			if err != nil || c.Send(e.ctx, m) != nil {
				return
			}
		}
	}()
	if e.client, err = tr.Dial(e.ctx, ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *netlabEcho) roundTrip() error {
	e.seq++
	if err := e.client.Send(e.ctx, transport.Message{Seq: e.seq, Event: "echo", Data: payload}); err != nil {
		return err
	}
	_, err := e.client.Recv(e.ctx)
	return err
}

func (e *netlabEcho) close() {
	e.client.Close()
	e.cancel()
	e.ln.Close()
	e.wg.Wait()
}

// bareEcho is a gorilla/websocket echo with nothing of netlab: the server
// loops ReadMessage/WriteMessage, the client writes and reads in turn.
type bareEcho struct {
	hs     *http.Server
	ln     net.Listener
	client *websocket.Conn
	done   chan struct{}
}

func newBareEcho(b *testing.B) *bareEcho {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &bareEcho{ln: ln, done: make(chan struct{})}
	var up websocket.Upgrader
	var conns sync.WaitGroup
	e.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns.Add(1)
		defer conns.Done()
		defer c.Close()
		for {
			mt, p, err := c.ReadMessage()
			if err != nil || c.WriteMessage(mt, p) != nil {
				return
			}
		}
	})}
	go func() { e.hs.Serve(ln); conns.Wait(); close(e.done) }()
	if e.client, _, err = websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/", nil); err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *bareEcho) roundTrip() error {
	if err := e.client.WriteMessage(websocket.TextMessage, payload); err != nil {
		return err
	}
	_, _, err := e.client.ReadMessage()
	return err
}

func (e *bareEcho) close() {
	e.client.Close()
	e.hs.Close()
	<-e.done
}

// bareTCPEcho is a Go TCP echo with nothing of netlab: no framing,
// TCP_NODELAY (Go's default), one Write and one ReadFull per side.
type bareTCPEcho struct {
	ln     net.Listener
	client net.Conn
	buf    []byte
	done   chan struct{}
}

func newBareTCPEcho(b *testing.B) *bareTCPEcho {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &bareTCPEcho{ln: ln, buf: make([]byte, len(payload)), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, len(payload))
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	if e.client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *bareTCPEcho) roundTrip() error {
	if _, err := e.client.Write(payload); err != nil {
		return err
	}
	_, err := io.ReadFull(e.client, e.buf)
	return err
}

func (e *bareTCPEcho) close() {
	e.client.Close()
	e.ln.Close()
	<-e.done
}

// pumpTCPEcho is bareTCPEcho with netlab's shape and nothing else of
// netlab: on each side a read-pump goroutine reads every message and hands
// it over a channel to the goroutine that answers (the server) or waits
// (the client). Against bareTCPEcho it shows what the hand-offs alone cost.
type pumpTCPEcho struct {
	ln     net.Listener
	client net.Conn
	in     chan []byte
	done   chan struct{}
}

// readPump reads 64-byte messages from c into out until c fails.
func readPump(c net.Conn, out chan<- []byte) {
	defer close(out)
	for {
		buf := make([]byte, len(payload))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		out <- buf
	}
}

func newPumpTCPEcho(b *testing.B) *pumpTCPEcho {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := &pumpTCPEcho{ln: ln, in: make(chan []byte, tcp.ReadAhead), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		in := make(chan []byte, tcp.ReadAhead)
		go readPump(c, in)
		for m := range in {
			if _, err := c.Write(m); err != nil {
				return
			}
		}
	}()
	if e.client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	go readPump(e.client, e.in)
	return e
}

func (e *pumpTCPEcho) roundTrip() error {
	if _, err := e.client.Write(payload); err != nil {
		return err
	}
	if _, ok := <-e.in; !ok {
		return io.EOF
	}
	return nil
}

func (e *pumpTCPEcho) close() {
	e.client.Close()
	e.ln.Close()
	<-e.done
}

// p50 is the median of samples (the 50th percentile).
func p50(samples []time.Duration) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkEchoRTT reports the p50 round trip of netlab ws, bare gorilla,
// netlab tcp, a bare Go TCP echo and that echo with read pumps (pump-tcp),
// taking turns in one run, and the ratios issue 13 sets a floor for:
// ws/bare-ws ≤ 1.25, tcp/bare-tcp ≤ 1.25. pump-tcp/bare-tcp is what the
// shape's two hand-offs per round trip cost by themselves; the rest of
// tcp/bare-tcp is netlab's work on each message (mostly the JSON codec).
// Run it at one and at two Ps:
//
//	go test -run '^$' -bench EchoRTT -benchtime 20000x -count 3 -cpu 1,2 ./transport/ws/
//
// transport/pump's package doc gives the measured causes.
func BenchmarkEchoRTT(b *testing.B) {
	impls := []struct {
		name string
		rt   roundTripper
		rec  []time.Duration
	}{
		{name: "ws", rt: newNetlabEcho(b, New(Options{}))},
		{name: "bare-ws", rt: newBareEcho(b)},
		{name: "tcp", rt: newNetlabEcho(b, tcp.New(tcp.Options{}))},
		{name: "bare-tcp", rt: newBareTCPEcho(b)},
		{name: "pump-tcp", rt: newPumpTCPEcho(b)},
	}
	defer func() {
		for _, im := range impls {
			im.rt.close()
		}
	}()
	for i := range impls { // warm up
		for range 200 {
			impls[i].rt.roundTrip()
		}
	}
	b.ResetTimer()
	const chunk = 50
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		for i := range impls {
			for range n {
				t0 := time.Now()
				if err := impls[i].rt.roundTrip(); err != nil {
					b.Fatal(err)
				}
				impls[i].rec = append(impls[i].rec, time.Since(t0))
			}
		}
	}
	b.StopTimer()
	med := map[string]float64{}
	for _, im := range impls {
		med[im.name] = float64(p50(im.rec).Nanoseconds()) / 1000
		b.ReportMetric(med[im.name], im.name+"-p50-µs")
	}
	b.ReportMetric(med["ws"]/med["bare-ws"], "ws/bare-ws")
	b.ReportMetric(med["tcp"]/med["bare-tcp"], "tcp/bare-tcp")
	b.ReportMetric(med["pump-tcp"]/med["bare-tcp"], "pump-tcp/bare-tcp")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEchoThroughput keeps 64 messages in flight and reports messages
// per second for netlab ws and bare gorilla.
func BenchmarkEchoThroughput(b *testing.B) {
	const inFlight = 64
	var wsRate, bareRate []float64
	const rounds = 4
	per := max(b.N/rounds, 1000)
	for range rounds {
		e := newNetlabEcho(b, New(Options{}))
		wsRate = append(wsRate, keepInFlight(b, per, inFlight,
			func(i int) error {
				return e.client.Send(e.ctx, transport.Message{Seq: uint64(i), Event: "echo", Data: payload})
			},
			func() error { _, err := e.client.Recv(e.ctx); return err }))
		e.close()
		be := newBareEcho(b)
		bareRate = append(bareRate, keepInFlight(b, per, inFlight,
			func(int) error { return be.client.WriteMessage(websocket.TextMessage, payload) },
			func() error { _, _, err := be.client.ReadMessage(); return err }))
		be.close()
	}
	ws, bare := median(wsRate), median(bareRate)
	b.ReportMetric(ws, "ws-msg/s")
	b.ReportMetric(bare, "bare-msg/s")
	b.ReportMetric(ws/bare, "ws/bare")
	b.ReportMetric(0, "ns/op")
}

// keepInFlight sends n messages with at most inFlight unanswered and returns
// replies per second.
func keepInFlight(b *testing.B, n, inFlight int, send func(int) error, recv func() error) float64 {
	tokens := make(chan struct{}, inFlight)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		for i := range n {
			tokens <- struct{}{}
			if err := send(i); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range n {
		if err := recv(); err != nil {
			b.Fatal(err)
		}
		<-tokens
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
