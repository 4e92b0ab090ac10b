package wire

import (
	"fmt"
	"strings"
	"testing"
)

// A held event-stream response, as netlab's SSE server writes it (chunked),
// with a comment, CRLF and bare-CR line ends, a two-line data field and a
// block with no data.
var sseExchange = []struct {
	dir Dir
	b   string
}{
	{ClientToServer, "GET /sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"},
	{ServerToClient, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{ServerToClient, chunked("retry: 1000\n\nevent: session\ndata: 3f\n\n")},
	{ServerToClient, chunked("id: 1\ndata: {\"seq\":1,\"event\":\"tick\",\"text\":\"1\"}\n\n")},
	{ServerToClient, chunked(": ping\n")},
	{ServerToClient, chunked("id: 2\r\ndata: a\rdata: b\r\n\r\n")},
	{ServerToClient, "0\r\n\r\n"},
}

// chunked is s as one chunk of a chunked body.
func chunked(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

func decodeSSE(t *testing.T, split int) (string, Totals) {
	t.Helper()
	var out strings.Builder
	d := NewDecoder("conn 1", Auto, -1, func(s string) { out.WriteString(s) })
	for _, r := range sseExchange {
		for b := r.b; len(b) > 0; {
			n := min(split, len(b))
			d.Feed(r.dir, []byte(b[:n]))
			b = b[n:]
		}
	}
	d.Close()
	return out.String(), d.Totals()
}

func TestDecoderEventStream(t *testing.T) {
	whole, wt := decodeSSE(t, 1<<20)
	t.Log(whole)
	for _, want := range []string{
		"the body is an event stream, held open",
		"SSE fields, no event\n",
		"retry: 1000   (the client waits 1000 ms before reconnecting)",
		"SSE event 1\n", "event: session   (the event's type",
		"SSE event 2\n", "id: 1   (the client sends it back as Last-Event-ID",
		`data netlab message seq=1 event="tick" data="1"`,
		`SSE comment ": ping"`,
		"SSE event 3\n", `data plain text "a\nb"`,
		"HTTP response ended HTTP/1.1 200 OK",
		"3 events, 1 comment",
	} {
		if !strings.Contains(whole, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if wt.Messages != 1 {
		t.Errorf("%d netlab messages, want 1", wt.Messages)
	}
	if got, want := wt.Cost.Total(), wt.BytesToServer+wt.BytesToClient; got != want {
		t.Errorf("cost adds up to %d B, the tap saw %d B", got, want)
	}
	// The same bytes one at a time decode the same.
	for _, split := range []int{1, 2, 7} {
		if got, _ := decodeSSE(t, split); got != whole {
			t.Errorf("split every %d bytes:\n%s", split, diffLines(whole, got))
		}
	}
}

func TestDecoderEventStreamCutOff(t *testing.T) {
	var out strings.Builder
	d := NewDecoder("conn 1", Auto, -1, func(s string) { out.WriteString(s) })
	for _, r := range sseExchange[:4] {
		d.Feed(r.dir, []byte(r.b))
	}
	d.Feed(ServerToClient, []byte(chunked("id: 3\ndata")))
	d.Close()
	for _, want := range []string{"the connection closed with the event stream open", "the stream ended inside an event"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, out.String())
		}
	}
}
