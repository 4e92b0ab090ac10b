package wire

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// feedSplit feeds data to d in pieces whose sizes come from seed: the same
// bytes arriving in arbitrary reads, as nats-server's parser_fuzz_test.go
// exercises its parser. Directions alternate when both is true.
func feedSplit(d *Decoder, data []byte, seed uint64, both bool) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := ClientToServer
	for len(data) > 0 {
		n := 1 + rng.IntN(min(len(data), 300))
		if rng.IntN(4) == 0 {
			n = len(data)
		}
		d.Feed(dir, data[:n])
		data = data[n:]
		if both && rng.IntN(2) == 0 {
			dir = 1 - dir
		}
	}
}

// checkBounded fails if a decoder holds more than its limits allow.
func checkBounded(t *testing.T, d *Decoder) {
	for _, st := range d.dirs {
		if len(st.line) > lineMax || len(st.pending) > pendingMax ||
			len(st.http.head) > httpHeadMax+4 || len(st.http.line) > httpLineMax {
			t.Fatalf("decoder buffers over their limits: line %d, pending %d, head %d, chunk line %d",
				len(st.line), len(st.pending), len(st.http.head), len(st.http.line))
		}
		if st.http.cur != nil && len(st.http.cur.body) > httpBodyKeep {
			t.Fatalf("kept %d body bytes, limit %d", len(st.http.cur.body), httpBodyKeep)
		}
		if m := st.http.cur; m != nil && m.stream != nil &&
			(len(m.stream.line) > sseLineMax || len(m.stream.fields) > sseFieldsMax || m.stream.dataLen > sseDataMax) {
			t.Fatalf("event stream buffers over their limits: line %d, fields %d, data %d",
				len(m.stream.line), len(m.stream.fields), m.stream.dataLen)
		}
		if st.ws != nil && len(st.ws.msg) > wsMessageMax {
			t.Fatalf("kept %d message bytes, limit %d", len(st.ws.msg), wsMessageMax)
		}
	}
}

// addSeeds adds the recorded connections in testdata as seeds, each
// direction's bytes joined.
func addSeeds(f *testing.F, add func(data []byte)) {
	recs, _ := filepath.Glob("samples/*.rec")
	for _, rec := range recs {
		dirs, chunks := readRec(f, rec)
		var all [2][]byte
		for i, c := range chunks {
			all[dirs[i]] = append(all[dirs[i]], c...)
		}
		add(all[0])
		add(all[1])
	}
}

// FuzzDecoder feeds arbitrary bytes, in arbitrary splits and directions,
// to a decoder of each protocol: it must not panic, must count every byte
// and must stay within its memory bounds.
func FuzzDecoder(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(b, uint64(1), uint8(0)) })
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, proto uint8) {
		d := NewDecoder("conn 1", Proto(proto%4), DefaultDumpBytes, func(string) {})
		feedSplit(d, data, seed, true)
		checkBounded(t, d)
		d.Close()
		tot := d.Totals()
		if got := tot.BytesToServer + tot.BytesToClient; got != int64(len(data)) {
			t.Fatalf("counted %d bytes, fed %d", got, len(data))
		}
	})
}

const fuzzUpgrade = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

// FuzzWSFrames feeds arbitrary bytes as WebSocket frames after a valid
// handshake, once whole and once split: the frames and messages found
// must not depend on how the bytes were split into reads.
func FuzzWSFrames(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(b, uint64(2), false) })
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, uint64(3), true)
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, fromServer bool) {
		run := func(split bool) Totals {
			d := NewDecoder("conn 1", WS, -1, nil)
			d.Feed(ClientToServer, []byte(fuzzUpgrade))
			d.Feed(ServerToClient, []byte(upgradeAnswer))
			dir := ClientToServer
			if fromServer {
				dir = ServerToClient
			}
			if split {
				rng := rand.New(rand.NewPCG(seed, 1))
				for b := data; len(b) > 0; {
					n := 1 + rng.IntN(min(len(b), 20))
					d.Feed(dir, b[:n])
					b = b[n:]
				}
			} else {
				d.Feed(dir, data)
			}
			checkBounded(t, d)
			d.Close()
			return d.Totals()
		}
		whole, split := run(false), run(true)
		if whole.Frames != split.Frames || whole.Messages != split.Messages || whole.Cost != split.Cost {
			t.Fatalf("split changed the result: whole %d frames %d messages %v, split %d frames %d messages %v",
				whole.Frames, whole.Messages, whole.Cost, split.Frames, split.Messages, split.Cost)
		}
	})
}

// FuzzHTTP feeds arbitrary bytes as one direction of an HTTP connection,
// whole and split: requests and costs must not depend on the split.
func FuzzHTTP(f *testing.F) {
	addSeeds(f, func(b []byte) { f.Add(b, uint64(4), false) })
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, responses bool) {
		run := func(split bool) Totals {
			d := NewDecoder("conn 1", HTTP, -1, nil)
			dir := ClientToServer
			if responses {
				dir = ServerToClient
			}
			if split {
				rng := rand.New(rand.NewPCG(seed, 2))
				for b := data; len(b) > 0; {
					n := 1 + rng.IntN(min(len(b), 40))
					d.Feed(dir, b[:n])
					b = b[n:]
				}
			} else {
				d.Feed(dir, data)
			}
			checkBounded(t, d)
			d.Close()
			return d.Totals()
		}
		whole, split := run(false), run(true)
		if whole.Requests != split.Requests || whole.Responses != split.Responses || whole.Cost != split.Cost {
			t.Fatalf("split changed the result: whole %+v, split %+v", whole, split)
		}
	})
}

// The seed corpus in testdata/fuzz must exist: 'go test' runs it.
func TestFuzzCorpusPresent(t *testing.T) {
	for _, name := range []string{"FuzzDecoder", "FuzzWSFrames", "FuzzHTTP"} {
		ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
		if err != nil || len(ents) == 0 {
			t.Errorf("no seed corpus for %s in testdata/fuzz (%v)", name, err)
		}
	}
}
