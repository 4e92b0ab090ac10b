package compare

import (
	"fmt"
	"math"
	"time"

	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/report"
)

// Table builds the side-by-side table: one column per transport, one row per
// figure, in sections (what each transport promises by design, echo, push),
// with notes on how the figures were measured. Sentences are not included;
// print them after the table.
func Table(r Result) *report.Table {
	t, row := report.SideBySide(r.Columns, func(c Column) string { return c.Name })
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	t.Section("by design (what the transport promises)")
	row("delivery and order kept", func(c Column) string { return yes(c.Info.Reliable && c.Info.Ordered) })
	row("server may send unasked", func(c Column) string { return yes(c.Info.Duplex || c.Subject.ServerPush) })
	if r.Echoed {
		t.Section("echo: the client asks, the server answers")
		echo := func(label string, f func(EchoFigures) string) {
			row(label, func(c Column) string {
				if c.Echo == nil {
					if c.EchoErr != nil {
						return "failed"
					}
					return "–"
				}
				return f(*c.Echo)
			})
		}
		echo("echoes back", func(e EchoFigures) string { return fmt.Sprintf("%d/%d", e.Received, e.Sent) })
		echo("round trip p50", func(e EchoFigures) string { return dur(e.RTT.P50, e.RTT.Count) })
		echo("round trip p99", func(e EchoFigures) string { return dur(e.RTT.P99, e.RTT.Count) })
		echo("wire bytes per echo", func(e EchoFigures) string {
			if !e.HasWire || e.Received == 0 {
				return "–"
			}
			return report.Bytes(int64(math.Round(float64(e.Wire.BytesSent+e.Wire.BytesReceived) / float64(e.Received))))
		})
	}
	if r.Pushed {
		t.Section("push: the server speaks first, the client talks meanwhile")
		var rs []push.Result
		var missing []int
		for i, c := range r.Columns {
			if c.Push != nil {
				rs = append(rs, *c.Push)
			} else {
				rs = append(rs, push.Result{Transport: c.Name, Info: c.Info})
				missing = append(missing, i)
			}
		}
		sub := &report.Table{}
		push.AddRows(sub, rs)
		for _, row := range sub.Rows {
			for _, i := range missing {
				if i+1 < len(row) {
					row[i+1] = "–"
				}
			}
			t.Row(row...)
		}
		t.Notes = append(t.Notes, push.Notes(presentPush(r))...)
	}
	if r.Echoed {
		t.Notes = append(t.Notes, "round trip: on the client's monotonic clock, send to reply.")
	}
	for _, err := range r.Errors() {
		t.Notes = append(t.Notes, "failed: "+err.Error())
	}
	if r.Interrupted {
		t.Notes = append(t.Notes, fmt.Sprintf("interrupted after %s: the figures are what was measured until then.", report.Duration(r.Elapsed)))
	}
	return t
}

func presentPush(r Result) []push.Result {
	var rs []push.Result
	for _, c := range r.Columns {
		if c.Push != nil {
			rs = append(rs, *c.Push)
		}
	}
	return rs
}

func dur(d time.Duration, n int) string {
	if n == 0 {
		return "–"
	}
	return report.Duration(d)
}

// ResultJSON is the results of a comparison in 'netlab compare --json'
// (documented in docs/json.md); its config is ConfigJSON. Times are in
// microseconds and say so.
type ResultJSON struct {
	ElapsedUs  float64         `json:"elapsed_us"`
	Transports []TransportJSON `json:"transports"`
	Sentences  []string        `json:"sentences"`
}

// ConfigJSON is how a comparison was set up: the push lab's config (null
// with --no-echo's opposite, --no-push) and the echo lab's round trips.
type ConfigJSON struct {
	Push      *push.ConfigJSON `json:"push"`
	EchoCount int              `json:"echo_count"`
	Link      string           `json:"link"` // the impaired link in flag spelling; "" for a perfect one
}

// ConfigToJSON returns how r was set up; echoCount is the echo lab's round
// trips (0 when it did not run).
func ConfigToJSON(r Result, echoCount int, link string) ConfigJSON {
	c := ConfigJSON{EchoCount: echoCount, Link: link}
	if r.Pushed {
		pc := push.ConfigToJSON(r.PushConfig)
		c.Push = &pc
	}
	return c
}

// TransportJSON is one column.
type TransportJSON struct {
	Name           string           `json:"name"`
	Label          string           `json:"label"`
	Reliable       bool             `json:"reliable"`
	Ordered        bool             `json:"ordered"`
	Duplex         bool             `json:"duplex"`
	PollIntervalUs float64          `json:"poll_interval_us"`
	LongPoll       bool             `json:"long_poll"`
	ServerPush     bool             `json:"server_push,omitempty"`
	Echo           *EchoJSON        `json:"echo"`
	EchoError      string           `json:"echo_error,omitempty"`
	Push           *push.ResultJSON `json:"push"`
	PushError      string           `json:"push_error,omitempty"`
}

// EchoJSON is the echo part of one column.
type EchoJSON struct {
	Sent     int                `json:"sent"`
	Received int                `json:"received"`
	Lost     int                `json:"lost"`
	RTT      report.LatencyJSON `json:"rtt"`
	Wire     *push.WireJSON     `json:"wire"`
	// RTTSamplesUs are the round trips one by one (the chart).
	RTTSamplesUs []float64 `json:"rtt_samples_us"`
}

// JSON converts r to its JSON form, sentences included.
func JSON(r Result) ResultJSON {
	j := ResultJSON{ElapsedUs: report.Micros(r.Elapsed), Transports: []TransportJSON{}, Sentences: Sentences(r)}
	if j.Sentences == nil {
		j.Sentences = []string{}
	}
	for _, c := range r.Columns {
		t := TransportJSON{Name: c.Name, Label: c.Subject.label(), Reliable: c.Info.Reliable,
			Ordered: c.Info.Ordered, Duplex: c.Info.Duplex,
			PollIntervalUs: report.Micros(c.Subject.PollInterval), LongPoll: c.Subject.LongPoll, ServerPush: c.Subject.ServerPush}
		if e := c.Echo; e != nil {
			t.Echo = &EchoJSON{Sent: e.Sent, Received: e.Received, Lost: e.Lost(), RTT: report.Latency(e.RTT),
				RTTSamplesUs: report.MicrosAll(e.RTTSamples)}
			if e.HasWire {
				t.Echo.Wire = &push.WireJSON{BytesSent: e.Wire.BytesSent, BytesReceived: e.Wire.BytesReceived,
					Requests: e.Wire.Requests, EmptyPolls: e.Wire.EmptyPolls}
			}
		}
		if c.EchoErr != nil {
			t.EchoError = c.EchoErr.Error()
		}
		if c.Push != nil {
			p := push.JSON(*c.Push)
			t.Push = &p
		}
		if c.PushErr != nil {
			t.PushError = c.PushErr.Error()
		}
		j.Transports = append(j.Transports, t)
	}
	return j
}
