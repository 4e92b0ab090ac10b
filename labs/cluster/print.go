package cluster

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
)

// A printer writes the demo's account as it runs. It keeps the first write
// error; later writes are skipped and Demo returns it.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func (p *printer) table(t *report.Table) {
	if p.err == nil {
		p.err = t.Write(p.w)
	}
}

// servers prints the run's heading and its servers' addresses.
func (p *printer) servers(kind string, servers []ServerResult) {
	what := map[string]string{
		KindNATS:  "through NATS",
		KindRedis: "through Redis pub/sub",
		KindNone:  "with --adapter none: no adapter, each server alone",
		"local":   "with --adapter none: no adapter, each server alone",
	}[kind]
	p.printf("== 3 chat servers %s\n", what)
	for _, s := range servers {
		if s.HTTPAddr != "" {
			p.printf("   %s  tcp %s  http %s\n", s.ID, s.TCPAddr, s.HTTPAddr)
		} else {
			p.printf("   %s  tcp %s\n", s.ID, s.TCPAddr)
		}
	}
}

func (p *printer) bots(bots []BotInfo) {
	t := &report.Table{Header: []string{"bot", "server", "rooms"}}
	for _, b := range bots {
		t.Row(b.Name, b.Server, strings.Join(b.Rooms, ", "))
	}
	p.printf("\n")
	p.table(t)
}

// step prints scripted step n: what was sent and who received it.
func (p *printer) step(n int, s StepResult, note string) {
	// What the bot sent, in the wire form its connection carried.
	sent := transport.Encode(transport.Message{Seq: s.Seq, Event: "chat", Room: s.Room, Data: []byte(s.Text)})
	p.printf("\n%d. %s: %s@%s sends to %s\n   %s\n", n, s.Title, s.From, s.FromServer, s.Room, sent)
	t := &report.Table{Header: []string{"   who", "server", "received", "after"}}
	for _, d := range s.Deliveries {
		t.Row("   "+d.Bot, d.Server, d.Line, report.Duration(time.Duration(d.AfterUs*1000)))
	}
	if len(s.Deliveries) == 0 {
		t.Row("   nobody", "", "", "")
	}
	t.Notes = []string{"   (" + note + ")"}
	p.table(t)
}

func (p *printer) sticky(n int, probe []StickyProbe) {
	p.printf("\n%d. Sticky sessions: a long-polling client opens a session on s1; a load balancer\n", n)
	p.printf("   without stickiness sends its next poll to s2\n")
	t := &report.Table{Header: []string{"   request", "server", "answer"}}
	for _, r := range probe {
		t.Row("   "+r.Request, r.Server, r.Answer)
	}
	t.Notes = []string{"   (the session lives in s1's memory; the adapter shares broadcasts, not sessions)"}
	p.table(t)
}

func (p *printer) who(n int, who *WhoResult) {
	took := time.Duration(who.WaitMs * float64(time.Millisecond))
	p.printf("\n%d. Who is in %s? s1 lists its own members and asks the others through the adapter\n", n, who.Room)
	t := &report.Table{Header: []string{"   member", "server", "door"}}
	for _, m := range who.Members {
		t.Row("   "+m.Name, m.Server, m.Door)
	}
	t.Notes = []string{fmt.Sprintf("   (%d other servers answered within %s)", who.Answered, report.Duration(took))}
	p.table(t)
}

