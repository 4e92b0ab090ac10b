package missed

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/netlab/netlab/labs/report"
)

// Table lays out results: one section per scenario, one row per strategy and
// transport.
func Table(cfg Config, results []Result) *report.Table {
	cfg = cfg.withDefaults()
	t := &report.Table{
		Title: "missed: the server emits numbered events to one client that gets into trouble",
		Header: []string{"strategy", "transport", "emitted", "delivered", "missed", "dup", "recovered",
			"gone", "dropped", "recover", "held", "extra msgs", "delay p50", "delay max"},
		// Left out first when the table is wider than 100 columns: the
		// server's cost, then the tail of the delay, then the rest of the
		// recovery detail (--json has them all).
		Columns: []report.Column{10: {Drop: 1}, 11: {Drop: 2}, 13: {Drop: 3}, 7: {Drop: 4}, 9: {Drop: 5}, 5: {Drop: 6}, 8: {}},
	}
	cutting := cfg.OfflineMode == Cut && slices.Contains(cfg.Scenarios, Offline)
	if cutting {
		t.Header = append(t.Header, "conn", "late", "catch-up")
		// With a cut, the late events are the story: keep the duplicates
		// and the worst delay longest, drop what the client did not do.
		t.Columns = append(t.Columns, make([]report.Column, len(t.Header)-len(t.Columns))...)
		for col, rank := range map[int]int{10: 1, 11: 2, 7: 3, 9: 4, 8: 5, 12: 6, 5: 7, 13: 8} {
			t.Columns[col] = report.Column{Drop: rank}
		}
	}
	var last Scenario = -1
	var failed, lost []string
	for _, r := range results {
		if r.Scenario != last {
			last = r.Scenario
			t.Section(Describe(cfg, r.Scenario))
		}
		if r.Err != "" {
			t.Row(r.Strategy.String(), r.Transport, "failed")
			failed = append(failed, fmt.Sprintf("failed: %s/%s/%s: %s", r.Scenario, r.Strategy, r.Transport, r.Err))
			continue
		}
		recover := "-"
		if r.Recovered > 0 {
			recover = report.Duration(r.TimeToRecover)
		}
		held := "0"
		if r.HeldPeakEvents > 0 {
			held = fmt.Sprintf("%d (%s)", r.HeldPeakEvents, report.Bytes(r.HeldPeakBytes))
		}
		name := r.Strategy.String()
		if r.Interrupted {
			name += " (interrupted)"
		}
		delay := func(d time.Duration) string {
			if r.Delay.Count == 0 {
				return "–" // nothing delivered: no delay measured
			}
			return report.Duration(d)
		}
		row := []string{name, r.Transport,
			itoa(r.Emitted), itoa(r.Delivered), itoa(r.Missed), itoa(r.Duplicated), itoa(r.Recovered),
			itoa(r.Unrecoverable), itoa(r.DroppedUnhandled + r.DroppedQueueFull), recover, held,
			strconv.FormatInt(r.ExtraMessages, 10), delay(r.Delay.P50), delay(r.Delay.Max)}
		if cutting {
			if r.Scenario == Offline {
				conn, catchUp := "held", "-"
				if r.ConnLost > 0 {
					conn = fmt.Sprintf("lost %d, redialed", r.ConnLost)
					lost = append(lost, fmt.Sprintf("lost: %s/%s: %s", r.Strategy, r.Transport, r.ConnLostErr))
				}
				if r.CatchUp > 0 {
					catchUp = report.Duration(r.CatchUp)
				}
				row = append(row, conn, itoa(r.Late), catchUp)
			} else {
				row = append(row, "-", "-", "-")
			}
		}
		t.Row(row...)
	}
	t.Notes = []string{
		"delivered: distinct events the client's application got; missed = emitted - delivered",
		"dup: copies of an event the client already had (dropped before the application, except with none)",
		"recovered: delivered on a resend or a replay; gone: the server said it no longer had them (older than --window)",
		"dropped: reached the client and thrown away there: no handler yet (the event layer drops it) or queue full",
		"recover: from the end of the trouble (back online, handler installed, server done emitting) to the last recovered event",
		"held: most events the server kept for this client at once (wire size); extra msgs: messages both ways beyond the events sent live (acks, resends, replays, hellos)",
		"delay: from the server's first emit to the application, same clock (one process)",
	}
	if cutting {
		t.Notes = append(t.Notes,
			"conn (offline, cut): held = the connection lived through the cut, TCP kept the bytes and retransmitted them; lost = a timeout (heartbeat, request) closed it during the cut and the client dialed again",
			"late: events emitted before the link came back that reached the application after it did, on their first copy, slower than any event before the cut (held by the link, not recovered by the application)",
			"catch-up: from the end of the cut until the last event emitted before it ended reached the application (TCP's retransmission timer doubles while the link is dark)")
	}
	if slices.ContainsFunc(results, func(r Result) bool { return r.Interrupted }) {
		t.Notes = append(t.Notes, "(interrupted): Ctrl-C stopped the run; its figures are what was measured until then, and missed counts the events not delivered by then, some still on their way or yet to be resent or replayed")
	}
	t.Notes = append(t.Notes, recoveryNotes(results)...)
	t.Notes = append(t.Notes, lastEventIDNotes(results)...)
	t.Notes = append(t.Notes, lost...)
	t.Notes = append(t.Notes, failed...)
	return t
}

