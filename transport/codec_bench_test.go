package transport

import (
	"testing"
	"time"
)

var benchLine = Encode(Message{Seq: 12345, Event: "echo", Sent: time.Now(), Data: []byte("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl")})

// BenchmarkDecode and BenchmarkEncode time the wire form of a typical 64-byte
// echo message: every netlab message pays them on both ends.
func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := Decode(benchLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	m, _ := Decode(benchLine)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for range b.N {
		buf = AppendEncode(buf[:0], m)
	}
}
