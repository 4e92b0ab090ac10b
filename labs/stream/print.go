package stream

import (
	"fmt"
	"io"
	"strings"

	"github.com/netlab/netlab/labs/report"
)

// Write prints the lab's findings for people. shown bounds how many Read
// chunks are listed one by one.
func Write(w io.Writer, r Result, shown int) {
	c := r.Config
	width := report.Width(w)
	// say wraps text to the output's width, every line after indent;
	// heading wraps a numbered heading, its later lines under its words.
	say := func(indent, text string) {
		for _, l := range report.Wrap(text, width, indent, indent) {
			fmt.Fprintln(w, l)
		}
	}
	heading := func(text string) {
		for _, l := range report.Wrap(text, width, "", "   ") {
			fmt.Fprintln(w, l)
		}
	}
	say("", fmt.Sprintf("TCP stream lab: the client wrote %d messages of %d payload bytes back to back, "+
		"one Write call each (%s in all, TCP_NODELAY %s). The server read with a %d-byte buffer.",
		r.Writes, c.Size, report.Bytes(int64(r.BytesWritten)), onOff(c.NoDelay), c.ReadSize))
	fmt.Fprintln(w)
	if r.Interrupted {
		say("", "Interrupted by Ctrl-C: what follows is what was measured until then.")
		fmt.Fprintln(w)
	}

	heading(fmt.Sprintf("1. What the server's Read calls returned (%s for %s):", plural(len(r.Reads), "read"), plural(r.Writes, "write")))
	fmt.Fprintln(w)
	t := report.Table{Header: []string{"read", "bytes", "at", "whole msgs", "starts mid-msg", "ends mid-msg", "first bytes"}}
	for i, ch := range r.Reads {
		if i == shown && len(r.Reads) > shown+1 {
			t.Row("…", fmt.Sprintf("%d more", len(r.Reads)-shown-1))
			ch = r.Reads[len(r.Reads)-1]
			i = len(r.Reads) - 1
			t.Row(fmt.Sprint(i+1), fmt.Sprint(ch.Size), report.Duration(ch.At), fmt.Sprint(ch.Whole), yes(ch.StartsSplit), yes(ch.EndsSplit), printable(ch.Head, 24))
			break
		}
		t.Row(fmt.Sprint(i+1), fmt.Sprint(ch.Size), report.Duration(ch.At), fmt.Sprint(ch.Whole), yes(ch.StartsSplit), yes(ch.EndsSplit), printable(ch.Head, 24))
	}
	t.Write(w)
	minR, maxR := 0, 0
	for i, ch := range r.Reads {
		if i == 0 || ch.Size < minR {
			minR = ch.Size
		}
		maxR = max(maxR, ch.Size)
	}
	fmt.Fprintln(w)
	say("", fmt.Sprintf("Reads were %d to %d bytes. %d of %d messages arrived split across two or more reads. "+
		"TCP kept every byte in order but not one write boundary: a byte stream has no messages.",
		minR, maxR, r.SplitMessages, r.Writes))

	fmt.Fprintln(w)
	heading("2. The same bytes read through netlab's framing (one JSON message per line):")
	say("   ", fmt.Sprintf("recovered %d of %d messages, in order: %s", r.Recovered, r.Writes, yes(r.InOrder)))

	if n := r.Nagle; n != nil {
		fmt.Fprintln(w)
		heading(fmt.Sprintf("3. Nagle's algorithm: %s, each request written in two pieces "+
			"with TCP_NODELAY %s (Nagle's algorithm %s):", plural(n.RTT.Count, "request/response round trip"), onOff(n.NoDelay), onOff(!n.NoDelay)))
		say("   ", fmt.Sprintf("round trip min %s  p50 %s  p90 %s  max %s",
			report.Duration(n.RTT.Min), report.Duration(n.RTT.P50), report.Duration(n.RTT.P90), report.Duration(n.RTT.Max)))
		if n.NoDelay {
			say("   ", "Both pieces leave at once. Run with --nodelay=false to hold the second piece back.")
		} else {
			say("   ", "Nagle holds the second piece until the first is acknowledged, and the receiver may "+
				"delay that ACK (Linux: 40 ms at first, up to 200 ms) hoping to piggyback it on a reply: "+
				"together they stall the request.")
		}
	}

	fmt.Fprintln(w)
	heading("4. The kernel's view of the client socket (Linux TCP_INFO, after the writes):")
	if k := r.Kernel; k != nil {
		say("   ", fmt.Sprintf("smoothed RTT %s (±%s), retransmitted segments %d, MSS %d bytes, "+
			"congestion window %d segments, segments out %d, in %d",
			report.Duration(k.RTT), report.Duration(k.RTTVar), k.Retransmits, k.SendMSS, k.CongWindow, k.SegsOut, k.SegsIn))
	} else {
		say("   ", fmt.Sprintf("unavailable: %v", r.KernelErr))
	}
}

