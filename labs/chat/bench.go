package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// BenchConfig configures Bench, a load generator run against a chat server
// in another process.
type BenchConfig struct {
	Addr     string // the server's HTTP address (host:port)
	Clients  int    // idle WebSocket clients to hold open
	RoomSize int    // how many of them join the broadcast room
	Messages int    // broadcasts to send to the room
	Interval time.Duration
	// Dial opens one WebSocket client to the server.
	Dial func(ctx context.Context) (transport.Conn, error)
	// Progress, if not nil, counts the clients connected, then the
	// broadcasts sent.
	Progress *report.Progress
}

// BenchResult is what Bench measured.
type BenchResult struct {
	Clients           int           `json:"clients"`
	Connected         int           `json:"connected"` // clients connected (all, unless Ctrl-C came first)
	RoomSize          int           `json:"room_size"`
	Messages          int           `json:"messages"` // broadcasts sent
	ConnectTime       time.Duration `json:"-"`
	ConnectUs         float64       `json:"connect_us"`
	Delivered         int           `json:"delivered"`
	Missing           int           `json:"missing"`
	Latency           stats.Summary `json:"-"`
	FanoutPerSec      float64       `json:"fanout_msgs_per_s"`
	ServerSockets     int64         `json:"server_sockets"`
	ServerBytesBefore uint64        `json:"server_mem_before_bytes"`
	ServerBytesAfter  uint64        `json:"server_mem_after_bytes"`
	BytesPerConn      float64       `json:"server_mem_per_conn_bytes"`
	HeapPerConn       float64       `json:"server_heap_per_conn_bytes"`
	StackPerConn      float64       `json:"server_stack_per_conn_bytes"`
	ServerGoroutines  int           `json:"server_goroutines"`
	// PriorSockets is how many sockets the server held before the bench
	// connected: memory per connection counts only the new ones.
	PriorSockets int64           `json:"server_sockets_before"`
	Samples      []time.Duration `json:"-"`
	// SpreadUs is, per broadcast, the time from Send to its last delivery.
	SpreadUs []float64 `json:"spread_us"`
	// Interrupted reports whether Ctrl-C (ctx) stopped the bench early:
	// the figures are what was measured until then (the envelope says so).
	Interrupted bool `json:"-"`
}

func fetchStats(ctx context.Context, addr string) (ServerStats, error) {
	var st ServerStats
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("chat bench: server stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("chat bench: server stats: %w", err)
	}
	return st, nil
}

