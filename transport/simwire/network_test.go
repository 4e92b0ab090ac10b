package simwire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
	"go.uber.org/goleak"

	"github.com/netlab/netlab/transport/impair"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transfer sends data from the client stack to a server on the other
// stack, which hashes what it reads; it returns the hash and the time from
// dial to the server's EOF.
func transfer(t *testing.T, n *Network, data []byte) ([32]byte, time.Duration) {
	t.Helper()
	ln, err := n.Server().ListenTCP(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		sum [32]byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		h := sha256.New()
		_, err = io.Copy(h, c)
		var r result
		copy(r.sum[:], h.Sum(nil))
		r.err = err
		got <- r
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := n.Client().DialTCP(ctx, netip.AddrPortFrom(ServerAddr, 80))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-got:
	case <-ctx.Done():
		t.Fatal("transfer did not finish in 30s")
	}
	took := time.Since(start)
	c.Close()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.sum, took
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newNetwork(t *testing.T, opts Options) *Network {
	t.Helper()
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// One megabyte crosses a wire losing 5% of packets each way, intact: the
// stacks' TCP recovered every loss.
func TestMegabyteIntactAtFivePercentLoss(t *testing.T) {
	n := newNetwork(t, Options{Impair: impair.Config{Loss: 0.05, Delay: impair.Delay(time.Millisecond), Seed: 1}})
	data := randomBytes(1<<20, 1)
	sum, took := transfer(t, n, data)
	if sum != sha256.Sum256(data) {
		t.Fatal("sha256 of what arrived differs from what was sent")
	}
	n.Close()
	st := n.Stats()
	if st.Up.Dropped == 0 || st.Client.Retransmits == 0 {
		t.Errorf("5%% loss: %d dropped, %d retransmitted: the wire lost nothing?", st.Up.Dropped, st.Client.Retransmits)
	}
	if st.QueueDrops != 0 {
		t.Errorf("%d packets dropped by a full queue", st.QueueDrops)
	}
	t.Logf("1 MB at 5%% loss in %v: wire %v; client TCP %+v", took, st.Up, st.Client)
}

// dropNth drops the nth (from 1) client→server TCP segment that carries
// data, once.
func dropNth(nth int) func(Dir, Packet) bool {
	var seen atomic.Int64
	return func(d Dir, p Packet) bool {
		if d != Up || p.Proto != "tcp" || p.Len == 0 {
			return false
		}
		return seen.Add(1) == int64(nth)
	}
}

// sendAndWait connects, sends data in one write and waits until the
// server has read all of it, then closes.
func sendAndWait(t *testing.T, n *Network, data []byte) time.Duration {
	t.Helper()
	ln, err := n.Server().ListenTCP(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.ReadFull(c, make([]byte, len(data)))
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := n.Client().DialTCP(ctx, netip.AddrPortFrom(ServerAddr, 80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Let the handshake's ACK pass and the RTT estimate settle.
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("data did not arrive in 10s")
	}
	return time.Since(start)
}

// A lost data segment with data behind it: the receiver's duplicate ACKs
// (with SACK blocks) make the sender resend it once, before any timer.
func TestOneLostSegmentIsFastRetransmitted(t *testing.T) {
	for _, rec := range []Recovery{RACK, Classic} {
		t.Run(rec.String(), func(t *testing.T) {
			n := newNetwork(t, Options{Impair: impair.Config{Delay: impair.Delay(10 * time.Millisecond)},
				Recovery: rec, Trace: 1000, drop: dropNth(2)})
			took := sendAndWait(t, n, make([]byte, 20*1460))
			st := n.Stats()
			// Classic recovery: exactly one resend. RACK detects loss by
			// time, so on a busy machine it may also resend a segment that
			// was only late (a spurious recovery) or send a tail loss
			// probe (RFC 8985): no timeout either way.
			if rec == Classic && st.Client.Retransmits != 1 {
				t.Errorf("client TCP %+v: want exactly 1 retransmission", st.Client)
			}
			if st.Client.Timeouts != 0 {
				t.Errorf("client TCP %+v: want no timeout", st.Client)
			}
			if st.Client.FastRetransmits+st.Client.SACKRecoveries == 0 {
				t.Errorf("client TCP %+v: the retransmission was not a fast one", st.Client)
			}
			dupacks, sacked := 0, 0
			for _, p := range n.Trace() {
				if p.Dir == Down && p.Proto == "tcp" && p.Len == 0 && len(p.SACK) > 0 {
					sacked++
				}
				if p.Dir == Down && p.Flags == "ACK" && len(p.SACK) > 0 {
					dupacks++
				}
			}
			if dupacks < 1 || sacked < 1 {
				t.Errorf("%d duplicate ACKs with SACK blocks seen, want some", dupacks)
			}
			t.Logf("%s: delivered in %v, %d dup ACKs with SACK, client TCP %+v", rec, took, dupacks, st.Client)
		})
	}
}

// A lost last segment has nothing behind it to make duplicate ACKs: only a
// timer can recover it. With classic recovery that is the retransmission
// timeout (RFC 6298); with RACK, the tail loss probe's timer (RFC 8985
// section 7) fires first and its probe resends the segment.
func TestLostLastSegmentWaitsForTimer(t *testing.T) {
	for _, rec := range []Recovery{Classic, RACK} {
		t.Run(rec.String(), func(t *testing.T) {
			n := newNetwork(t, Options{Impair: impair.Config{Delay: impair.Delay(10 * time.Millisecond)},
				Recovery: rec, drop: dropNth(1)})
			took := sendAndWait(t, n, []byte("one lonely message"))
			st := n.Stats()
			if st.Client.Retransmits != 1 || st.Client.FastRetransmits != 0 {
				t.Errorf("client TCP %+v: want one retransmission, not a fast one", st.Client)
			}
			if rec == Classic && st.Client.Timeouts != 1 {
				t.Errorf("client TCP %+v: want one RTO timeout", st.Client)
			}
			if took < 200*time.Millisecond {
				t.Errorf("the lost last segment arrived after %v: sooner than the timer allows", took)
			}
			t.Logf("%s: lost last segment delivered after %v, client TCP %+v", rec, took, st.Client)
		})
	}
}

// A pcap written by a run reads back with exactly the packets the wire
// delivered (the wire's drops left out).
func TestPCAPMatchesWire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewPCAP(f)
	if err != nil {
		t.Fatal(err)
	}
	n := newNetwork(t, Options{Impair: impair.Config{Loss: 0.05, Dup: 0.02, Seed: 3}, PCAP: pc})
	data := randomBytes(200<<10, 2)
	transfer(t, n, data)
	n.Close()
	if err := pc.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st := n.Stats()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	count, last := 0, time.Time{}
	for {
		b, ci, err := pr.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p := parsePacket(b); p.Proto != "tcp" {
			t.Fatalf("packet %d is %q, want tcp", count, p.Proto)
		}
		if ci.Timestamp.Before(n.Start()) {
			t.Fatalf("packet %d stamped %v, before the network started", count, ci.Timestamp)
		}
		last = ci.Timestamp
		count++
	}
	delivered := st.Up.Delivered + st.Down.Delivered
	if int64(count) != delivered || count != pc.Packets() {
		t.Errorf("pcap has %d packets, the wire delivered %d (writer counted %d)", count, delivered, pc.Packets())
	}
	if st.Up.Dropped+st.Down.Dropped == 0 || st.Up.Duplicated+st.Down.Duplicated == 0 {
		t.Errorf("no drops or duplicates: the test shows nothing (%+v)", st)
	}
	t.Logf("pcap: %d packets up to %v; wire %d delivered, %d dropped", count, last.Sub(n.Start()), delivered, st.Up.Dropped+st.Down.Dropped)
}

// The same seed drops the same packet indexes. (UDP: its packets are its
// datagrams, in the order sent; TCP's numbering also depends on when its
// timers and ACKs fire.)
func TestSameSeedSameDrops(t *testing.T) {
	dropped := func(seed uint64) []uint64 {
		n := newNetwork(t, Options{Impair: impair.Config{Loss: 0.1, Seed: seed}, Trace: 1000})
		srv, err := n.Server().ListenUDP(53)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cl, err := n.Client().DialUDP(netip.AddrPortFrom(ServerAddr, 53))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for i := 0; i < 200; i++ {
			if _, err := cl.Write([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		n.Close()
		var out []uint64
		for _, p := range n.Trace() {
			if p.Dir == Up && p.Dropped() {
				out = append(out, p.Index)
			}
		}
		return out
	}
	a, b, c := dropped(7), dropped(7), dropped(8)
	if len(a) == 0 || !equal(a, b) {
		t.Fatalf("seed 7 dropped %v then %v", a, b)
	}
	if equal(a, c) {
		t.Errorf("seeds 7 and 8 dropped the same packets %v", a)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// UDP crosses the wire as datagrams: what the wire drops is gone.
func TestUDPDatagramsAreDropped(t *testing.T) {
	n := newNetwork(t, Options{Impair: impair.Config{Loss: 0.2, Seed: 1}})
	srv, err := n.Server().ListenUDP(53)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := n.Client().DialUDP(netip.AddrPortFrom(ServerAddr, 53))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const sent = 200
	for i := 0; i < sent; i++ {
		if _, err := cl.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 100)
	for {
		srv.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := srv.ReadFrom(buf); err != nil {
			var ne net.Error
			if !bytes.Contains([]byte(err.Error()), []byte("timeout")) && !(asNetErr(err, &ne) && ne.Timeout()) {
				t.Fatal(err)
			}
			break
		}
		got++
	}
	st := n.Stats()
	if int64(got) != sent-st.Up.Dropped || st.Up.Dropped == 0 {
		t.Errorf("%d of %d arrived, the wire dropped %d", got, sent, st.Up.Dropped)
	}
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

// A full endpoint queue is counted, not silent: with a queue of 2 and the
// wire stopped, what did not fit shows in QueueDrops.
func TestFullQueueIsCounted(t *testing.T) {
	n := newNetwork(t, Options{queue: 2})
	close(n.stop) // the wire stops taking packets: the queue fills
	n.wg.Wait()
	cl, err := n.Client().DialUDP(netip.AddrPortFrom(ServerAddr, 53))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const sent = 10
	for i := 0; i < sent; i++ {
		cl.Write([]byte{byte(i)})
	}
	if got := n.Stats().QueueDrops; got != sent-2 {
		t.Errorf("QueueDrops = %d, want %d (%d sent, room for 2)", got, sent-2, sent)
	}
	n.stop = make(chan struct{}) // let Close run its course
}

// Why classic recovery at 5% loss has long timeouts: a timeout whose cause
// was a lost ACK (the data had arrived) stretches the sender's smoothed
// round trip. The server acknowledges the resent copy of data it already
// holds from its out-of-window path, which does not update TS.Recent (RFC
// 7323 section 5.3: R2 rejects the segment before R3 would record its
// TSval), so the ACK echoes the first copy's TSval; the sender takes every
// TSecr of an ACK that advances SND.UNA as a sample (RFC 6298 section 3
// allows a retransmitted segment's sample with timestamps), and this one
// spans the timer's wait: RTO + RTT. The wire's round trip here is 40 ms.
// The rcv.go/snd.go lines are in docs/loss.md: if gVisor changes either
// step this test fails, and that paragraph must change with it.
func TestLostACKTimeoutStretchesSRTT(t *testing.T) {
	const size = 10 * 1420 // one initial window
	var isn atomic.Uint32
	var dropped atomic.Bool
	drop := func(d Dir, p Packet) bool {
		if d == Up && p.Flags == "SYN" {
			isn.Store(p.Seq)
		}
		// Drop every ACK of data until the one that acknowledges all of
		// it, that one included: the data arrived, its ACKs did not.
		if d != Down || p.Flags != "ACK" || p.Len != 0 || dropped.Load() || p.Ack-isn.Load() <= 1 {
			return false
		}
		if p.Ack-isn.Load()-1 >= size {
			dropped.Store(true)
		}
		return true
	}
	n := newNetwork(t, Options{Impair: impair.Config{Delay: impair.Delay(20 * time.Millisecond)},
		Recovery: Classic, Probe: 1000, drop: drop})
	ln, err := n.Server().ListenTCP(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	read := make(chan error, 1)
	hold := make(chan struct{}) // neither side closes (no FIN to ACK the data) until the end
	defer close(hold)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			read <- err
			return
		}
		defer c.Close()
		_, err = io.ReadFull(c, make([]byte, size))
		read <- err
		<-hold
	}()
	c, err := n.Client().DialTCP(t.Context(), netip.AddrPortFrom(ServerAddr, 80))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // the handshake's ACK passes
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	// The server has every byte; wait for the client's timer and the ACK
	// of its resend.
	deadline := time.Now().Add(5 * time.Second)
	for n.Stats().Client.Timeouts == 0 || !settled(n.Samples()) {
		if time.Now().After(deadline) {
			t.Fatalf("no timeout and final ACK in 5s: client TCP %+v", n.Stats().Client)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The probe runs on received segments after the handshake: its one
	// sample is the final ACK's. Before it, srtt was the handshake's round
	// trip, about 40 ms, and the RTO its 200 ms floor. A sample of 40 ms
	// would leave srtt near 40 ms; the timer's wait (200 ms or more) taken
	// as a round trip adds at least 200/8 = 25 ms (RFC 6298 2.3).
	var last Sample
	for _, s := range n.Samples() {
		if s.Side == "client" {
			last = s
		}
	}
	t.Logf("client srtt %v, rttvar %v, RTO %v after one timeout on a 40 ms round trip; client TCP %+v",
		last.SRTT, last.RTTVar, last.RTO, n.Stats().Client)
	if st := n.Stats().Client; st.Timeouts != 1 {
		t.Errorf("client TCP %+v: want one timeout", st)
	}
	if last.SRTT < 60*time.Millisecond {
		t.Errorf("srtt %v after the timeout: the timer's wait was not taken as a round trip", last.SRTT)
	}
}

// settled reports whether the client's last sample has nothing outstanding.
func settled(samples []Sample) bool {
	for i := len(samples) - 1; i >= 0; i-- {
		if samples[i].Side == "client" {
			return samples[i].Outstanding == 0 && samples[i].SRTT > 0
		}
	}
	return false
}
