package missed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netlab/netlab/labs/stats"
)

// LastEventID is Server-Sent Events' own way back, beside the
// application's ack and replay: every event has an id:, and a client whose
// stream is lost reconnects by itself after the server's retry: and sends
// the last id it got as the Last-Event-ID header; the server writes again
// what came after it, from a bounded buffer of the events it wrote last.
// What had left the buffer is a gap, and counted. Events the server sent
// while no stream was open at all wait in its queue and follow.
//
// It runs the Offline scenario over the real protocol, through a
// StreamLink (Config.StreamLink: cmd/netlab wires transport/sse), whatever
// the transport column: it is only run for "sse". The link goes dark under
// the open stream: what the server writes is lost, the client hears
// nothing, not even the heartbeat, and gives up on the stream after three
// heartbeats; its reconnects fail until the link is back.
const LastEventID Strategy = Recovery + 1

// A StreamLink is an SSE server that keeps a replay buffer and one client
// with a stream open to it, as transport/sse provides them, joined by a
// link that can go dark.
type StreamLink interface {
	// Emit has the server send event "tick" n on the client's session.
	Emit(ctx context.Context, n int) error
	// Next returns the number of the next tick the client's application
	// gets.
	Next(ctx context.Context) (int, error)
	// Drop takes the link down: what the server writes on the open stream
	// is lost, and new connections fail, until Resume.
	Drop()
	Resume()
	// Stats says what the session's streams did so far.
	Stats() StreamStats
	Close() error
}

// StreamStats is what an SSE session's streams did.
type StreamStats struct {
	Streams    int64 // GETs that streamed the session (the first and each reconnect)
	Reconnects int64 // times the client tried to open the stream again
	LastID     int64 // the Last-Event-ID the reconnect that worked sent
	Replayed   int64 // events written again from the replay buffer
	Gap        int64 // events the reconnect asked for that had left the buffer
	Heartbeat  time.Duration
	Retry      time.Duration
}

// StreamInfo is what SSE's reconnect did in one run.
type StreamInfo struct {
	StreamStats
	Buffer  int           // the replay buffer, in events (--window)
	Noticed time.Duration // from the link going dark until the client first tried to reconnect
}

func runLastEventID(ctx context.Context, cfg Config, sc Scenario) Result {
	if sc != Offline {
		return Result{Err: "missed: last-event-id is about a stream that is lost and comes back: run it with --scenario offline"}
	}
	if cfg.StreamLink == nil {
		return Result{Err: "missed: last-event-id needs Config.StreamLink (SSE)"}
	}
	p := cfg.plan(Offline)
	link, err := cfg.StreamLink(ctx, cfg.Window)
	if err != nil {
		return Result{Err: err.Error()}
	}
	defer link.Close()

	info := &StreamInfo{Buffer: cfg.Window}
	res := Result{Emitted: p.total, StreamInfo: info}
	got := map[int]time.Time{}
	sentAt := make([]time.Time, p.total+1)
	cutSeen := make(chan struct{})
	done := make(chan struct{})
	readErr := make(chan error, 1)
	var droppedAt, backAt time.Time

	// The client's application: it records every tick.
	go func() {
		defer close(done)
		for {
			n, err := link.Next(ctx)
			if err != nil {
				readErr <- err
				return
			}
			if _, dup := got[n]; dup || n < 1 || n > p.total {
				res.Duplicated++
				continue
			}
			got[n] = time.Now()
			if n == p.cutAfter {
				close(cutSeen)
			}
			if len(got) == p.total {
				return
			}
		}
	}()

	every := time.Duration(float64(time.Second) / cfg.Rate)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var streamsAtDrop int64
	for n := 1; n <= p.total && ctx.Err() == nil; n++ {
		sentAt[n] = time.Now()
		if err := link.Emit(ctx, n); err != nil {
			if ctx.Err() == nil {
				res.Err = fmt.Sprintf("missed: emit %d: %v", n, err)
			}
			break
		}
		if n == p.cutAfter {
			select {
			case <-cutSeen:
			case <-time.After(5 * time.Second):
				res.Err = "missed: the client never got the event before the cut"
				return res
			case <-ctx.Done():
			}
			streamsAtDrop = link.Stats().Streams
			link.Drop()
			droppedAt = time.Now()
		}
		if n > p.cutAfter && n <= p.backAfter && info.Noticed == 0 && link.Stats().Reconnects > 0 {
			info.Noticed = time.Since(droppedAt)
		}
		if n == p.backAfter {
			link.Resume()
			backAt = time.Now()
		}
		if n < p.total {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	select {
	case <-done:
	case <-time.After(2*time.Second + 3*cfg.Offline/2): // what is missing stays missing
	case err := <-readErr:
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			res.Err = fmt.Sprintf("missed: client: %v", err)
		}
	case <-ctx.Done():
	}
	info.StreamStats = link.Stats()
	link.Close()
	<-done
	if info.Streams <= streamsAtDrop && res.Err == "" && ctx.Err() == nil {
		res.Err = "missed: the client never reopened its stream after the link came back"
	}

	var delays []time.Duration
	var last time.Time
	for n := 1; n <= p.total; n++ {
		at, ok := got[n]
		if !ok {
			continue
		}
		res.Delivered++
		delays = append(delays, at.Sub(sentAt[n]))
		if n > p.cutAfter && n <= p.backAfter {
			res.Recovered++
			last = maxTime(last, at)
		}
	}
	res.Missed = res.Emitted - res.Delivered
	res.Unrecoverable = int(info.Gap)
	res.Replayed = info.Replayed
	res.ExtraMessages = info.Replayed
	res.HeldPeakEvents = min(cfg.Window, p.total)
	if res.Recovered > 0 && !backAt.IsZero() {
		res.TimeToRecover = max(0, last.Sub(backAt))
	}
	res.Delay = stats.Summarize(delays)
	return res
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lastEventIDNotes explains the last-event-id rows of a table.
func lastEventIDNotes(results []Result) []string {
	var out []string
	for _, r := range results {
		i := r.StreamInfo
		if i == nil || r.Err != "" {
			continue
		}
		noticed := "the client never gave up on the stream"
		if i.Noticed > 0 {
			noticed = fmt.Sprintf("the client gave up on the silent stream %v after the link went dark (heartbeat %v; it waits 3)",
				i.Noticed.Round(time.Millisecond), i.Heartbeat)
		}
		out = append(out, fmt.Sprintf("last-event-id (SSE, replay buffer %d events, retry: %v): %s; it tried %d times to reconnect, "+
			"and the stream that worked sent Last-Event-ID: %d; of the events the server had written into the dark link, %d came again from its buffer "+
			"and %d had left it (gone); the events sent while no stream was open followed from its queue",
			i.Buffer, i.Retry, noticed, i.Reconnects, i.LastID, i.Replayed, i.Gap))
	}
	return out
}
