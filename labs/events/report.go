package events

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
)

// Tables lays out results (one per transport): who received each emit, and
// the ack round trips.
func Tables(results []Result) []*report.Table {
	who := &report.Table{
		Title:  "who receives an emit (copies each party's handlers got)",
		Header: []string{"what happened", "server"},
		// The sentences fold onto more lines when the table is too wide.
		Columns: []report.Column{{Fold: true}},
	}
	if len(results) > 0 && len(results[0].Steps) > 0 {
		for i := range results[0].Steps[0].Clients {
			who.Header = append(who.Header, fmt.Sprintf("client %d", i+1))
		}
	}
	rtt := &report.Table{
		Title:  "ack round trips: EmitWithAck until the peer's ack is back, one at a time",
		Header: []string{"transport", "direction", "count", "min", "p50", "p90", "p99", "max"},
	}
	for _, r := range results {
		if r.Interrupted {
			who.Section("over " + r.Transport + " (interrupted: what was measured before Ctrl-C)")
		} else {
			who.Section("over " + r.Transport)
		}
		for _, s := range r.Steps {
			server := strconv.Itoa(s.Server)
			if s.Unhandled > 0 {
				server += fmt.Sprintf(" (%d unhandled, dropped)", s.Unhandled)
			}
			row := []string{s.Action, server}
			for _, c := range s.Clients {
				row = append(row, strconv.Itoa(c))
			}
			who.Row(row...)
		}
		if r.TimeoutErr != "" {
			who.Notes = append(who.Notes, fmt.Sprintf("%s: client 1's EmitWithAck(\"nobody\") gave up after %s: %s",
				r.Transport, report.Duration(r.TimedOutIn), r.TimeoutErr))
		}
		row := func(name string, s stats.Summary) {
			if s.Count == 0 { // interrupted before any came back
				rtt.Row(r.Transport, name, "0", "–", "–", "–", "–", "–")
				return
			}
			rtt.Row(r.Transport, name, strconv.Itoa(s.Count), report.Duration(s.Min), report.Duration(s.P50),
				report.Duration(s.P90), report.Duration(s.P99), report.Duration(s.Max))
		}
		row("client → server → client", r.ClientToSrv)
		row("server → client → server", r.SrvToClient)
	}
	return []*report.Table{who, rtt}
}

// StepJSON is the JSON form of a Step.
type StepJSON struct {
	Action    string `json:"action"`
	Server    int    `json:"server"`
	Clients   []int  `json:"clients"`
	Unhandled int64  `json:"unhandled"`
}

// ResultJSON is the JSON form of a Result; units are in the field names.
type ResultJSON struct {
	Transport        string             `json:"transport"`
	Steps            []StepJSON         `json:"steps"`
	AckTimeoutUs     float64            `json:"ack_timeout_us"`
	TimedOutInUs     float64            `json:"timed_out_in_us"`
	AckRTTClientToUs report.LatencyJSON `json:"ack_rtt_client_to_server"`
	AckRTTServerToUs report.LatencyJSON `json:"ack_rtt_server_to_client"`
	// TimeoutError is what the EmitWithAck to an unhandled event returned.
	TimeoutError string `json:"timeout_error"`
	// The ack round trips one by one, in the order measured (the charts).
	AckRTTsClientToUs []float64 `json:"ack_rtts_client_to_server_us"`
	AckRTTsServerToUs []float64 `json:"ack_rtts_server_to_client_us"`
	Error             string    `json:"error,omitempty"`
	Interrupted       bool      `json:"interrupted,omitempty"`
}

// JSON converts a Result to its JSON form.
func JSON(r Result) ResultJSON {
	out := ResultJSON{Transport: r.Transport, Steps: []StepJSON{},
		AckTimeoutUs: report.Micros(r.AckTimeout), TimedOutInUs: report.Micros(r.TimedOutIn),
		AckRTTClientToUs: report.Latency(r.ClientToSrv), AckRTTServerToUs: report.Latency(r.SrvToClient),
		TimeoutError: r.TimeoutErr, AckRTTsClientToUs: report.MicrosAll(r.ClientToSrvRTTs),
		AckRTTsServerToUs: report.MicrosAll(r.SrvToClientRTTs), Interrupted: r.Interrupted}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, StepJSON{Action: s.Action, Server: s.Server, Clients: s.Clients, Unhandled: s.Unhandled})
	}
	return out
}

// FromJSON turns one saved result back into the Result that printed it,
// as far as the document keeps it. A result whose run failed (its Error
// set) was not in the tables: ok is false for it.
func FromJSON(j ResultJSON) (r Result, ok bool) {
	if j.Error != "" {
		return Result{}, false
	}
	r = Result{Transport: j.Transport, AckTimeout: fromUs(j.AckTimeoutUs), TimedOutIn: fromUs(j.TimedOutInUs),
		TimeoutErr: j.TimeoutError, ClientToSrv: report.SummaryFromJSON(j.AckRTTClientToUs),
		SrvToClient: report.SummaryFromJSON(j.AckRTTServerToUs), Interrupted: j.Interrupted}
	for _, s := range j.Steps {
		r.Steps = append(r.Steps, Step{Action: s.Action, Server: s.Server, Clients: s.Clients, Unhandled: s.Unhandled})
	}
	for _, us := range j.AckRTTsClientToUs {
		r.ClientToSrvRTTs = append(r.ClientToSrvRTTs, fromUs(us))
	}
	for _, us := range j.AckRTTsServerToUs {
		r.SrvToClientRTTs = append(r.SrvToClientRTTs, fromUs(us))
	}
	return r, true
}

func fromUs(us float64) time.Duration {
	return time.Duration(math.Round(us * float64(time.Microsecond)))
}
