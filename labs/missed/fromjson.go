package missed

import (
	"math"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
)

// SettingsJSON are the settings of a run that its table's section lines
// say (rates, times, the queue), for --json; a saved document rebuilds its
// table from them (ConfigFromJSON).
type SettingsJSON struct {
	Rate          float64 `json:"rate_per_s"`
	OfflineUs     float64 `json:"offline_us"`
	LateUs        float64 `json:"late_us"`
	AroundUs      float64 `json:"around_us"`
	SlowForUs     float64 `json:"slow_for_us"`
	ConsumeRate   float64 `json:"consume_rate_per_s"`
	Queue         int     `json:"queue"`
	Window        int     `json:"window"`
	AckTimeoutUs  float64 `json:"ack_timeout_us"`
	OfflineMode   string  `json:"offline_mode"`
	RecoveryWinUs float64 `json:"recovery_window_us"`
}

// Settings returns cfg's settings (defaults filled in) for --json.
func Settings(cfg Config) SettingsJSON {
	c := cfg.withDefaults()
	return SettingsJSON{Rate: c.Rate, OfflineUs: report.Micros(c.Offline), LateUs: report.Micros(c.Late),
		AroundUs: report.Micros(c.Around), SlowForUs: report.Micros(c.SlowFor), ConsumeRate: c.ConsumeRate,
		Queue: c.Queue, Window: c.Window, AckTimeoutUs: report.Micros(c.AckTimeout), OfflineMode: c.OfflineMode.String(),
		RecoveryWinUs: report.Micros(c.RecoveryWindow)}
}

// ConfigFromJSON rebuilds the Config a saved document was run with, as far
// as its table needs: the scenarios and strategies by name, and s.
func ConfigFromJSON(s SettingsJSON, scenarios, strategies []string) (Config, error) {
	cfg := Config{Rate: s.Rate, Offline: fromUs(s.OfflineUs), Late: fromUs(s.LateUs), Around: fromUs(s.AroundUs),
		SlowFor: fromUs(s.SlowForUs), ConsumeRate: s.ConsumeRate, Queue: s.Queue, Window: s.Window,
		AckTimeout: fromUs(s.AckTimeoutUs), RecoveryWindow: fromUs(s.RecoveryWinUs)}
	if s.OfflineMode != "" {
		m, err := ParseOfflineMode(s.OfflineMode)
		if err != nil {
			return Config{}, err
		}
		cfg.OfflineMode = m
	}
	for _, n := range scenarios {
		sc, err := ParseScenario(n)
		if err != nil {
			return Config{}, err
		}
		cfg.Scenarios = append(cfg.Scenarios, sc)
	}
	for _, n := range strategies {
		st, err := ParseStrategy(n)
		if err != nil {
			return Config{}, err
		}
		cfg.Strategies = append(cfg.Strategies, st)
	}
	return cfg, nil
}

// FromJSON turns a result of a saved document back into a Result.
func FromJSON(j ResultJSON) (Result, error) {
	sc, err := ParseScenario(j.Scenario)
	if err != nil {
		return Result{}, err
	}
	st, err := ParseStrategy(j.Strategy)
	if err != nil {
		return Result{}, err
	}
	l := j.Delay
	r := Result{Scenario: sc, Strategy: st, Transport: j.Transport,
		Emitted: j.Emitted, Delivered: j.Delivered, Missed: j.Missed,
		Duplicated: j.Duplicated, DuplicatesDelivered: j.DuplicatesDelivered,
		Recovered: j.Recovered, Unrecoverable: j.Unrecoverable,
		DroppedUnhandled: j.DroppedUnhandled, DroppedQueueFull: j.DroppedQueueFull,
		TimeToRecover: fromUs(j.TimeToRecoverUs), OfflineMode: j.OfflineMode,
		ConnLost: j.ConnLost, ConnLostErr: j.ConnLostError, Late: j.Late, CatchUp: fromUs(j.CatchUpUs),
		HeldPeakEvents: j.HeldPeakEvents, HeldPeakBytes: j.HeldPeakBytes,
		ExtraMessages: j.ExtraMessages, Acks: j.AcksReceived, Resent: j.Resent, Replayed: j.Replayed,
		Delay: stats.Summary{Count: l.Count, Min: fromUs(l.MinUs), Mean: fromUs(l.MeanUs), P50: fromUs(l.P50Us),
			P90: fromUs(l.P90Us), P99: fromUs(l.P99Us), Max: fromUs(l.MaxUs)},
		Interrupted: j.Interrupted, Err: j.Error}
	if i := j.SocketIORecovery; i != nil {
		r.RecoveryInfo = &RecoveryInfo{Window: time.Duration(i.WindowMs) * time.Millisecond, Recovered: i.Recovered,
			SameID: i.SameID, VolatileMissed: i.VolatileMissed, AckedMissed: i.AckedMissed, Buffered: i.Buffered,
			BufferedGot: i.BufferedGot}
	}
	if i := j.SSEReconnect; i != nil {
		r.StreamInfo = &StreamInfo{Buffer: i.Buffer, Noticed: fromUs(i.NoticedUs), StreamStats: StreamStats{
			Streams: i.Streams, Reconnects: i.Reconnects, LastID: i.LastEventID, Replayed: i.Replayed, Gap: i.Gap,
			Heartbeat: time.Duration(i.HeartbeatMs) * time.Millisecond, Retry: time.Duration(i.RetryMs) * time.Millisecond}}
	}
	return r, nil
}

func fromUs(us float64) time.Duration {
	return time.Duration(math.Round(us * float64(time.Microsecond)))
}
