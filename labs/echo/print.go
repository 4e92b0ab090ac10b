package echo

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
)

// Table lays results side by side, one column per transport.
func Table(results []Result) *report.Table {
	t, row := report.SideBySide(results, func(r Result) string {
		if r.Interrupted {
			return r.Transport.Name + " (interrupted)"
		}
		return r.Transport.Name
	})
	pct := func(n, of int) string {
		if of == 0 {
			return fmt.Sprint(n)
		}
		return fmt.Sprintf("%d (%s)", n, report.Percent(float64(n)/float64(of)))
	}
	row("messages sent", func(r Result) string { return fmt.Sprint(r.Sent) })
	row("echoed back", func(r Result) string { return fmt.Sprint(r.Received) })
	row("lost", func(r Result) string { return pct(r.Lost, r.Sent) })
	if slices.ContainsFunc(results, func(r Result) bool { return r.InFlight > 0 }) {
		row("in flight at Ctrl-C", func(r Result) string { return fmt.Sprint(r.InFlight) }) // not lost: not waited for
	}
	row("out of order", func(r Result) string { return fmt.Sprint(r.OutOfOrder) })
	row("duplicated", func(r Result) string { return fmt.Sprint(r.Duplicated) })
	t.Section("round-trip time")
	dur := func(f func(stats.Summary) time.Duration) func(Result) string {
		return func(r Result) string {
			if r.RTT.Count == 0 {
				return "–"
			}
			return report.Duration(f(r.RTT))
		}
	}
	row("  min", dur(func(s stats.Summary) time.Duration { return s.Min }))
	row("  p50", dur(func(s stats.Summary) time.Duration { return s.P50 }))
	row("  p90", dur(func(s stats.Summary) time.Duration { return s.P90 }))
	row("  p99", dur(func(s stats.Summary) time.Duration { return s.P99 }))
	row("  max", dur(func(s stats.Summary) time.Duration { return s.Max }))
	row("  mean", dur(func(s stats.Summary) time.Duration { return s.Mean }))
	t.Section("bytes on the wire (client socket)")
	wire := func(f func(r Result) int64) func(Result) string {
		return func(r Result) string {
			if !r.HasWire {
				return "–"
			}
			return report.Bytes(f(r))
		}
	}
	row("  sent", wire(func(r Result) int64 { return r.Wire.BytesSent }))
	row("  received", wire(func(r Result) int64 { return r.Wire.BytesReceived }))
	row("  per round trip", func(r Result) string {
		if !r.HasWire || r.Received == 0 {
			return "–"
		}
		return report.Bytes((r.Wire.BytesSent + r.Wire.BytesReceived) / int64(r.Sent))
	})
	anyRequests := false
	for _, r := range results {
		anyRequests = anyRequests || r.Wire.Requests > 0
	}
	if anyRequests {
		t.Section("HTTP (client side)")
		row("  requests", func(r Result) string {
			if r.Wire.Requests == 0 {
				return "–"
			}
			if r.Wire.Requests == 1 {
				return "1"
			}
			return fmt.Sprintf("%d (%.1f per round trip)", r.Wire.Requests, float64(r.Wire.Requests)/float64(max(r.Sent, 1)))
		})
		row("  empty polls", func(r Result) string {
			if r.Wire.Requests == 0 {
				return "–"
			}
			return fmt.Sprint(r.Wire.EmptyPolls)
		})
	}
	row("elapsed", func(r Result) string { return report.Duration(r.Elapsed) })
	t.Notes = append(t.Notes,
		"Round-trip time is measured by the client on a monotonic clock, from Send to the echo's arrival.",
		bytesNote(anyRequests))
	return t
}

// WriteHistograms prints a small RTT histogram per result.
func WriteHistograms(w io.Writer, results []Result) {
	for _, r := range results {
		if len(r.RTTSamples) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s round-trip time histogram (%d replies)\n", r.Transport.Name, len(r.RTTSamples))
		report.Histogram(w, stats.Histogram(r.RTTSamples, 8), 40)
	}
}

