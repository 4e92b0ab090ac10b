package wire

import (
	"fmt"
	"io"

	"github.com/netlab/netlab/labs/report"
	tap "github.com/netlab/netlab/transport/wire"
)

// WriteText prints the result for people: one transport's totals (its
// trace was printed as it happened), or several side by side.
func (res Result) WriteText(w io.Writer) error {
	if len(res.Echoes) == 0 {
		return nil
	}
	if len(res.Echoes) == 1 {
		r := res.Echoes[0]
		fmt.Fprintln(w)
		title := fmt.Sprintf("%s echo through the tap: %s of %d B sent, %d echoed", r.Transport, report.Plural(r.Sent, "message"), res.Size, r.Received)
		if res.Interrupted {
			title += " (interrupted)"
		}
		return TotalsTable(title, r.Totals).Write(w)
	}
	return res.compareTable().Write(w)
}

// TotalsTable summarizes a tap's totals: traffic, then where the bytes went.
func TotalsTable(title string, t tap.Totals) *report.Table {
	tb := &report.Table{Title: title, Header: []string{"", "count"}}
	num := func(label string, n int64) {
		if n != 0 {
			tb.Row(label, fmt.Sprint(n))
		}
	}
	num("connections", t.Conns)
	num("reads (TCP)", t.Reads)
	num("datagrams (UDP)", t.Datagrams)
	num("HTTP requests", t.Requests)
	num("HTTP responses", t.Responses)
	num("WebSocket frames", t.Frames)
	num("netlab messages", t.Messages)
	tb.Row("bytes client → server", report.Bytes(t.BytesToServer))
	tb.Row("bytes server → client", report.Bytes(t.BytesToClient))
	total := t.Cost.Total()
	tb.Section("where the decoded bytes went")
	part := func(label string, n int64) {
		pct := "–"
		if total > 0 {
			pct = report.Percent(float64(n) / float64(total))
		}
		tb.Row(label, fmt.Sprintf("%d B  %6s", n, pct))
	}
	part("payload (the application's data)", t.Cost.Payload)
	part("envelope (netlab's JSON fields)", t.Cost.Envelope)
	part("framing (\\n, frame headers, chunks)", t.Cost.Framing)
	part("HTTP headers", t.Cost.Headers)
	if t.Cost.Encrypted > 0 {
		part("encrypted (QUIC: data and overhead alike)", t.Cost.Encrypted)
	}
	tb.Row("total", fmt.Sprintf("%d B", total))
	if t.Messages > 0 {
		tb.Notes = append(tb.Notes, fmt.Sprintf("per netlab message: %.1f B on the wire", float64(total)/float64(t.Messages)))
	}
	if t.DecodeStopped > 0 {
		tb.Notes = append(tb.Notes, fmt.Sprintf("decoding stopped on %d connection(s); %d B were forwarded but not decoded", t.DecodeStopped, t.UndecodedBytes))
	}
	return tb
}

// compareTable puts several transports' costs side by side.
func (res Result) compareTable() *report.Table {
	rs := res.Echoes
	t, row := report.SideBySide(rs, func(r Echo) string {
		if res.Interrupted && len(rs) > 0 && r.Transport == rs[len(rs)-1].Transport {
			return r.Transport + " (interrupted)" // Run stops at the one Ctrl-C cut short
		}
		return r.Transport
	})
	n := func(v int64) string { return fmt.Sprint(v) }
	b := func(v int64) string { return fmt.Sprintf("%d B", v) }
	t.Title = fmt.Sprintf("What %d echoed messages of %d B cost on the wire, through the tap", res.Count, res.Size)
	row("messages sent / echoed", func(r Echo) string { return fmt.Sprintf("%d / %d", r.Sent, r.Received) })
	row("connections", func(r Echo) string { return n(r.Totals.Conns) })
	row("HTTP requests", func(r Echo) string { return n(r.Totals.Requests) })
	row("WebSocket frames", func(r Echo) string { return n(r.Totals.Frames) })
	row("UDP datagrams", func(r Echo) string { return n(r.Totals.Datagrams) })
	t.Section("bytes, both directions")
	row("payload", func(r Echo) string { return b(r.Totals.Cost.Payload) })
	row("envelope (netlab JSON)", func(r Echo) string { return b(r.Totals.Cost.Envelope) })
	row("framing", func(r Echo) string { return b(r.Totals.Cost.Framing) })
	row("HTTP headers", func(r Echo) string { return b(r.Totals.Cost.Headers) })
	row("encrypted (QUIC)", func(r Echo) string { return b(r.Totals.Cost.Encrypted) })
	row("total", func(r Echo) string { return b(r.Totals.Cost.Total()) })
	row("per netlab message", func(r Echo) string {
		if r.Totals.Messages == 0 {
			return "–" // none decoded: QUIC is encrypted, Socket.IO wraps them in its own packets
		}
		return fmt.Sprintf("%.1f B", r.BytesPerMessage())
	})
	t.Notes = []string{
		"Counted above TCP/UDP: the kernel adds 20-60 B of TCP or 8 B of UDP header, 20 B of IPv4 and the link's header per packet (see netlab layers).",
		"Totals include one-time setup (the WebSocket handshake, the poll session) and, for polling, the polls that found nothing; a larger --count spreads the setup thinner.",
	}
	if res.Interrupted {
		t.Notes = append(t.Notes, "(interrupted): Ctrl-C stopped the run; its column is what crossed the tap until then.")
	}
	for _, r := range rs {
		if r.Totals.Messages == 0 && r.Received > 0 {
			t.Notes = append(t.Notes, "–: the tap decoded no netlab message there (QUIC is encrypted: the tap reads only its packet headers; Socket.IO wraps messages in packets of its own); the bytes are counted all the same.")
			break
		}
	}
	return t
}

// ConfigJSON is how the run was set up, in the --json envelope.
type ConfigJSON struct {
	Transports []string `json:"transports"`
	Count      int      `json:"count"`
	SizeBytes  int      `json:"size_bytes"`
}

// ConfigJSON returns how a run with o was set up.
func (res Result) ConfigJSON(o Options) ConfigJSON {
	c := ConfigJSON{Transports: []string{}, Count: res.Count, SizeBytes: res.Size}
	for _, tr := range o.Transports {
		c.Transports = append(c.Transports, tr.Info().Name)
	}
	return c
}

// EchoJSON is one transport's echo through the tap in JSON.
type EchoJSON struct {
	Transport       string     `json:"transport"`
	Sent            int        `json:"sent"`
	Received        int        `json:"received"`
	Totals          tap.Totals `json:"totals"`
	BytesPerMessage float64    `json:"wire_bytes_per_message"`
}

// JSON is the per-transport JSON form of res.
func (res Result) JSON() []EchoJSON {
	out := []EchoJSON{}
	for _, r := range res.Echoes {
		out = append(out, EchoJSON{Transport: r.Transport, Sent: r.Sent, Received: r.Received, Totals: r.Totals, BytesPerMessage: r.BytesPerMessage()})
	}
	return out
}
