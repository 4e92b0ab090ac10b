package loss_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/impair"
	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/udp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func transports() []transport.Transport {
	return []transport.Transport{udp.New(udp.Options{}), tcp.New(tcp.Options{})}
}

func TestUDPLosesTCPWaits(t *testing.T) {
	link := loss.DefaultLink
	link.Loss = 0.05
	cfg := loss.Config{Count: 150, Interval: 5 * time.Millisecond, Link: link}
	res, err := loss.Run(context.Background(), cfg, transports())
	if err != nil {
		t.Fatal(err)
	}
	u, c := res.Streams[0], res.Streams[1]
	for _, s := range res.Streams {
		if s.Err != nil {
			t.Fatalf("%s: %v", s.Transport, s.Err)
		}
		if s.Sent != 150 || len(s.Timeline) != 150 {
			t.Fatalf("%s: sent %d, timeline %d marks, want 150", s.Transport, s.Sent, len(s.Timeline))
		}
		if s.Delivered+s.Lost != s.Sent {
			t.Errorf("%s: delivered %d + lost %d != sent %d", s.Transport, s.Delivered, s.Lost, s.Sent)
		}
		never := 0
		for i, d := range s.BySeq {
			if d < 0 {
				never++
				if s.Timeline[i] != loss.MarkNever {
					t.Errorf("%s: message %d has no delay but is marked %q", s.Transport, i+1, s.Timeline[i])
				}
			}
		}
		if len(s.BySeq) != s.Sent || never != s.Lost {
			t.Errorf("%s: %d delays by seq, %d never arrived; want %d and %d", s.Transport, len(s.BySeq), never, s.Sent, s.Lost)
		}
	}
	// UDP: what the link dropped is what the application lost.
	if int64(u.Lost) != u.Up.Dropped || u.Lost == 0 {
		t.Errorf("udp: lost %d messages, the link dropped %d datagrams (want equal and > 0)", u.Lost, u.Up.Dropped)
	}
	if int64(u.OutOfOrder) > u.Up.Reordered {
		t.Errorf("udp: %d out of order but the link reordered only %d", u.OutOfOrder, u.Up.Reordered)
	}
	if got := strings.Count(u.Timeline, "x"); got != u.Lost {
		t.Errorf("udp timeline shows %d x for %d lost: %s", got, u.Lost, u.Timeline)
	}
	// TCP: nothing lost, duplicated or reordered; losses cost time.
	if c.Lost != 0 || c.Duplicated != 0 || c.OutOfOrder != 0 || strings.ContainsAny(c.Timeline, "x2<") {
		t.Errorf("tcp: lost %d, dup %d, out of order %d: a stream must deliver all in order: %s", c.Lost, c.Duplicated, c.OutOfOrder, c.Timeline)
	}
	// The loss was recovered by the client's TCP: it resent segments, and
	// the messages behind a lost one waited.
	if c.Wire.Up.Dropped > 0 {
		if c.Wire.Client.Retransmits == 0 {
			t.Errorf("tcp: the wire dropped %d client packets but TCP resent none", c.Wire.Up.Dropped)
		}
	}
	if c.Wire.QueueDrops != 0 || len(c.Probe) == 0 {
		t.Errorf("tcp: %d queue drops (want 0), %d probe samples (want some)", c.Wire.QueueDrops, len(c.Probe))
	}
	var out bytes.Buffer
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"delivered", "out of order", "Timeline", "What happened", "head-of-line"} {
		if c.Wire.Client.Retransmits == 0 && want == "head-of-line" {
			continue
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
	var j loss.JSON
	var jb bytes.Buffer
	if err := json.NewEncoder(&jb).Encode(res.JSON()); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(jb.Bytes(), &j); err != nil || len(j.Streams) != 2 || j.Streams[0].Lost != u.Lost {
		t.Errorf("JSON round trip: %v, %+v", err, j)
	}
}

// A fixed seed loses the same UDP messages every run.
func TestSameSeedSameLosses(t *testing.T) {
	cfg := loss.Config{Count: 120, Interval: 2 * time.Millisecond, Link: impair.Config{Loss: 0.1, Seed: 4}}
	var marks []string
	for i := 0; i < 2; i++ {
		res, err := loss.Run(context.Background(), cfg, []transport.Transport{udp.New(udp.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, strings.Map(func(r rune) rune {
			if r == 'x' {
				return r
			}
			return '.'
		}, res.Streams[0].Timeline))
	}
	if marks[0] != marks[1] {
		t.Errorf("seed 4 lost different messages:\n%s\n%s", marks[0], marks[1])
	}
}

func TestPerfectLink(t *testing.T) {
	res, err := loss.Run(context.Background(), loss.Config{Count: 30, Interval: time.Millisecond, Late: time.Second}, transports())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Streams {
		if s.Err != nil || s.Delivered != 30 || s.Timeline != strings.Repeat(".", 30) {
			t.Errorf("%s on a perfect link: %v, delivered %d, %s", s.Transport, s.Err, s.Delivered, s.Timeline)
		}
	}
}

func TestStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := loss.Run(ctx, loss.Config{Count: 10_000, Interval: 10 * time.Millisecond, Link: loss.DefaultLink}, transports())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run after its context ended: %v", err)
	}
	if len(res.Streams) != 1 || res.Streams[0].Sent == 0 || res.Streams[0].Sent >= 10_000 {
		t.Fatalf("want a partial result for the first transport, got %+v", res.Streams)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []loss.Config{{Count: -1}, {Size: 1 << 20}, {Interval: -time.Second}, {Link: impair.Config{Loss: 2}}} {
		if _, err := loss.Run(context.Background(), c, transports()); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Run(%+v) = %v, want a one-line error", c, err)
		}
	}
}

// --ladder keeps every packet: the handshake, a dropped data segment and
// its retransmission show in the ladder.
func TestLadderShowsLossAndRetransmission(t *testing.T) {
	cfg := loss.Config{Count: 20, Interval: 5 * time.Millisecond, Ladder: true,
		Link: impair.Config{Loss: 0.1, Delay: impair.Delay(2 * time.Millisecond), Seed: 3}}
	res, err := loss.Run(context.Background(), cfg, []transport.Transport{tcp.New(tcp.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Streams[0]
	if len(s.Packets) == 0 || s.Packets[0].Flags != "SYN" {
		t.Fatalf("ladder packets %d, first %+v: want the handshake first", len(s.Packets), s.Packets)
	}
	dropped, resent := 0, 0
	seen := map[uint32]bool{}
	for _, p := range s.Packets {
		if p.Dir != 0 || p.Len == 0 {
			continue
		}
		if seen[p.Seq] {
			resent++
		}
		seen[p.Seq] = true
		if p.Dropped() {
			dropped++
		}
	}
	if dropped == 0 || resent == 0 || uint64(resent) != s.Wire.Client.Retransmits {
		t.Errorf("%d data segments dropped, %d sent again; the stack counted %d retransmits", dropped, resent, s.Wire.Client.Retransmits)
	}
	var out bytes.Buffer
	if err := res.WriteLadder(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SYN", "SYN,ACK", "dropped", "C ──► S", "C ◄── S", "mss 1460"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ladder lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}
