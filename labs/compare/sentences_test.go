package compare

import (
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// crafted builds a column with the given push figures, no network involved.
func crafted(name, label string, info transport.Info, p50, mean time.Duration, wire transport.WireStats, delivered, up int) Column {
	info.Name = name
	delays := make([]time.Duration, delivered)
	for i := range delays {
		delays[i] = p50
	}
	sum := stats.Summarize(delays)
	sum.Mean = mean
	return Column{
		Subject: Subject{Name: name, Label: label},
		Name:    name,
		Info:    info,
		Push: &push.Result{Transport: name, Info: info, Emitted: delivered, Delivered: delivered,
			Delay: sum, Delays: delays, UpSent: up, UpReceived: up, UpDuringPush: up,
			Wire: wire, HasWire: true},
	}
}

var (
	wsInfo   = transport.Info{Network: "tcp", Reliable: true, Ordered: true, Connected: true, Duplex: true}
	pollInfo = transport.Info{Network: "tcp", Reliable: true, Ordered: true, Connected: false, Duplex: false}
	udpInfo  = transport.Info{Network: "udp"}
)

func has(ss []string, parts ...string) bool {
	for _, s := range ss {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(s, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestSentencesReadTheNumbers(t *testing.T) {
	ws := crafted("ws", "WebSocket", wsInfo, 1200*time.Microsecond, 1300*time.Microsecond,
		transport.WireStats{BytesSent: 2000, BytesReceived: 2000, Requests: 1}, 20, 20)
	poll := crafted("poll", "short polling every 100 ms", pollInfo, 48*time.Millisecond, 51*time.Millisecond,
		transport.WireStats{BytesSent: 20000, BytesReceived: 20000, Requests: 60, EmptyPolls: 30}, 20, 20)
	poll.Subject.PollInterval = 100 * time.Millisecond
	long := crafted("longpoll", "long polling", pollInfo, 900*time.Microsecond, time.Millisecond,
		transport.WireStats{BytesSent: 15000, BytesReceived: 15000, Requests: 40}, 20, 20)
	long.Subject.LongPoll = true
	udp := crafted("udp", "UDP", udpInfo, 100*time.Microsecond, 100*time.Microsecond,
		transport.WireStats{BytesSent: 1500, BytesReceived: 1500}, 20, 20)
	udp.Push.Emitted = 22 // two lost
	got := Sentences(Result{Columns: []Column{ws, poll, long, udp}})
	t.Logf("%s", strings.Join(got, "\n"))
	for _, want := range [][]string{
		{"WebSocket delivered server events 40× sooner than short polling every 100 ms", "1.20 ms", "48.0 ms"},
		{"Short polling every 100 ms delayed events by 51.0 ms on average, about half its 100 ms poll interval"},
		{"made 60 requests; 30 came back empty (1.50 per event delivered)"},
		{"Long polling delivered events in 900 µs at the median, 53× less than short polling every 100 ms, but", "1.00 requests per message", "40 requests for 20 events down and 20 messages up"},
		{"WebSocket pushed 20 events down and carried 20 client messages up over one connection", "one HTTP request (its handshake)"},
		{"UDP lost 2 of 22 events"},
		{"Short polling every 100 ms spent 1000 B on the wire per message, 13× what UDP spent (75 B): every HTTP request"},
	} {
		if !has(got, want...) {
			t.Errorf("no sentence with %q", want)
		}
	}
	// Polling is not duplex: no "over one connection" claim for it.
	if has(got, "polling", "over one connection") {
		t.Error("a polling transport was said to push over one connection")
	}
}

// TestSentencesNeverClaimFasterWhenNot swaps the numbers: when short polling
// is as fast as WebSocket, no sentence may say one is faster, and "about
// half its poll interval" is not claimed when the delay is not.
func TestSentencesNeverClaimFasterWhenNot(t *testing.T) {
	ws := crafted("ws", "WebSocket", wsInfo, 10*time.Millisecond, 10*time.Millisecond,
		transport.WireStats{BytesSent: 1000, BytesReceived: 1000, Requests: 1}, 20, 20)
	poll := crafted("poll", "short polling every 100 ms", pollInfo, 12*time.Millisecond, 12*time.Millisecond,
		transport.WireStats{BytesSent: 1200, BytesReceived: 1200, Requests: 40}, 20, 20)
	poll.Subject.PollInterval = 100 * time.Millisecond
	got := Sentences(Result{Columns: []Column{ws, poll}})
	t.Logf("%s", strings.Join(got, "\n"))
	if has(got, "sooner") {
		t.Error("claims one is sooner though 12 ms vs 10 ms is under the 1.5× threshold")
	}
	if has(got, "about half") {
		t.Error("claims about half the interval for a 12 ms mean at 100 ms")
	}
	if !has(got, "12.0 ms on average, 12.0% of its 100 ms poll interval") {
		t.Error("missing the honest share of the poll interval")
	}
	if has(got, "came back empty") {
		t.Error("claims empty polls though there were none")
	}
	if has(got, "on the wire per message") {
		t.Error("compares bytes though they differ by less than 1.5×")
	}

	// The other way round: polling faster than ws (as it could be under an
	// impaired link) must name polling as the sooner one, never ws.
	ws.Push.Delay.P50 = 90 * time.Millisecond
	got = Sentences(Result{Columns: []Column{ws, poll}})
	if has(got, "WebSocket delivered server events") {
		t.Errorf("says WebSocket was sooner though its median was 90 ms against 12 ms: %q", got)
	}
	if !has(got, "Short polling every 100 ms delivered server events 7.5× sooner than WebSocket") {
		t.Errorf("missing the true direction: %q", got)
	}
}

func TestSentencesNeedEnoughSamples(t *testing.T) {
	ws := crafted("ws", "WebSocket", wsInfo, time.Millisecond, time.Millisecond, transport.WireStats{Requests: 1}, 2, 0)
	poll := crafted("poll", "short polling", pollInfo, 50*time.Millisecond, 50*time.Millisecond, transport.WireStats{Requests: 5}, 2, 0)
	poll.Subject.PollInterval = 100 * time.Millisecond
	if got := Sentences(Result{Columns: []Column{ws, poll}}); has(got, "sooner") || has(got, "on average") {
		t.Errorf("delay sentences from 2 samples: %q", got)
	}
}

func TestSentencesUDPWithoutLoss(t *testing.T) {
	udp := crafted("udp", "UDP", udpInfo, 100*time.Microsecond, 100*time.Microsecond, transport.WireStats{}, 20, 20)
	got := Sentences(Result{Columns: []Column{udp}})
	if !has(got, "UDP lost none of 20 events this run, but it promises nothing") {
		t.Errorf("missing what UDP does not promise: %q", got)
	}
}

func TestSentencesEcho(t *testing.T) {
	mk := func(name string, p50 time.Duration) Column {
		d := make([]time.Duration, 10)
		for i := range d {
			d[i] = p50
		}
		return Column{Subject: Subject{Name: name}, Name: name,
			Echo: &EchoFigures{Sent: 10, Received: 10, RTT: stats.Summarize(d)}}
	}
	got := Sentences(Result{Columns: []Column{mk("tcp", 60*time.Microsecond), mk("ws", 70*time.Microsecond), mk("poll", 60*time.Millisecond)}})
	if !has(got, "An echo round trip took 60.0 µs over tcp and 60.0 ms over poll (1000× longer, median)") {
		t.Errorf("echo sentence: %q", got)
	}
	got = Sentences(Result{Columns: []Column{mk("tcp", 60*time.Microsecond), mk("ws", 70*time.Microsecond)}})
	if has(got, "round trip") {
		t.Errorf("echo sentence for a 1.2× difference: %q", got)
	}
}

func TestSentencesSSEAndSocketIO(t *testing.T) {
	sse := crafted("sse", "SSE", pollInfo, 300*time.Microsecond, 300*time.Microsecond,
		transport.WireStats{BytesSent: 5000, BytesReceived: 5000, Requests: 23}, 20, 20)
	sse.Subject.ServerPush = true
	sio := crafted("socketio", "Socket.IO", wsInfo, 500*time.Microsecond, 500*time.Microsecond,
		transport.WireStats{BytesSent: 4000, BytesReceived: 4000, Requests: 6}, 20, 20)
	sio.Subject.PollsThenUpgrades = true
	got := Sentences(Result{Columns: []Column{sse, sio}})
	if !has(got, "SSE pushed 20 events down one held HTTP response", "300 µs", "20 client messages went up in POST requests: 23 HTTP requests") {
		t.Errorf("no SSE sentence with its numbers: %q", got)
	}
	if !has(got, "Socket.IO made 6 HTTP requests", "starts on HTTP long polling", "upgrades to a WebSocket") {
		t.Errorf("no Socket.IO sentence with its numbers: %q", got)
	}
	// A client told to use only WebSocket does not start on polling: no
	// sentence may say it did.
	sio.Subject.PollsThenUpgrades = false
	sio.Push.Wire.Requests = 1
	if got := Sentences(Result{Columns: []Column{sio}}); has(got, "long polling") {
		t.Errorf("a WebSocket-only Socket.IO client was said to poll: %q", got)
	}
}