// Describe says in one line what a scenario did with cfg.
func Describe(cfg Config, sc Scenario) string {
	cfg = cfg.withDefaults()
	p := cfg.plan(sc)
	switch sc {
	case Offline:
		if cfg.OfflineMode == Cut {
			return fmt.Sprintf("offline: %d events at %g/s; the client's link goes dark (both ways, connection left open) after event %d for %v (%d events)",
				p.total, cfg.Rate, p.cutAfter, cfg.Offline, p.backAfter-p.cutAfter)
		}
		return fmt.Sprintf("offline: %d events at %g/s; the client's link is cut after event %d and it reconnects %v (%d events) later",
			p.total, cfg.Rate, p.cutAfter, cfg.Offline, p.backAfter-p.cutAfter)
	case LateHandler:
		return fmt.Sprintf("late handler: %d events at %g/s; the client installs its handler after event %d (%v)",
			p.total, cfg.Rate, p.cutAfter, cfg.Late)
	default:
		return fmt.Sprintf("slow consumer: %d events at %g/s; the application takes %g/s behind a queue of %d",
			p.total, cfg.Rate, cfg.ConsumeRate, cfg.Queue)
	}
}

// ResultJSON is the JSON form of a Result; units are in the field names.
type ResultJSON struct {
	Scenario            string             `json:"scenario"`
	Strategy            string             `json:"strategy"`
	Transport           string             `json:"transport"`
	Emitted             int                `json:"emitted"`
	Delivered           int                `json:"delivered"`
	Missed              int                `json:"missed"`
	Duplicated          int                `json:"duplicated"`
	DuplicatesDelivered int                `json:"duplicates_delivered"`
	Recovered           int                `json:"recovered"`
	Unrecoverable       int                `json:"unrecoverable"`
	DroppedUnhandled    int                `json:"dropped_unhandled"`
	DroppedQueueFull    int                `json:"dropped_queue_full"`
	TimeToRecoverUs     float64            `json:"time_to_recover_us"`
	OfflineMode         string             `json:"offline_mode,omitempty"`
	ConnLost            int                `json:"conn_lost"`
	ConnLostError       string             `json:"conn_lost_error,omitempty"`
	Late                int                `json:"late"`
	CatchUpUs           float64            `json:"catch_up_us"`
	HeldPeakEvents      int                `json:"held_peak_events"`
	HeldPeakBytes       int64              `json:"held_peak_bytes"`
	ExtraMessages       int64              `json:"extra_messages"`
	AcksReceived        int64              `json:"acks_received"`
	Resent              int64              `json:"resent"`
	Replayed            int64              `json:"replayed"`
	Delay               report.LatencyJSON `json:"delay"`
	Interrupted         bool               `json:"interrupted"`
	Error               string             `json:"error,omitempty"`
	// SocketIORecovery is set for the recovery strategy.
	SocketIORecovery *RecoveryJSON `json:"socketio_recovery,omitempty"`
	// SSEReconnect is set for the last-event-id strategy.
	SSEReconnect *StreamJSON `json:"sse_reconnect,omitempty"`
}

