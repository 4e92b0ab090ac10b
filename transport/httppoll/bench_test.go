package httppoll

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// Benchmarks for event delivery from server to client, 64-byte messages on
// loopback. Run:
//
//	go test -run '^$' -bench . -benchtime 1000x ./transport/httppoll/

var payload = bytes.Repeat([]byte("x"), 64)

// netlabPair is a connected client and server Conn of tr.
func netlabPair(b *testing.B, tr transport.Transport) (client, server transport.Conn, closeAll func()) {
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

// bareLongPoll is a long poll with nothing but net/http: the handler waits
// for the next event on a channel and writes it; the client loops on GET.
type bareLongPoll struct {
	events chan []byte
	got    chan []byte
	hs     *http.Server
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func newBareLongPoll(b *testing.B) *bareLongPoll {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &bareLongPoll{events: make(chan []byte), got: make(chan []byte, 1)}
	p.hs = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case e := <-p.events:
			w.Write(e)
		case <-time.After(25 * time.Second):
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	})}
	go p.hs.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	url := "http://" + ln.Addr().String() + "/poll"
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(body) > 0 {
				select {
				case p.got <- body:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return p
}

func (p *bareLongPoll) close() {
	p.stop()
	p.wg.Wait()
	p.hs.Close()
}

// BenchmarkLongPollDelivery reports the p50 time from the server's Send to
// the client's Recv for netlab's long polling and for the bare net/http long
// poll (target: netlab ≤ 1.5× bare). Events are 1 ms apart, so the client's
// next GET is waiting when each is sent.
func BenchmarkLongPollDelivery(b *testing.B) {
	client, server, closeAll := netlabPair(b, New(Options{Mode: Long}))
	defer closeAll()
	bare := newBareLongPoll(b)
	defer bare.close()
	ctx := context.Background()
	var netlab, plain []time.Duration
	const chunk = 20
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		for i := range n {
			time.Sleep(time.Millisecond)
			t0 := time.Now()
			if err := server.Send(ctx, transport.Message{Seq: uint64(done + i + 1), Event: "event", Data: payload}); err != nil {
				b.Fatal(err)
			}
			if _, err := client.Recv(ctx); err != nil {
				b.Fatal(err)
			}
			netlab = append(netlab, time.Since(t0))
		}
		for range n {
			time.Sleep(time.Millisecond)
			t0 := time.Now()
			bare.events <- payload
			<-bare.got
			plain = append(plain, time.Since(t0))
		}
	}
	b.StopTimer()
	np, bp := stats.Percentile(netlab, 50), stats.Percentile(plain, 50)
	b.ReportMetric(float64(np.Nanoseconds())/1000, "longpoll-p50-µs")
	b.ReportMetric(float64(bp.Nanoseconds())/1000, "bare-p50-µs")
	b.ReportMetric(float64(np)/float64(bp), "longpoll/bare")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkShortPollDelay sends b.N events at random times (Poisson, mean
// gap of half the poll interval, seed 1) and reports the mean delay from
// Send to Recv against the model taught to learners: half the poll
// interval (target: within 15%).
func BenchmarkShortPollDelay(b *testing.B) {
	const interval = 10 * time.Millisecond
	client, server, closeAll := netlabPair(b, New(Options{Mode: Short, PollInterval: interval}))
	defer closeAll()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	errc := make(chan error, 1)
	b.ResetTimer()
	go func() {
		for i := range b.N {
			time.Sleep(time.Duration(rng.ExpFloat64() * float64(interval/2)))
			if err := server.Send(ctx, transport.Message{Seq: uint64(i + 1), Sent: time.Now(), Data: payload}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	delays := make([]time.Duration, 0, b.N)
	for range b.N {
		m, err := client.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		delays = append(delays, time.Since(m.Sent))
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	mean := stats.Summarize(delays).Mean
	b.ReportMetric(float64(mean.Microseconds())/1000, "mean-delay-ms")
	b.ReportMetric(float64(interval.Microseconds())/2000, "half-interval-ms")
	b.ReportMetric(float64(mean)/float64(interval/2), "mean/half-interval")
	b.ReportMetric(0, "ns/op")
}
