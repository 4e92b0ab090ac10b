package compare

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/report"
)

// Thresholds the sentences use. A sentence that says one thing is faster or
// heavier than another is printed only when the ratio is at least
// minRatio, so noise between two equally fast transports is not read as a
// difference.
const (
	minRatio = 1.5
	// halfLo and halfHi bound "about half the poll interval": the mean
	// delay of short polling, divided by its interval.
	halfLo, halfHi = 0.35, 0.65
	// minSamples is how many delivered events a delay sentence needs.
	minSamples = 5
)

// Sentences reads r in plain language. Each sentence is computed from r's
// numbers and printed only when they support it; none is canned.
func Sentences(r Result) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }

	pushed := func(c Column) bool { return c.Push != nil && c.Push.Delay.Count >= minSamples }

	// 1. Server push: the fastest transport that keeps every message (a
	// full-duplex one when there is one) against the slowest.
	var fast, fastest, slow *Column
	better := func(c, than *Column) bool {
		if than == nil {
			return true
		}
		ck := [2]bool{c.Info.Reliable, c.Info.Duplex}
		tk := [2]bool{than.Info.Reliable, than.Info.Duplex}
		if ck != tk {
			return (ck[0] && !tk[0]) || (ck[0] == tk[0] && ck[1])
		}
		return c.Push.Delay.P50 < than.Push.Delay.P50
	}
	for i := range r.Columns {
		c := &r.Columns[i]
		if !pushed(*c) {
			continue
		}
		if better(c, fast) {
			fast = c
		}
		if fastest == nil || c.Push.Delay.P50 < fastest.Push.Delay.P50 {
			fastest = c
		}
		if slow == nil || c.Push.Delay.P50 > slow.Push.Delay.P50 {
			slow = c
		}
	}
	if _, ok := times(pushP50(slow), pushP50(fast)); !ok {
		fast = fastest // the preferred one was not faster: say who was
	}
	if fast != nil && slow != nil && fast != slow {
		if x, ok := times(slow.Push.Delay.P50, fast.Push.Delay.P50); ok {
			add("%s delivered server events %s sooner than %s (median delay %s against %s).",
				capital(fast.Subject.label()), x, slow.Subject.label(),
				report.Duration(fast.Push.Delay.P50), report.Duration(slow.Push.Delay.P50))
		}
	}

	// 2 and 3. Short polling: delay against its interval, empty polls.
	for _, c := range r.Columns {
		iv := c.Subject.PollInterval
		if iv <= 0 || !pushed(c) {
			continue
		}
		mean := c.Push.Delay.Mean
		frac := float64(mean) / float64(iv)
		if frac >= halfLo && frac <= halfHi {
			add("%s delayed events by %s on average, about half its %s poll interval: an event waits for the next poll.",
				capital(c.Subject.label()), report.Duration(mean), report.Duration(iv))
		} else {
			add("%s delayed events by %s on average, %s of its %s poll interval.",
				capital(c.Subject.label()), report.Duration(mean), report.Percent(frac), report.Duration(iv))
		}
		if w := c.Push.Wire; c.Push.HasWire && w.EmptyPolls > 0 {
			add("%s made %s; %d came back empty (%s per event delivered).",
				capital(c.Subject.label()), report.Plural(w.Requests, "request"), w.EmptyPolls, ratioText(c.Push.EmptyPollsPerEvent()))
		}
	}

	// 4. Long polling: the delay it saves, the requests it costs.
	for _, c := range r.Columns {
		if !c.Subject.LongPoll || !pushed(c) || !c.Push.HasWire {
			continue
		}
		saved := ""
		for _, s := range r.Columns {
			if s.Subject.PollInterval > 0 && pushed(s) {
				if x, ok := times(s.Push.Delay.P50, c.Push.Delay.P50); ok {
					saved = fmt.Sprintf(", %s less than %s", x, s.Subject.label())
				}
				break
			}
		}
		add("%s delivered events in %s at the median%s, but made %s requests per message: %s for %s down and %s up.",
			capital(c.Subject.label()), report.Duration(c.Push.Delay.P50), saved,
			ratioText(c.Push.RequestsPerMessage()), report.Plural(c.Push.Wire.Requests, "request"),
			report.Plural(c.Push.Delivered, "event"), report.Plural(c.Push.UpReceived, "message"))
	}

	// 5. Full duplex: events down and client messages up over one
	// connection, with at most one HTTP request (a WebSocket handshake).
	for _, c := range r.Columns {
		p := c.Push
		if !c.Info.Duplex || !c.Info.Connected || p == nil || p.Delivered == 0 || p.UpReceived == 0 || !p.HasWire || p.Wire.Requests > 1 {
			continue
		}
		req := "no HTTP request"
		if p.Wire.Requests == 1 {
			req = "one HTTP request (its handshake)"
		}
		during := ""
		if p.UpDuringPush > 0 {
			during = fmt.Sprintf(", %d of them while events were flowing down", p.UpDuringPush)
		}
		add("%s pushed %s down and carried %s up over one connection%s, with %s.",
			capital(c.Subject.label()), report.Plural(p.Delivered, "event"), report.Plural(p.UpReceived, "client message"), during, req)
	}

	// 5b. Server-Sent Events: push down one held response, but every
	// client message is a request of its own.
	for _, c := range r.Columns {
		p := c.Push
		if !c.Subject.ServerPush || !pushed(c) || !p.HasWire || p.UpReceived == 0 {
			continue
		}
		add("%s pushed %s down one held HTTP response (median delay %s), but its %s went up in POST requests: %s in all.",
			c.Subject.label(), report.Plural(p.Delivered, "event"), report.Duration(p.Delay.P50),
			report.Plural(p.UpReceived, "client message"), report.Plural(p.Wire.Requests, "HTTP request"))
	}

	// 5c. Socket.IO uses HTTP: it starts on long polling, then upgrades.
	for _, c := range r.Columns {
		p := c.Push
		if !c.Subject.PollsThenUpgrades || p == nil || !p.HasWire || p.Wire.Requests < 2 {
			continue
		}
		add("%s made %d HTTP requests: its client starts on HTTP long polling (Engine.IO's handshake and first packets), then upgrades to a WebSocket, whose handshake is one more HTTP request; after that, events travel as WebSocket frames.",
			c.Subject.label(), p.Wire.Requests)
	}

	// 6. What an unreliable transport did not promise.
	for _, c := range r.Columns {
		if c.Info.Reliable || c.Push == nil || c.Push.Emitted == 0 {
			continue
		}
		p := c.Push
		if lost := p.Lost() + p.UpLost(); lost > 0 {
			add("%s lost %d of %d events and %d of %d upstream messages; nothing resent them.",
				capital(c.Subject.label()), p.Lost(), p.Emitted, p.UpLost(), p.UpSent)
		} else {
			add("%s lost none of %d events this run, but it promises nothing: a lost datagram is gone, counted here, never resent.",
				capital(c.Subject.label()), p.Emitted)
		}
	}

	// 7. Echo round trips, fastest against slowest.
	var efast, eslow *Column
	for i := range r.Columns {
		c := &r.Columns[i]
		if c.Echo == nil || c.Echo.RTT.Count < minSamples {
			continue
		}
		if efast == nil || c.Echo.RTT.P50 < efast.Echo.RTT.P50 {
			efast = c
		}
		if eslow == nil || c.Echo.RTT.P50 > eslow.Echo.RTT.P50 {
			eslow = c
		}
	}
	if efast != nil && eslow != nil && efast != eslow {
		if x, ok := times(eslow.Echo.RTT.P50, efast.Echo.RTT.P50); ok {
			add("An echo round trip took %s over %s and %s over %s (%s longer, median).",
				report.Duration(efast.Echo.RTT.P50), efast.Subject.label(),
				report.Duration(eslow.Echo.RTT.P50), eslow.Subject.label(), x)
		}
	}

	// 8. Bytes on the wire per message, heaviest against lightest.
	var light, heavy *Column
	for i := range r.Columns {
		c := &r.Columns[i]
		if c.Push == nil || math.IsNaN(c.Push.BytesPerMessage()) {
			continue
		}
		if light == nil || c.Push.BytesPerMessage() < light.Push.BytesPerMessage() {
			light = c
		}
		if heavy == nil || c.Push.BytesPerMessage() > heavy.Push.BytesPerMessage() {
			heavy = c
		}
	}
	if light != nil && heavy != nil && light != heavy {
		h, l := heavy.Push.BytesPerMessage(), light.Push.BytesPerMessage()
		if l > 0 && h/l >= minRatio {
			why := "."
			if heavy.Push.Wire.Requests > 1 {
				why = ": every HTTP request and response carries its headers."
			}
			add("%s spent %s on the wire per message, %s what %s spent (%s)%s",
				capital(heavy.Subject.label()), report.Bytes(int64(math.Round(h))), timesText(h/l),
				light.Subject.label(), report.Bytes(int64(math.Round(l))), why)
		}
	}
	return out
}

// pushP50 is c's median push delay, 0 for no column.
func pushP50(c *Column) time.Duration {
	if c == nil {
		return 0
	}
	return c.Push.Delay.P50
}

// times returns "40×" for slow/fast when it is at least minRatio.
func times(slow, fast time.Duration) (string, bool) {
	if fast <= 0 || slow <= 0 {
		return "", false
	}
	x := float64(slow) / float64(fast)
	if x < minRatio {
		return "", false
	}
	return timesText(x), true
}

func timesText(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func ratioText(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// capital upper-cases the first letter of a phrase that starts a sentence
// ("short polling" → "Short polling") but leaves a one-word name such as
// "tcp" as the user typed it.
func capital(s string) string {
	if strings.Contains(s, " ") && s != "" {
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
