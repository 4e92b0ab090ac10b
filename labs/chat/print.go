package chat

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/netlab/netlab/labs/report"
)

// WriteText prints the bench's result for people.
func (res BenchResult) WriteText(w io.Writer) error {
	if res.Interrupted && res.Messages == 0 {
		line := fmt.Sprintf("chat bench interrupted before the first broadcast: %d of %d clients had connected", res.Connected, res.Clients)
		if res.Connected > 0 {
			line += " in " + report.Duration(res.ConnectTime)
		}
		report.Paragraph(w, line+".")
		return nil
	}
	t := &report.Table{Title: fmt.Sprintf("chat bench: %d WebSocket clients, %d in room \"bench\", %s", res.Clients, res.RoomSize, report.Plural(res.Messages, "broadcast"))}
	if res.Interrupted {
		t.Title += " (interrupted)"
	}
	t.Row("connect all clients", report.Duration(res.ConnectTime))
	t.Row("server sockets", fmt.Sprint(res.ServerSockets))
	t.Row("server goroutines", fmt.Sprint(res.ServerGoroutines))
	t.Row("server memory per connection", report.Bytes(int64(res.BytesPerConn)))
	t.Row("  of which heap", report.Bytes(int64(res.HeapPerConn)))
	t.Row("  of which goroutine stacks", report.Bytes(int64(res.StackPerConn)))
	t.Row("deliveries", fmt.Sprintf("%d of %d", res.Delivered, res.Delivered+res.Missing))
	t.Row("latency p50", report.Duration(res.Latency.P50))
	t.Row("latency p90", report.Duration(res.Latency.P90))
	t.Row("latency p99", report.Duration(res.Latency.P99))
	t.Row("latency max", report.Duration(res.Latency.Max))
	t.Row("fan-out rate", fmt.Sprintf("%.0f msg/s", res.FanoutPerSec))
	t.Notes = []string{"latency: sender's Send to receiver's Recv, both in this process (one clock)",
		"memory: server heap in use + stacks, after GC, (after - before) / new sockets",
		"fan-out rate: room members reached / time from Send to the last of them, mean over broadcasts"}
	if res.Interrupted {
		t.Notes = append(t.Notes, fmt.Sprintf("interrupted: Ctrl-C stopped the bench after %s; deliveries are those that had arrived by then", report.Plural(res.Messages, "broadcast")))
	}
	if res.PriorSockets != 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("the server already had %d sockets; memory per connection counts only the new ones", res.PriorSockets))
	}
	return t.Write(w)
}

// BenchJSON is the --json form of a bench result.
type BenchJSON struct {
	BenchResult
	Latency report.LatencyJSON `json:"latency"`
	// LatencySamplesUs are the deliveries' latencies one by one (the chart).
	LatencySamplesUs []float64 `json:"latency_samples_us"`
}

// JSON returns the JSON form of res.
func (res BenchResult) JSON() BenchJSON {
	return BenchJSON{res, report.Latency(res.Latency), report.MicrosAll(res.Samples)}
}

// BenchFromJSON turns a saved 'chat bench --json' result back into the
// BenchResult that printed it (interrupted: the envelope's flag).
func BenchFromJSON(j BenchJSON, interrupted bool) BenchResult {
	res := j.BenchResult
	us := func(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Microsecond))) }
	res.ConnectTime = us(res.ConnectUs)
	res.Latency = report.SummaryFromJSON(j.Latency)
	res.Samples = nil
	for _, v := range j.LatencySamplesUs {
		res.Samples = append(res.Samples, us(v))
	}
	res.Interrupted = interrupted
	return res
}