// Bench opens cfg.Clients WebSocket clients to a running chat server, puts
// cfg.RoomSize of them in room "bench" (the rest idle), then sends
// cfg.Messages broadcasts to that room and measures, for every delivery, the
// time from the sender's Send to the receiver's Recv (both in this process,
// one clock). It reads the server's memory from /stats before and after
// connecting.
func Bench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	res := BenchResult{Clients: cfg.Clients, RoomSize: cfg.RoomSize, Messages: cfg.Messages}
	before, err := fetchStats(ctx, cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			res.Interrupted, res.Messages = true, 0
			return res, ctx.Err()
		}
		return res, err
	}
	res.PriorSockets = before.Sockets
	res.ServerBytesBefore = before.HeapInuseBytes + before.StackBytes

	// Every client reads from the moment it connects: room members record
	// delivery times, the others just drain (welcome and replies).
	const tag = "bench-msg "
	var samplesMu sync.Mutex
	var samples []time.Duration
	got := make([]atomic.Int64, cfg.Messages)
	lastAt := make([]atomic.Int64, cfg.Messages)
	rctx, stopReaders := context.WithCancel(ctx)
	var readers sync.WaitGroup
	defer func() { stopReaders(); readers.Wait() }()
	startReader := func(c transport.Conn) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				m, err := c.Recv(rctx)
				if err != nil {
					return
				}
				now := time.Now()
				i := strings.Index(string(m.Data), tag)
				if m.Event != "chat" || i < 0 {
					continue
				}
				f := strings.Fields(string(m.Data[i+len(tag):]))
				if len(f) != 2 {
					continue
				}
				k, _ := strconv.Atoi(f[0])
				ns, _ := strconv.ParseInt(f[1], 10, 64)
				if k < 0 || k >= cfg.Messages {
					continue
				}
				got[k].Add(1)
				for {
					old := lastAt[k].Load()
					if now.UnixNano() <= old || lastAt[k].CompareAndSwap(old, now.UnixNano()) {
						break
					}
				}
				samplesMu.Lock()
				samples = append(samples, now.Sub(time.Unix(0, ns)))
				samplesMu.Unlock()
			}
		}()
	}

	conns := make([]transport.Conn, cfg.Clients)
	defer func() {
		var wg sync.WaitGroup
		for _, c := range conns {
			if c != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.Close() }()
			}
		}
		wg.Wait()
	}()
	start := time.Now()
	cfg.Progress.Step("chat bench: connecting clients", cfg.Clients)
	// Dial in parallel, a few at a time, like a class arriving.
	var next atomic.Int64
	var dialErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Clients || ctx.Err() != nil {
					return
				}
				c, err := cfg.Dial(ctx)
				if err == nil {
					startReader(c)
					cmds := []string{"/leave lobby"}
					if i < cfg.RoomSize {
						cmds = []string{"/join bench", "/leave lobby"}
					}
					for _, cmd := range cmds {
						if err == nil {
							err = c.Send(ctx, transport.Message{Data: []byte(cmd)})
						}
					}
				}
				mu.Lock()
				if err != nil && dialErr == nil {
					dialErr = fmt.Errorf("chat bench: client %d: %w", i, err)
				}
				conns[i] = c
				mu.Unlock()
				if err != nil {
					return
				}
				cfg.Progress.Add(1)
			}
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			res.Connected++
		}
	}
	res.ConnectTime = time.Since(start)
	res.ConnectUs = report.Micros(res.ConnectTime)
	// stopped is the result when Ctrl-C comes before the first broadcast:
	// how many clients connected, and nothing else measured.
	stopped := func() (BenchResult, error) {
		res.Interrupted, res.Messages = true, 0
		return res, ctx.Err()
	}
	if ctx.Err() != nil {
		return stopped()
	}
	if dialErr != nil {
		return res, dialErr
	}

	// Wait until the server holds every client and the room is full.
	deadline := time.Now().Add(30 * time.Second)
	var after ServerStats
	for {
		after, err = fetchStats(ctx, cfg.Addr)
		if err != nil {
			if ctx.Err() != nil {
				return stopped()
			}
			return res, err
		}
		if after.Sockets >= before.Sockets+int64(cfg.Clients) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case <-time.After(500 * time.Millisecond): // let the joins settle
	case <-ctx.Done():
		return stopped()
	}
	after, err = fetchStats(ctx, cfg.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		return res, err
	}
	res.ServerSockets = after.Sockets
	res.ServerGoroutines = after.Goroutines
	res.ServerBytesAfter = after.HeapInuseBytes + after.StackBytes
	if n := after.Sockets - before.Sockets; n > 0 {
		res.BytesPerConn = float64(int64(res.ServerBytesAfter)-int64(res.ServerBytesBefore)) / float64(n)
		res.HeapPerConn = float64(int64(after.HeapInuseBytes)-int64(before.HeapInuseBytes)) / float64(n)
		res.StackPerConn = float64(int64(after.StackBytes)-int64(before.StackBytes)) / float64(n)
	}
	cfg.Progress.Step(fmt.Sprintf("chat bench: broadcasting to %d members", cfg.RoomSize), cfg.Messages)

	// The sender is an extra client in the room, so every member receives.
	sender, err := cfg.Dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		return res, fmt.Errorf("chat bench: sender: %w", err)
	}
	defer sender.Close()
	startReader(sender)
	sender.Send(ctx, transport.Message{Data: []byte("/join bench")})
	select {
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
		return stopped()
	}
	sendAt := make([]time.Time, cfg.Messages)
	res.Messages = 0 // counts the broadcasts sent
	for k := range cfg.Messages {
		sendAt[k] = time.Now()
		text := fmt.Sprintf("/to bench %s%d %d", tag, k, sendAt[k].UnixNano())
		if err := sender.Send(ctx, transport.Message{Data: []byte(text)}); err != nil {
			if ctx.Err() != nil {
				break
			}
			return res, fmt.Errorf("chat bench: send: %w", err)
		}
		res.Messages = k + 1
		cfg.Progress.Set(k + 1)
		select {
		case <-time.After(cfg.Interval):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Wait for the stragglers (bounded), unless Ctrl-C stopped the bench:
	// then what had arrived is what it measured.
	res.Interrupted = ctx.Err() != nil
	wait := time.Now().Add(10 * time.Second)
	for !res.Interrupted && time.Now().Before(wait) {
		total := 0
		for k := range res.Messages {
			total += int(got[k].Load())
		}
		if total >= res.Messages*cfg.RoomSize {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopReaders()
	readers.Wait()
	var rates []float64
	for k := range res.Messages {
		n := int(got[k].Load())
		res.Delivered += n
		res.Missing += cfg.RoomSize - n
		if last := lastAt[k].Load(); n > 0 && last > sendAt[k].UnixNano() {
			spread := time.Duration(last - sendAt[k].UnixNano())
			rates = append(rates, float64(n)/spread.Seconds())
			res.SpreadUs = append(res.SpreadUs, report.Micros(spread))
		}
	}
	if len(rates) > 0 {
		sum := 0.0
		for _, r := range rates {
			sum += r
		}
		res.FanoutPerSec = sum / float64(len(rates))
	}
	samplesMu.Lock()
	res.Samples = samples
	res.Latency = stats.Summarize(samples)
	samplesMu.Unlock()
	return res, ctx.Err()
}
