package push

import (
	"fmt"
	"math"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
)

// Table builds the side-by-side table of rs: one column per transport, one
// row per figure, and notes that say how the figures were measured.
func Table(rs []Result) *report.Table {
	t, _ := report.SideBySide(rs, func(r Result) string { return r.Transport })
	AddRows(t, rs)
	t.Notes = Notes(rs)
	return t
}

// AddRows appends the push figures of rs to t, one cell per result in the
// order of rs (the caller writes the header).
func AddRows(t *report.Table, rs []Result) {
	row := report.RowsOf(t, rs)
	dur := func(d time.Duration, n int) string {
		if n == 0 {
			return "–"
		}
		return report.Duration(d)
	}
	row("events delivered", func(r Result) string { return fmt.Sprintf("%d/%d", r.Delivered, r.Emitted) })
	row("events lost", func(r Result) string { return fmt.Sprint(r.Lost()) })
	row("reordered / duplicated", func(r Result) string { return fmt.Sprintf("%d / %d", r.Reordered, r.Duplicates) })
	row("delay p50 (server→client)", func(r Result) string { return dur(r.Delay.P50, r.Delay.Count) })
	row("delay p99", func(r Result) string { return dur(r.Delay.P99, r.Delay.Count) })
	row("delay max", func(r Result) string { return dur(r.Delay.Max, r.Delay.Count) })
	row("upstream delivered", func(r Result) string { return fmt.Sprintf("%d/%d", r.UpReceived, r.UpSent) })
	row("upstream delay p50", func(r Result) string { return dur(r.UpDelay.P50, r.UpDelay.Count) })
	row("upstream while pushing", func(r Result) string {
		if r.UpReceived == 0 {
			return "–"
		}
		return fmt.Sprintf("%d (%s)", r.UpDuringPush, report.Percent(r.Overlap()))
	})
	row("HTTP requests", func(r Result) string {
		if !r.HasWire {
			return "–"
		}
		return fmt.Sprint(r.Wire.Requests)
	})
	row("requests per message", func(r Result) string { return ratio(r.RequestsPerMessage()) })
	row("empty polls per event", func(r Result) string { return ratio(r.EmptyPollsPerEvent()) })
	row("wire bytes per message", func(r Result) string {
		if v := r.BytesPerMessage(); !math.IsNaN(v) {
			return report.Bytes(int64(math.Round(v)))
		}
		return "–"
	})
}

