package stream

import (
	"context"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAnnotate(t *testing.T) {
	// Three 10-byte messages read as 4, 16, 10 bytes.
	reads := []Chunk{{Size: 4}, {Size: 16}, {Size: 10}}
	var res Result
	annotate(reads, []int{10, 20, 30}, &res)
	want := []Chunk{
		{Size: 4, Whole: 0, StartsSplit: false, EndsSplit: true},
		{Size: 16, Whole: 1, StartsSplit: true, EndsSplit: false},
		{Size: 10, Whole: 1, StartsSplit: false, EndsSplit: false},
	}
	for i := range want {
		g := reads[i]
		if g.Whole != want[i].Whole || g.StartsSplit != want[i].StartsSplit || g.EndsSplit != want[i].EndsSplit {
			t.Errorf("read %d = %+v, want %+v", i, g, want[i])
		}
	}
	if res.SplitMessages != 1 {
		t.Errorf("SplitMessages = %d, want 1 (the first message)", res.SplitMessages)
	}
}

func TestFramingRecoversEveryMessage(t *testing.T) {
	// A tiny read buffer forces messages to split across reads; the
	// framing must still recover all of them, in order.
	res, err := Run(context.Background(), Config{Count: 300, Size: 20, ReadSize: 7, NoDelay: true, RoundTrips: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovered != 300 || !res.InOrder {
		t.Fatalf("recovered %d in order %v, want 300 in order", res.Recovered, res.InOrder)
	}
	if res.Writes != 300 || len(res.Reads) < 300 {
		t.Fatalf("%d writes became %d reads; with 7-byte reads there must be more reads than writes", res.Writes, len(res.Reads))
	}
	total := 0
	for _, r := range res.Reads {
		total += r.Size
	}
	if total != res.BytesWritten {
		t.Fatalf("read %d bytes, wrote %d", total, res.BytesWritten)
	}
	if res.SplitMessages == 0 {
		t.Fatal("no message split across reads with a 7-byte buffer")
	}
	if res.Nagle == nil || res.Nagle.RTT.Count != 5 {
		t.Fatalf("Nagle part: %+v", res.Nagle)
	}
	if runtime.GOOS == "linux" && (res.Kernel == nil || res.Kernel.SendMSS == 0) {
		t.Fatalf("TCP_INFO on Linux: %+v, %v", res.Kernel, res.KernelErr)
	}
}
