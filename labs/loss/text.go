package loss

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/impair"
)

// timelineWidth is how many marks a timeline line holds.
const timelineWidth = 50

// WriteText prints the result for people: the side-by-side table, the
// timelines, and what the numbers say.
func (res Result) WriteText(w io.Writer) error {
	report.Paragraph(w, fmt.Sprintf("The same %d numbered messages, one every %v, client → server, over each transport through its own copy of the link %s (same seed: same packets lost).", res.Count, res.Interval, res.Link))
	fmt.Fprintln(w)
	t, row := report.SideBySide(res.Streams, func(s Stream) string { return s.Transport })
	num := func(f func(s Stream) int) func(Stream) string {
		return func(s Stream) string { return fmt.Sprint(f(s)) }
	}
	lat := func(f func(s Stream) time.Duration) func(Stream) string {
		return func(s Stream) string {
			if s.Latency.Count == 0 {
				return "–"
			}
			return report.Duration(f(s))
		}
	}
	row("sent", num(func(s Stream) int { return s.Sent }))
	row("delivered", num(func(s Stream) int { return s.Delivered }))
	row("lost", num(func(s Stream) int { return s.Lost }))
	row("duplicated", num(func(s Stream) int { return s.Duplicated }))
	row("out of order", num(func(s Stream) int { return s.OutOfOrder }))
	row("late (> "+report.Duration(res.Late)+")", num(func(s Stream) int { return s.LateCount }))
	t.Section("one-way delay")
	row("  p50", lat(func(s Stream) time.Duration { return s.Latency.P50 }))
	row("  p99", lat(func(s Stream) time.Duration { return s.Latency.P99 }))
	row("  max", lat(func(s Stream) time.Duration { return s.Latency.Max }))
	t.Section("what the link did (client → server)")
	row("  packets in", func(s Stream) string { return fmt.Sprint(s.Up.Packets) })
	row("  dropped", func(s Stream) string { return fmt.Sprint(s.Up.Dropped) })
	row("  retransmitted (waited "+report.Duration(rto(res.Link))+")", func(s Stream) string { return fmt.Sprint(s.Up.Retransmits) })
	row("  duplicated", func(s Stream) string { return fmt.Sprint(s.Up.Duplicated) })
	row("  reordered", func(s Stream) string { return fmt.Sprint(s.Up.Reordered) })
	if res.Link.Cut != (impair.Cut{}) {
		row("  met the cut", func(s Stream) string { return fmt.Sprint(s.Up.Cut) })
	}
	if err := t.Write(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTimeline, one mark per message (%d a line):\n", timelineWidth)
	name := 0
	for _, s := range res.Streams {
		name = max(name, len(s.Transport))
	}
	digits := len(fmt.Sprint(res.Count))
	for _, s := range res.Streams {
		for i := 0; i < len(s.Timeline); i += timelineWidth {
			label := ""
			if i == 0 {
				label = s.Transport
			}
			fmt.Fprintf(w, "  %-*s %*d %s\n", name, label, digits, i+1, s.Timeline[i:min(i+timelineWidth, len(s.Timeline))])
		}
	}
	for _, l := range report.Wrap(Legend(res.Late), report.Width(w), "  ", "  ") {
		fmt.Fprintln(w, l)
	}
	fmt.Fprint(w, "\nWhat happened:\n")
	return report.Bullets(w, "-", res.Explain())
}

func rto(c impair.Config) time.Duration {
	if c.RTO > 0 {
		return c.RTO
	}
	return impair.DefaultRTO
}

// Explain says, with this run's numbers, what each transport did.
func (res Result) Explain() []string {
	var out []string
	var firstUDPLoss, firstTCPStall uint64
	for _, s := range res.Streams {
		if s.Err != nil {
			out = append(out, fmt.Sprintf("%s: %v", s.Transport, s.Err))
			continue
		}
		if s.Sent == 0 {
			continue
		}
		lat := fmt.Sprintf("p50 %s, p99 %s", report.Duration(s.Latency.P50), report.Duration(s.Latency.P99))
		if !s.Info.Reliable {
			line := fmt.Sprintf("%s: %d of %d messages never arrived (%s)", s.Transport, s.Lost, s.Sent, seqList(s.Timeline, MarkNever, 8))
			if s.Up.Cut > 0 {
				line += fmt.Sprintf(", %d of them sent into the %s outage", s.Up.Cut, res.Link.Cut.For)
			}
			if s.OutOfOrder > 0 {
				line += fmt.Sprintf(", %s arrived after a later one", plural(int64(s.OutOfOrder), "message"))
			}
			if s.Duplicated > 0 {
				line += fmt.Sprintf(", %s arrived twice", plural(int64(s.Duplicated), "message"))
			}
			line += fmt.Sprintf("; the %d that came, came at once (%s): nothing waits for a lost datagram, and nobody tells the application it is gone — only the sequence numbers show it.", s.Delivered, lat)
			out = append(out, line)
			if firstUDPLoss == 0 {
				firstUDPLoss = uint64(strings.IndexByte(s.Timeline, MarkNever) + 1)
			}
			continue
		}
		line := fmt.Sprintf("%s: all %d of %d arrived, in order, none twice", s.Transport, s.Delivered, s.Sent)
		if s.Up.Retransmits == 0 && s.LateCount == 0 {
			out = append(out, line+fmt.Sprintf(" (%s): the link lost none of its segments this time.", lat))
			continue
		}
		var why []string
		if s.Up.Retransmits > 0 {
			why = append(why, fmt.Sprintf("the link lost %s, resent after the %s retransmission timeout (doubled when a resend was lost too)",
				plural(s.Up.Retransmits, "segment"), report.Duration(rto(res.Link))))
		}
		if s.Up.Cut > 0 {
			why = append(why, fmt.Sprintf("%s met the %s outage and passed only at the first retransmission after it (the timer doubles: %s, %s, …), so TCP came back after the link did",
				plural(s.Up.Cut, "segment"), res.Link.Cut.For, report.Duration(rto(res.Link)), report.Duration(2*rto(res.Link))))
		}
		if len(why) > 0 {
			line += ", but " + strings.Join(why, "; ")
		}
		line += fmt.Sprintf(": %s waited (head-of-line blocking)", plural(int64(s.LateCount), "message"))
		if len(s.Stalls) > 0 {
			worst := s.Stalls[0]
			for _, st := range s.Stalls {
				if st.Last-st.First > worst.Last-worst.First {
					worst = st
				}
			}
			line += fmt.Sprintf("; the longest stall held up messages %d to %d, the worst by %s", worst.First, worst.Last, report.Duration(worst.Worst))
			if firstTCPStall == 0 && s.Info.Name == "tcp" {
				firstTCPStall = s.Stalls[0].First
			}
		}
		line += fmt.Sprintf(". Delay p50 %s but p99 %s: reliability is paid for in time.",
			report.Duration(s.Latency.P50), report.Duration(s.Latency.P99))
		out = append(out, line)
	}
	if firstUDPLoss > 0 && firstUDPLoss == firstTCPStall {
		out = append(out, fmt.Sprintf("Same seed, same link: message %d is the first UDP lost and where TCP's first stall begins — the same lost packet, two outcomes.", firstUDPLoss))
	}
	return out
}

// seqList names the sequence numbers marked m in a timeline, runs as
// ranges ("seq 3, 31–60"), at most n items.
func seqList(timeline string, m byte, n int) string {
	var items []string
	for i := 0; i < len(timeline); i++ {
		if timeline[i] != m {
			continue
		}
		j := i
		for j+1 < len(timeline) && timeline[j+1] == m {
			j++
		}
		if len(items) == n {
			items = append(items, "…")
			break
		}
		if j > i {
			items = append(items, fmt.Sprintf("%d–%d", i+1, j+1))
		} else {
			items = append(items, fmt.Sprint(i+1))
		}
		i = j
	}
	if len(items) == 0 {
		return "none"
	}
	return "seq " + strings.Join(items, ", ")
}

// JSON is the --json form of a Result; durations are in the unit their
// field names say.
type JSON struct {
	Config  ConfigJSON   `json:"config"`
	Streams []StreamJSON `json:"streams"`
}

// ConfigJSON is how the run was set up.
type ConfigJSON struct {
	Count      int     `json:"count"`
	IntervalUs float64 `json:"interval_us"`
	SizeBytes  int     `json:"size_bytes"`
	Link       string  `json:"link"`
	LateUs     float64 `json:"late_us"`
}

// StreamJSON is one transport's stream in JSON.
type StreamJSON struct {
	Transport  string             `json:"transport"`
	Sent       int                `json:"sent"`
	Delivered  int                `json:"delivered"`
	Lost       int                `json:"lost"`
	Duplicated int                `json:"duplicated"`
	OutOfOrder int                `json:"out_of_order"`
	Late       int                `json:"late"`
	Latency    report.LatencyJSON `json:"one_way_delay"`
	Timeline   string             `json:"timeline"`
	Stalls     []StallJSON        `json:"stalls"`
	Link       impair.Counts      `json:"link_client_to_server"`
	ElapsedUs  float64            `json:"elapsed_us"`
	Error      string             `json:"error,omitempty"`
}

// StallJSON is a run of late messages.
type StallJSON struct {
	FirstSeq uint64  `json:"first_seq"`
	LastSeq  uint64  `json:"last_seq"`
	WorstUs  float64 `json:"worst_us"`
}

// JSON returns the JSON form of res.
func (res Result) JSON() JSON {
	j := JSON{Config: ConfigJSON{Count: res.Count, IntervalUs: report.Micros(res.Interval), SizeBytes: res.Size,
		Link: res.Link.String(), LateUs: report.Micros(res.Late)}, Streams: []StreamJSON{}}
	for _, s := range res.Streams {
		sj := StreamJSON{Transport: s.Transport, Sent: s.Sent, Delivered: s.Delivered, Lost: s.Lost,
			Duplicated: s.Duplicated, OutOfOrder: s.OutOfOrder, Late: s.LateCount,
			Latency: report.Latency(s.Latency), Timeline: s.Timeline, Link: s.Up, ElapsedUs: report.Micros(s.Elapsed),
			Stalls: []StallJSON{}}
		for _, st := range s.Stalls {
			sj.Stalls = append(sj.Stalls, StallJSON{st.First, st.Last, report.Micros(st.Worst)})
		}
		if s.Err != nil {
			sj.Error = s.Err.Error()
		}
		j.Streams = append(j.Streams, sj)
	}
	return j
}

// plural writes "1 segment", "2 segments".
func plural(n int64, noun string) string { return report.Plural(n, noun) }