// ratio formats a per-message figure: "0.02", "1.00", "3.4", "–".
func ratio(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Notes explains how the push figures were measured, and what an unreliable
// transport in rs did not promise.
func Notes(rs []Result) []string {
	notes := []string{
		"delay: one-way, server Send to client Recv; server and client share one clock (one process).",
		"upstream while pushing: client messages the server received between the first and last event the client got.",
		"requests per message and wire bytes per message count both directions: events delivered + upstream received.",
	}
	for _, r := range rs {
		if !r.Info.Reliable {
			notes = append(notes, fmt.Sprintf("%s promises neither delivery nor order: nothing is resent; %d of %d events and %d of %d upstream messages were lost, counted above.",
				r.Transport, r.Lost(), r.Emitted, r.UpLost(), r.UpSent))
		}
		if r.Padded {
			notes = append(notes, fmt.Sprintf("%s: the client spoke first (a UDP server learns a client's address only from a datagram it receives) and padded its datagrams to an event's size, so a server that never answers larger than it was asked (netlab's, against amplification attacks) can still push.", r.Transport))
		}
		if r.Interrupted {
			notes = append(notes, fmt.Sprintf("%s was interrupted: its figures cover %s.", r.Transport, report.Duration(r.Elapsed)))
		}
	}
	return notes
}

// ResultJSON is the JSON form of a Result. Times are in microseconds and
// say so in their names; figures that were not measured are null.
type ResultJSON struct {
	Transport       string             `json:"transport"`
	Reliable        bool               `json:"reliable"`
	Duplex          bool               `json:"duplex"`
	Schedule        string             `json:"schedule"`
	RatePerS        float64            `json:"rate_per_s"`
	UpRatePerS      float64            `json:"up_rate_per_s"`
	Seed            int64              `json:"seed"`
	EventsEmitted   int                `json:"events_emitted"`
	EventsDelivered int                `json:"events_delivered"`
	EventsLost      int                `json:"events_lost"`
	Duplicates      int                `json:"duplicates"`
	Reordered       int                `json:"reordered"`
	Delay           report.LatencyJSON `json:"delay"`
	DelaysUs        []float64          `json:"delays_us"`
	UpSent          int                `json:"up_sent"`
	UpReceived      int                `json:"up_received"`
	UpLost          int                `json:"up_lost"`
	UpDelay         report.LatencyJSON `json:"up_delay"`
	UpDuringPush    int                `json:"up_during_push"`
	PushSpanUs      float64            `json:"push_span_us"`
	Wire            *WireJSON          `json:"wire"`
	RequestsPerMsg  *float64           `json:"requests_per_message"`
	EmptyPollsPerEv *float64           `json:"empty_polls_per_event"`
	BytesPerMsg     *float64           `json:"wire_bytes_per_message"`
	Hellos          int                `json:"hellos"`
	Padded          bool               `json:"padded"`
	ElapsedUs       float64            `json:"elapsed_us"`
	Interrupted     bool               `json:"interrupted"`
	// Events and RequestsOverTime are the points of the timeline and
	// requests charts (times since the run began).
	Events           []EventJSON        `json:"events"`
	RequestsOverTime []RequestCountJSON `json:"requests_over_time"`
}

// EventJSON is one delivered event: when the server stamped it and when
// the client got it, since the run began.
type EventJSON struct {
	Seq       uint64  `json:"seq"`
	SentUs    float64 `json:"sent_us"`
	ArrivedUs float64 `json:"arrived_us"`
}

// RequestCountJSON is how many HTTP requests the client had made by AtUs.
type RequestCountJSON struct {
	AtUs     float64 `json:"at_us"`
	Requests int64   `json:"requests"`
}

// ConfigJSON is the JSON form of a Config.
type ConfigJSON struct {
	Schedule   string  `json:"schedule"`
	RatePerS   float64 `json:"rate_per_s"`
	Seed       int64   `json:"seed"`
	Count      int     `json:"count"`
	DurationUs float64 `json:"duration_us"`
	// UpRatePerS is the client's fixed upstream rate; 0 means as many
	// messages as events, spread over the same span; -1 none.
	UpRatePerS float64 `json:"up_rate_per_s"`
	SizeBytes  int     `json:"size_bytes"`
}

// ConfigToJSON converts c (after WithDefaults) to its JSON form.
func ConfigToJSON(c Config) ConfigJSON {
	return ConfigJSON{Schedule: c.Schedule.String(), RatePerS: c.Rate, Seed: c.Seed, Count: c.Count,
		DurationUs: report.Micros(c.Duration), UpRatePerS: max(-1, c.UpRate), SizeBytes: c.Size}
}

// WireJSON is what the client end counted on the real connection.
type WireJSON struct {
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	Requests      int64 `json:"requests"`
	EmptyPolls    int64 `json:"empty_polls"`
}

// JSON converts r to its JSON form.
func JSON(r Result) ResultJSON {
	j := ResultJSON{
		Transport: r.Transport, Reliable: r.Info.Reliable, Duplex: r.Info.Duplex,
		Schedule: r.Schedule.String(), RatePerS: r.Rate, UpRatePerS: math.Round(r.UpRate*1000) / 1000, Seed: r.Seed,
		EventsEmitted: r.Emitted, EventsDelivered: r.Delivered, EventsLost: r.Lost(),
		Duplicates: r.Duplicates, Reordered: r.Reordered,
		Delay: report.Latency(r.Delay), DelaysUs: report.MicrosAll(r.Delays),
		UpSent: r.UpSent, UpReceived: r.UpReceived, UpLost: r.UpLost(),
		UpDelay: report.Latency(r.UpDelay), UpDuringPush: r.UpDuringPush,
		PushSpanUs: report.Micros(r.PushSpan),
		Hellos:     r.Hellos, Padded: r.Padded, ElapsedUs: report.Micros(r.Elapsed), Interrupted: r.Interrupted,
		RequestsPerMsg:  num(r.RequestsPerMessage()),
		EmptyPollsPerEv: num(r.EmptyPollsPerEvent()),
		BytesPerMsg:     num(r.BytesPerMessage()),
	}
	if r.HasWire {
		j.Wire = wireJSON(r.Wire)
	}
	j.Events, j.RequestsOverTime = []EventJSON{}, []RequestCountJSON{}
	for _, e := range r.Events {
		j.Events = append(j.Events, EventJSON{Seq: e.Seq, SentUs: report.Micros(e.Sent), ArrivedUs: report.Micros(e.Arrived)})
	}
	for _, q := range r.Requests {
		j.RequestsOverTime = append(j.RequestsOverTime, RequestCountJSON{AtUs: report.Micros(q.At), Requests: q.Requests})
	}
	return j
}

func wireJSON(w transport.WireStats) *WireJSON {
	return &WireJSON{BytesSent: w.BytesSent, BytesReceived: w.BytesReceived, Requests: w.Requests, EmptyPolls: w.EmptyPolls}
}

// num returns a pointer to v rounded to 3 decimals, or nil for NaN.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	v = math.Round(v*1000) / 1000
	return &v
}
