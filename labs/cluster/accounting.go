package cluster

import (
	"slices"
	"time"

	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/stats"
)

// account counts the load phase into res: every load message should reach
// every other bot in its room, once, and no one else. Messages are told
// apart by their Seq alone. start is when the load began, killAt when the
// server stopped (zero: none did).
func (r *run) account(res *LoadResult, start, killAt time.Time) {
	r.mu.Lock()
	sent := make(map[uint64]sentRec, len(r.sent))
	for seq, s := range r.sent {
		if s.phase == "load" {
			sent[seq] = s
		}
	}
	r.mu.Unlock()
	ref := killAt // lost messages are dated from the stop
	if ref.IsZero() {
		ref = start
	}
	var same, cross []time.Duration
	for _, b := range r.bots {
		bl := BotLoad{Name: b.name}
		b.mu.Lock()
		for _, p := range b.path {
			bl.Servers = append(bl.Servers, r.servers[p].id)
		}
		bl.SwitchMs = float64(b.switched.Microseconds()) / 1000
		bl.ReplayGone = b.replayGone
		got := slices.Clone(b.got)
		b.mu.Unlock()

		live := map[uint64]int{} // live copies of each message
		first := map[uint64]receipt{}
		for _, g := range got {
			s, ok := sent[g.seq]
			if !ok {
				continue
			}
			if _, had := first[g.seq]; g.replay && (had || s.from == b) {
				bl.ReplayCopies++ // the bot drops a replayed copy it already has (its own messages too)
				continue
			}
			if !g.replay {
				live[g.seq]++
			}
			if _, had := first[g.seq]; !had {
				first[g.seq] = g
			}
			if !slices.Contains(b.rooms, s.room) || s.from == b {
				bl.WrongRoom++
			}
		}
		for seq, s := range sent {
			if s.from == b {
				bl.Sent++
				continue
			}
			if !slices.Contains(b.rooms, s.room) {
				continue
			}
			bl.Expected++
			g, ok := first[seq]
			if !ok {
				bl.Lost++
				ms := float64(s.at.Sub(ref).Microseconds()) / 1000
				if bl.Lost == 1 || ms < bl.LostFromMs {
					bl.LostFromMs = ms
				}
				if bl.Lost == 1 || ms > bl.LostToMs {
					bl.LostToMs = ms
				}
				continue
			}
			bl.Received++
			if g.replay {
				bl.Recovered++
				continue
			}
			bl.Duplicates += live[seq] - 1
			d := g.at.Sub(s.at)
			if g.server == s.server {
				same = append(same, d)
			} else {
				cross = append(cross, d)
			}
		}
		res.Sent += bl.Sent
		res.Expected += bl.Expected
		res.Received += bl.Received
		res.Lost += bl.Lost
		res.Duplicates += bl.Duplicates
		res.WrongRoom += bl.WrongRoom
		res.Recovered += bl.Recovered
		res.Bots = append(res.Bots, bl)
	}
	res.SameServerSamples, res.CrossServerSamples = same, cross
	res.SameServerSamplesUs, res.CrossServerSamplesUs = report.MicrosAll(same), report.MicrosAll(cross)
	res.SameServer = report.Latency(stats.Summarize(same))
	res.CrossServer = report.Latency(stats.Summarize(cross))
}
