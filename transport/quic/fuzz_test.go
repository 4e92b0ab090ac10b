package quic

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/netlab/netlab/transport"
)

// FuzzReadFrame feeds arbitrary stream bytes to the frame reader, one byte
// per read where the fuzzer says (a stream delivers data in any pieces):
// never a panic, never a message over the limit, never more read past a
// length over the limit, and a clean io.EOF only between frames.
func FuzzReadFrame(f *testing.F) {
	frame := func(b []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
	}
	f.Add(frame(transport.Encode(transport.Message{Seq: 1, Data: []byte("hi")})), false)
	f.Add(append(frame([]byte(`{"seq":2}`)), frame([]byte("not json"))...), true)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'}, false)
	f.Add([]byte{0, 0, 0, 9, '{'}, true)
	f.Add([]byte{0, 0}, false)
	o := Options{MaxMessage: 64}.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte, oneByte bool) {
		var r io.Reader = bytes.NewReader(b)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		br := bufio.NewReaderSize(r, 16) // smaller than most frames: reads span refills
		var buf []byte
		for read := 0; ; {
			m, nbuf, err := readFrame(br, buf, o)
			buf = nbuf
			if err == io.EOF {
				if read != len(b) {
					t.Fatalf("io.EOF after %d of %d bytes: only between frames", read, len(b))
				}
				return
			}
			if err != nil {
				if errors.Is(err, transport.ErrTooLarge) && !errors.Is(err, errDecode) && int(binary.BigEndian.Uint32(b[read:])) <= o.frameLimit() {
					t.Fatalf("frame refused as too large under the limit: %v", err)
				}
				return
			}
			if len(m.Data) > o.MaxMessage {
				t.Fatalf("a %d-byte message passed the %d-byte limit", len(m.Data), o.MaxMessage)
			}
			read += 4 + int(binary.BigEndian.Uint32(b[read:]))
		}
	})
}
