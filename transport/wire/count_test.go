package wire

import (
	"io"
	"net"
	"testing"
)

func TestCountingConn(t *testing.T) {
	a, b := net.Pipe()
	var ctr Counter
	ca := Count(a, &ctr)
	go func() {
		buf := make([]byte, 5)
		io.ReadFull(b, buf)
		b.Write([]byte("abc"))
		b.Close()
	}()
	if _, err := ca.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	io.ReadAll(ca)
	ca.Close()
	if ctr.Sent() != 5 || ctr.Received() != 3 {
		t.Fatalf("counted sent %d received %d, want 5 and 3", ctr.Sent(), ctr.Received())
	}
}