func plural(n int, word string) string { return report.Plural(n, word) }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printable shows up to n bytes, with non-printable bytes as '.'.
func printable(b []byte, n int) string {
	var s strings.Builder
	for i, c := range b {
		if i == n {
			s.WriteString("…")
			break
		}
		if c < 0x20 || c > 0x7e {
			if c == '\n' {
				s.WriteString("⏎")
				continue
			}
			s.WriteByte('.')
			continue
		}
		s.WriteByte(c)
	}
	return s.String()
}

// JSON is the --json form of a stream lab run.
type JSON struct {
	Count         int         `json:"count"`
	SizeBytes     int         `json:"size_bytes"`
	ReadSizeBytes int         `json:"read_size_bytes"`
	NoDelay       bool        `json:"nodelay"`
	Writes        int         `json:"writes"`
	BytesWritten  int         `json:"bytes_written"`
	ReadSizes     []int       `json:"read_sizes_bytes"`
	SplitMessages int         `json:"split_messages"`
	Recovered     int         `json:"recovered"`
	InOrder       bool        `json:"in_order"`
	Nagle         *NagleJSON  `json:"nagle,omitempty"`
	Kernel        *KernelJSON `json:"kernel_tcp_info,omitempty"`
}

// NagleJSON is the request/response part.
type NagleJSON struct {
	NoDelay bool               `json:"nodelay"`
	RTT     report.LatencyJSON `json:"rtt"`
}

// KernelJSON is the TCP_INFO excerpt.
type KernelJSON struct {
	RTTUs       float64 `json:"rtt_us"`
	RTTVarUs    float64 `json:"rttvar_us"`
	Retransmits uint32  `json:"retransmits"`
	SendMSS     uint32  `json:"snd_mss_bytes"`
	CongWindow  uint32  `json:"snd_cwnd_segments"`
	SegsOut     uint32  `json:"segs_out"`
	SegsIn      uint32  `json:"segs_in"`
}

// ToJSON converts a result.
func ToJSON(r Result) JSON {
	j := JSON{Count: r.Config.Count, SizeBytes: r.Config.Size, ReadSizeBytes: r.Config.ReadSize,
		NoDelay: r.Config.NoDelay, Writes: r.Writes, BytesWritten: r.BytesWritten, ReadSizes: []int{},
		SplitMessages: r.SplitMessages, Recovered: r.Recovered, InOrder: r.InOrder}
	for _, c := range r.Reads {
		j.ReadSizes = append(j.ReadSizes, c.Size)
	}
	if n := r.Nagle; n != nil {
		j.Nagle = &NagleJSON{NoDelay: n.NoDelay, RTT: report.Latency(n.RTT)}
	}
	if k := r.Kernel; k != nil {
		j.Kernel = &KernelJSON{RTTUs: report.Micros(k.RTT), RTTVarUs: report.Micros(k.RTTVar), Retransmits: k.Retransmits,
			SendMSS: k.SendMSS, CongWindow: k.CongWindow, SegsOut: k.SegsOut, SegsIn: k.SegsIn}
	}
	return j
}
