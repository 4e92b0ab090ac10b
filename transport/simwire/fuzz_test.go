package simwire

import (
	"encoding/hex"
	"testing"
)

// FuzzParsePacket feeds arbitrary bytes to the trace's header parser: it
// must never panic, whatever lengths and offsets the bytes claim.
func FuzzParsePacket(f *testing.F) {
	// A SYN from the client stack, as the wire carried it.
	syn, _ := hex.DecodeString("4500003c000040004006269b0a0000010a000002f58a1b58258" +
		"59db800000000a002faf0c7a50000020405b40402080a8f4e35a90000000001030307")
	for _, s := range [][]byte{syn, {}, {0x45}, make([]byte, 20), make([]byte, 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := parsePacket(b)
		if p.Size != len(b) {
			t.Fatalf("Size %d for %d bytes", p.Size, len(b))
		}
		if p.Len < 0 {
			t.Fatalf("negative payload length %d", p.Len)
		}
	})
}
