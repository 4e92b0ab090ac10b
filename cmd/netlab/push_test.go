package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPushCommand(t *testing.T) {
	code, out, errOut := netlab(t, "", "push", "--transports", "tcp,udp", "--schedule", "fixed", "--rate", "100", "--count", "10")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing (not a terminal: no progress line)", errOut)
	}
	for _, want := range []string{"tcp", "udp", "events delivered", "10/10", "share one clock", "padded its datagrams"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPushCommandJSON(t *testing.T) {
	code, out, errOut := netlab(t, "", "push", "--transports", "tcp", "--schedule", "fixed", "--rate", "100", "--count", "5", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc struct {
		Lab     string `json:"lab"`
		Results []struct {
			Transport       string `json:"transport"`
			EventsEmitted   int    `json:"events_emitted"`
			EventsDelivered int    `json:"events_delivered"`
			UpReceived      int    `json:"up_received"`
		} `json:"results"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if doc.Lab != "push" || len(doc.Results) != 1 || doc.Results[0].EventsDelivered != 5 ||
		doc.Results[0].EventsEmitted != 5 || doc.Results[0].UpReceived != 5 || len(doc.Errors) != 0 {
		t.Errorf("JSON %s", out)
	}
}

func TestCompareCommand(t *testing.T) {
	code, out, errOut := netlab(t, "", "compare", "--transports", "tcp,udp", "--schedule", "fixed", "--rate", "100", "--count", "10", "--echo-count", "5")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"compare: echo and push over tcp, udp", "round trip p50", "events delivered", "What this run says:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = netlab(t, "", "compare", "--transports", "tcp", "--count", "5", "--rate", "100", "--echo-count", "5", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc struct {
		Lab     string         `json:"lab"`
		Config  map[string]any `json:"config"`
		Results map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if doc.Lab != "compare" || doc.Config["push"] == nil {
		t.Errorf("JSON lab %q, config %v", doc.Lab, doc.Config)
	}
	for _, k := range []string{"elapsed_us", "transports", "sentences"} {
		if _, ok := doc.Results[k]; !ok {
			t.Errorf("JSON results lack %q: %s", k, out)
		}
	}
}

func TestPushAndCompareBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"push", "--rate", "0"},
		{"push", "--schedule", "burst"},
		{"push", "--count", "0"},
		{"push", "--transports", "carrier-pigeon"},
		{"push", "--up-rate", "-2"},
		{"compare", "--count", "0"},
		{"compare", "--echo-count", "0"},
		{"compare", "--rate", "-1"},
		{"compare", "extra-arg"},
	} {
		code, _, errOut := netlab(t, "", args...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want %d and one line", args, code, errOut, exitUsage)
		}
	}
}

func TestPushInterruptedPrintsPartial(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"push", "--transports", "tcp", "--schedule", "fixed", "--rate", "20", "--count", "1000"},
			&app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	// Cancel once the lab has run a while (it takes 50 s uncancelled).
	time.Sleep(500 * time.Millisecond)
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr %q", code, exitInterrupted, errOut.String())
	}
	if !strings.Contains(out.String(), "interrupted") || !strings.Contains(out.String(), "events delivered") {
		t.Errorf("no partial table:\n%s", out.String())
	}
}

// pushDoc is the part of 'netlab push --json' the tests read.
type pushDoc struct {
	Results []struct {
		Transport       string `json:"transport"`
		EventsEmitted   int    `json:"events_emitted"`
		EventsDelivered int    `json:"events_delivered"`
		EventsLost      int    `json:"events_lost"`
		Reordered       int    `json:"reordered"`
		Duplicates      int    `json:"duplicates"`
		UpSent          int    `json:"up_sent"`
		UpReceived      int    `json:"up_received"`
		UpLost          int    `json:"up_lost"`
		UpDuringPush    int    `json:"up_during_push"`
		Hellos          int    `json:"hellos"`
		Delay           struct {
			Count int     `json:"count"`
			P50Us float64 `json:"p50_us"`
		} `json:"delay"`
		Wire *struct {
			BytesSent     int64 `json:"bytes_sent"`
			BytesReceived int64 `json:"bytes_received"`
			Requests      int64 `json:"requests"`
			EmptyPolls    int64 `json:"empty_polls"`
		} `json:"wire"`
	} `json:"results"`
	Errors []string `json:"errors"`
}

// TestPushOverTCPAndUDPExactCounts runs the push lab over real TCP and UDP
// sockets on 127.0.0.1 with a fixed schedule: 30 events each way.
func TestPushOverTCPAndUDPExactCounts(t *testing.T) {
	code, out, errOut := netlab(t, "", "push", "--transports", "tcp,udp", "--schedule", "fixed", "--rate", "100", "--count", "30", "--drain", "500ms", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc pushDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 2 {
		t.Fatalf("%v, results in %s", err, out)
	}
	tcp, udp := doc.Results[0], doc.Results[1]
	if tcp.EventsEmitted != 30 || tcp.EventsDelivered != 30 || tcp.UpSent != 30 || tcp.UpReceived != 30 ||
		tcp.Reordered != 0 || tcp.Duplicates != 0 || tcp.Delay.Count != 30 {
		t.Errorf("tcp: %+v; want 30 events and 30 upstream, all delivered in order", tcp)
	}
	if tcp.Wire == nil || tcp.Wire.Requests != 0 || tcp.Wire.EmptyPolls != 0 ||
		tcp.Wire.BytesReceived < 30*16 || tcp.Wire.BytesSent < 30*16 {
		t.Errorf("tcp wire %+v: want bytes both ways (>= 30 × 16-byte payloads), no requests", tcp.Wire)
	}
	// Both schedules span the same 290 ms; most upstream lands in it.
	if tcp.UpDuringPush < 20 {
		t.Errorf("tcp: upstream while pushing %d of 30, want most", tcp.UpDuringPush)
	}
	// Generous: a loaded machine adds milliseconds, never a second.
	if tcp.Delay.P50Us > 1e6 {
		t.Errorf("tcp: delay p50 %v µs over loopback", tcp.Delay.P50Us)
	}
	// UDP may lose: whatever was lost is counted, never hidden.
	if udp.EventsEmitted != 30 || udp.EventsDelivered+udp.EventsLost != 30 || udp.UpReceived+udp.UpLost != udp.UpSent {
		t.Errorf("udp: %+v; want delivered + lost = emitted both ways", udp)
	}
	if udp.EventsDelivered < 20 || udp.Hellos < 1 {
		t.Errorf("udp: delivered %d of 30 over loopback, hellos %d", udp.EventsDelivered, udp.Hellos)
	}
}

// TestCompareShowsPushVersusPolling checks the lesson compare exists for,
// with generous margins: over real HTTP and WebSocket servers, WebSocket
// delivers server events sooner than short polling (whose median wait is
// tens of milliseconds at a 100 ms interval), with one HTTP request against
// many, and the sentences say so.
func TestCompareShowsPushVersusPolling(t *testing.T) {
	code, out, errOut := netlab(t, "", "compare", "--transports", "poll,longpoll,ws", "--rate", "20", "--count", "10", "--echo-count", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc struct {
		Transports []struct {
			Name string `json:"name"`
			Push struct {
				EventsDelivered int `json:"events_delivered"`
				Delay           struct {
					P50Us float64 `json:"p50_us"`
				} `json:"delay"`
				Wire struct {
					Requests int64 `json:"requests"`
				} `json:"wire"`
			} `json:"push"`
		} `json:"transports"`
		Sentences []string `json:"sentences"`
	}
	if _, results := envelopeOf(t, out); json.Unmarshal(results, &doc) != nil || len(doc.Transports) != 3 {
		t.Fatalf("results in %s", out)
	}
	poll, long, ws := doc.Transports[0].Push, doc.Transports[1].Push, doc.Transports[2].Push
	for i, p := range []int{poll.EventsDelivered, long.EventsDelivered, ws.EventsDelivered} {
		if p != 10 {
			t.Errorf("%s delivered %d of 10", doc.Transports[i].Name, p)
		}
	}
	if !(ws.Delay.P50Us < poll.Delay.P50Us) {
		t.Errorf("ws median delay %v µs not below short polling's %v µs", ws.Delay.P50Us, poll.Delay.P50Us)
	}
	if ws.Wire.Requests != 1 || poll.Wire.Requests <= 10 || long.Wire.Requests <= 10 {
		t.Errorf("requests: ws %d (want 1), poll %d and longpoll %d (want > 10)", ws.Wire.Requests, poll.Wire.Requests, long.Wire.Requests)
	}
	found := false
	for _, s := range doc.Sentences {
		if strings.HasPrefix(s, "WebSocket delivered server events") && strings.Contains(s, "sooner than short polling every 100 ms") {
			found = true
		}
	}
	if !found {
		t.Errorf("no sentence saying WebSocket was sooner than short polling: %q", doc.Sentences)
	}
}

// TestProgressOnlyOnATerminal: a progress line goes to stderr when it is a
// terminal, and stdout stays the same table either way.
func TestProgressOnlyOnATerminal(t *testing.T) {
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"compare", "--transports", "tcp", "--no-echo", "--schedule", "fixed", "--rate", "100", "--count", "3"},
		&app{in: strings.NewReader(""), out: &out, errOut: &errOut, errIsTerminal: true})
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "compare: push over tcp (1/1)") {
		t.Errorf("stderr %q has no progress line", errOut.String())
	}
	if strings.Contains(out.String(), "compare: push over tcp (") {
		t.Error("progress went to stdout")
	}
	out2, errOut2 := &syncBuffer{}, &syncBuffer{}
	code = run(context.Background(), []string{"push", "--transports", "tcp", "--schedule", "fixed", "--rate", "100", "--count", "3"},
		&app{in: strings.NewReader(""), out: out2, errOut: errOut2, errIsTerminal: true})
	if code != exitOK || !strings.Contains(errOut2.String(), "push over tcp (1/1)") {
		t.Errorf("push: exit %d, stderr %q; want a progress line", code, errOut2.String())
	}
}
