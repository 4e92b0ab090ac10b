package push

import (
	"math"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// FromJSON turns a result JSON wrote back into a Result, as far as the
// document keeps it (times to 0.1 µs), so a saved run can be printed and
// drawn again.
func FromJSON(j ResultJSON) Result {
	sched, _ := ParseSchedule(j.Schedule)
	r := Result{Transport: j.Transport, Info: transport.Info{Name: j.Transport, Reliable: j.Reliable, Duplex: j.Duplex},
		Schedule: sched, Rate: j.RatePerS, Seed: j.Seed, UpRate: j.UpRatePerS,
		Emitted: j.EventsEmitted, Delivered: j.EventsDelivered, Duplicates: j.Duplicates, Reordered: j.Reordered,
		Delays: micros(j.DelaysUs), Delay: summary(j.Delay),
		UpSent: j.UpSent, UpReceived: j.UpReceived, UpDelay: summary(j.UpDelay), UpDuringPush: j.UpDuringPush,
		PushSpan: micro(j.PushSpanUs), Padded: j.Padded, Hellos: j.Hellos, Elapsed: micro(j.ElapsedUs),
		Interrupted: j.Interrupted}
	if w := j.Wire; w != nil {
		r.HasWire = true
		r.Wire = transport.WireStats{BytesSent: w.BytesSent, BytesReceived: w.BytesReceived, Requests: w.Requests, EmptyPolls: w.EmptyPolls}
	}
	for _, e := range j.Events {
		r.Events = append(r.Events, EventTimes{Seq: e.Seq, Sent: micro(e.SentUs), Arrived: micro(e.ArrivedUs)})
	}
	for _, q := range j.RequestsOverTime {
		r.Requests = append(r.Requests, RequestCount{At: micro(q.AtUs), Requests: q.Requests})
	}
	return r
}

// ConfigFromJSON turns a ConfigJSON back into a Config.
func ConfigFromJSON(j ConfigJSON) Config {
	sched, _ := ParseSchedule(j.Schedule)
	return Config{Schedule: sched, Rate: j.RatePerS, Seed: j.Seed, Count: j.Count, Duration: micro(j.DurationUs),
		UpRate: j.UpRatePerS, Size: j.SizeBytes}
}

func micro(us float64) time.Duration {
	return time.Duration(math.Round(us * float64(time.Microsecond)))
}

func micros(us []float64) []time.Duration {
	out := make([]time.Duration, len(us))
	for i, u := range us {
		out[i] = micro(u)
	}
	return out
}

// summary turns a LatencyJSON back into a Summary.
func summary(l report.LatencyJSON) stats.Summary {
	return stats.Summary{Count: l.Count, Min: micro(l.MinUs), Mean: micro(l.MeanUs), P50: micro(l.P50Us),
		P90: micro(l.P90Us), P99: micro(l.P99Us), Max: micro(l.MaxUs)}
}

// SummaryFromJSON turns a LatencyJSON back into a Summary.
func SummaryFromJSON(l report.LatencyJSON) stats.Summary { return summary(l) }