// load prints the load phase: per bot, latency, the adapters' counts and a
// sentence on what it shows.
func (p *printer) load(res *RunResult) {
	l := res.Load
	alone := res.Adapter == KindNone || res.Adapter == "local"
	n := len(res.Steps) + 1
	if len(res.Sticky) > 0 {
		n++
	}
	if res.Who != nil {
		n++
	}
	ms := func(v float64) string { return report.Duration(time.Duration(v * float64(time.Millisecond))) }
	head := fmt.Sprintf("%d. Load: every bot sends %d messages to its room", n, l.Sent/len(res.Bots))
	if l.Stopped != "" {
		head += fmt.Sprintf("; %s is stopped after %s and its bots, after waiting %s as clients back off, reconnect to another server",
			l.Stopped, ms(l.StoppedAtMs), ms(l.ReconnectDelayMs))
	}
	p.printf("\n")
	for _, line := range report.Wrap(head, report.Width(p.w), "", "   ") {
		p.printf("%s\n", line)
	}
	t := &report.Table{Header: []string{"   bot", "servers", "switch took", "sent", "expected", "received", "recovered", "lost", "dup", "wrong room"}}
	var lostWhen []string
	for _, b := range l.Bots {
		sw := ""
		if b.SwitchMs > 0 {
			sw = ms(b.SwitchMs)
		}
		if b.Lost > 0 && l.Stopped != "" && !alone {
			lostWhen = append(lostWhen, fmt.Sprintf("%s %+.1fms..%+.1fms", b.Name, b.LostFromMs, b.LostToMs))
		}
		t.Row("   "+b.Name, strings.Join(b.Servers, "→"), sw, strconv.Itoa(b.Sent), strconv.Itoa(b.Expected), strconv.Itoa(b.Received),
			strconv.Itoa(b.Recovered), strconv.Itoa(b.Lost), strconv.Itoa(b.Duplicates), strconv.Itoa(b.WrongRoom))
	}
	t.Row("   total", "", "", strconv.Itoa(l.Sent), strconv.Itoa(l.Expected), strconv.Itoa(l.Received), strconv.Itoa(l.Recovered),
		strconv.Itoa(l.Lost), strconv.Itoa(l.Duplicates), strconv.Itoa(l.WrongRoom))
	if len(lostWhen) > 0 {
		t.Notes = []string{"   (when the lost ones were sent, relative to the stop of " + l.Stopped + ": " + strings.Join(lostWhen, ", ") + ")"}
	}
	p.table(t)

	p.printf("\n")
	lt := &report.Table{Header: []string{"   delivery (bot to bot)", "count", "p50", "p90", "p99", "max"}}
	row := func(name string, s report.LatencyJSON) {
		if s.Count == 0 {
			lt.Row(name, "0", "-", "-", "-", "-")
			return
		}
		us := func(v float64) string { return report.Duration(time.Duration(v * 1000)) }
		lt.Row(name, strconv.Itoa(s.Count), us(s.P50Us), us(s.P90Us), us(s.P99Us), us(s.MaxUs))
	}
	row("   same server", l.SameServer)
	row("   across servers", l.CrossServer)
	lt.Notes = []string{"   (one-way, sender's write to receiver's read, same process and clock)"}
	p.table(lt)

	if !alone {
		p.printf("\n")
		at := &report.Table{Header: []string{"   adapter", "published", "publish errors", "received", "missed (gaps)", "dup dropped"}}
		for _, s := range res.Servers {
			if s.Adapter == nil {
				continue
			}
			a := s.Adapter
			name := "   " + s.ID
			if s.Stopped {
				name += " (stopped)"
			}
			at.Row(name, strconv.FormatUint(a.Published, 10), strconv.FormatUint(a.PublishErrors, 10),
				strconv.FormatUint(a.Received, 10), strconv.FormatUint(a.Missed, 10), strconv.FormatUint(a.Duplicates, 10))
		}
		p.table(at)
	}
	p.printf("\n")
	switch {
	case alone:
		p.printf("   without an adapter only bots on the sender's server get its messages: %d of %d delivered\n", l.Received, l.Expected)
	case l.Lost == 0 && l.Recovered == 0:
		p.printf("   every message reached every bot in its room once, across servers\n")
	default:
		p.printf("   %d of %d deliveries missed live while bots switched servers: %d recovered from\n", l.Lost+l.Recovered, l.Expected, l.Recovered)
		p.printf("   the new server's replay buffer (it got every room's messages through the adapter),\n")
		p.printf("   %d lost. NATS and Redis pub/sub keep nothing for a client that was away.\n", l.Lost)
	}
}