// WriteTrace prints one ladder line for e.
func WriteTrace(w io.Writer, transport string, e TraceEvent) {
	at := fmt.Sprintf("%10s", report.Duration(e.At))
	switch e.Dir {
	case Out:
		fmt.Fprintf(w, "%s  %-4s client ──seq %-4d %5d B──▶ server\n", at, transport, e.Seq, e.Size)
	default:
		note := ""
		if e.Duplicate {
			note = "  DUPLICATE"
		} else if e.Late {
			note = "  LATE (a later seq came first)"
		}
		fmt.Fprintf(w, "%s  %-4s client ◀──seq %-4d %5d B── server   rtt %s%s\n", at, transport, e.Seq, e.Size, report.Duration(e.RTT), note)
	}
}

// JSON is the config and results of an echo run in the --json envelope
// (report.Envelope). Field names carry their units.
type JSON struct {
	Config  ConfigJSON
	Results []ResultJSON
}

// ConfigJSON is the run's configuration.
type ConfigJSON struct {
	Count      int     `json:"count"`
	SizeBytes  int     `json:"size_bytes"`
	IntervalUs float64 `json:"interval_us"`
	TimeoutUs  float64 `json:"timeout_us"`
	// Link is the impaired link in flag spelling; "" for a perfect one.
	Link string `json:"link"`
}

// ResultJSON is one transport's result.
type ResultJSON struct {
	Transport     string             `json:"transport"`
	Sent          int                `json:"sent"`
	Received      int                `json:"received"`
	Lost          int                `json:"lost"`
	InFlight      int                `json:"in_flight,omitempty"` // interrupted: sent, not back, not timed out
	OutOfOrder    int                `json:"out_of_order"`
	Duplicated    int                `json:"duplicated"`
	RTT           report.LatencyJSON `json:"rtt"`
	RTTSamplesUs  []float64          `json:"rtt_samples_us"`
	BytesSent     *int64             `json:"bytes_sent,omitempty"`
	BytesReceived *int64             `json:"bytes_received,omitempty"`
	Requests      *int64             `json:"http_requests,omitempty"`
	EmptyPolls    *int64             `json:"empty_polls,omitempty"`
	ElapsedUs     float64            `json:"elapsed_us"`
	Interrupted   bool               `json:"interrupted"`
}

// ToJSON converts a run to its JSON form.
func ToJSON(cfg Config, results []Result) JSON {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = time.Second
	}
	out := JSON{Config: ConfigJSON{Count: cfg.Count, SizeBytes: cfg.Size,
		IntervalUs: report.Micros(cfg.Interval), TimeoutUs: report.Micros(timeout)}, Results: []ResultJSON{}}
	for _, r := range results {
		j := ResultJSON{Transport: r.Transport.Name, Sent: r.Sent, Received: r.Received, Lost: r.Lost, InFlight: r.InFlight,
			OutOfOrder: r.OutOfOrder, Duplicated: r.Duplicated, RTT: report.Latency(r.RTT),
			RTTSamplesUs: report.MicrosAll(r.RTTSamples), ElapsedUs: report.Micros(r.Elapsed), Interrupted: r.Interrupted}
		if r.HasWire {
			s, rc := r.Wire.BytesSent, r.Wire.BytesReceived
			j.BytesSent, j.BytesReceived = &s, &rc
			if r.Wire.Requests > 0 {
				req, empty := r.Wire.Requests, r.Wire.EmptyPolls
				j.Requests, j.EmptyPolls = &req, &empty
			}
		}
		out.Results = append(out.Results, j)
	}
	return out
}

// bytesNote says what the byte counts include; HTTP headers only when an
// HTTP-based transport is in the table.
func bytesNote(http bool) string {
	if http {
		return "Bytes are counted on the client's socket: message framing and HTTP headers included, TCP/UDP and IP headers not."
	}
	return "Bytes are counted on the client's socket: message framing included, TCP/UDP and IP headers not."
}