// StreamJSON is the JSON form of a StreamInfo.
type StreamJSON struct {
	Buffer      int     `json:"replay_buffer_events"`
	HeartbeatMs int64   `json:"heartbeat_ms"`
	RetryMs     int64   `json:"retry_ms"`
	NoticedUs   float64 `json:"noticed_us"`
	Streams     int64   `json:"streams"`
	Reconnects  int64   `json:"reconnect_attempts"`
	LastEventID int64   `json:"last_event_id"`
	Replayed    int64   `json:"replayed"`
	Gap         int64   `json:"gap"`
}

// RecoveryJSON is the JSON form of a RecoveryInfo.
type RecoveryJSON struct {
	WindowMs       int64 `json:"max_disconnection_duration_ms"`
	Recovered      bool  `json:"recovered"`
	SameID         bool  `json:"same_id"`
	VolatileMissed int   `json:"volatile_missed"`
	AckedMissed    int   `json:"acked_missed"`
	Buffered       int   `json:"client_buffered"`
	BufferedGot    int   `json:"client_buffered_received"`
}

// JSON converts a Result to its JSON form.
func JSON(r Result) ResultJSON {
	var rj *RecoveryJSON
	if i := r.RecoveryInfo; i != nil {
		rj = &RecoveryJSON{WindowMs: i.Window.Milliseconds(), Recovered: i.Recovered, SameID: i.SameID,
			VolatileMissed: i.VolatileMissed, AckedMissed: i.AckedMissed, Buffered: i.Buffered, BufferedGot: i.BufferedGot}
	}
	var sj *StreamJSON
	if i := r.StreamInfo; i != nil {
		sj = &StreamJSON{Buffer: i.Buffer, HeartbeatMs: i.Heartbeat.Milliseconds(), RetryMs: i.Retry.Milliseconds(),
			NoticedUs: report.Micros(i.Noticed), Streams: i.Streams, Reconnects: i.Reconnects, LastEventID: i.LastID,
			Replayed: i.Replayed, Gap: i.Gap}
	}
	return ResultJSON{
		SocketIORecovery: rj, SSEReconnect: sj,
		Scenario: r.Scenario.String(), Strategy: r.Strategy.String(), Transport: r.Transport,
		Emitted: r.Emitted, Delivered: r.Delivered, Missed: r.Missed,
		Duplicated: r.Duplicated, DuplicatesDelivered: r.DuplicatesDelivered,
		Recovered: r.Recovered, Unrecoverable: r.Unrecoverable,
		DroppedUnhandled: r.DroppedUnhandled, DroppedQueueFull: r.DroppedQueueFull,
		TimeToRecoverUs: report.Micros(r.TimeToRecover),
		OfflineMode:     r.OfflineMode,
		ConnLost:        r.ConnLost, ConnLostError: r.ConnLostErr, Late: r.Late, CatchUpUs: report.Micros(r.CatchUp),
		HeldPeakEvents: r.HeldPeakEvents, HeldPeakBytes: r.HeldPeakBytes,
		ExtraMessages: r.ExtraMessages, AcksReceived: r.Acks, Resent: r.Resent, Replayed: r.Replayed,
		Delay: report.Latency(r.Delay), Interrupted: r.Interrupted, Error: r.Err,
	}
}
