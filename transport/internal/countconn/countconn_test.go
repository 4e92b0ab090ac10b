package countconn

import (
	"context"
	"io"
	"net"
	"testing"
)

func TestCountOwnerCorkCapture(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := New(a, nil)
	defer c.Close()
	go io.Copy(io.Discard, b)
	c.StartCapture()
	c.Write([]byte("before owner")) // 12 bytes, unowned
	var owner Counter
	c.SetOwner(&owner)
	if _, w := owner.Load(); w != 12 {
		t.Fatalf("owner got %d bytes written before it was set, want 12", w)
	}
	c.Cork()
	c.Write([]byte("one"))
	c.Write([]byte("two"))
	if _, w := c.Totals(); w != 12 {
		t.Fatalf("corked writes counted before they were sent: %d", w)
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	if _, w := owner.Load(); w != 18 {
		t.Fatalf("owner counted %d bytes, want 18", w)
	}
	written, _ := c.StopCapture()
	if string(written) != "before owneronetwo" {
		t.Fatalf("captured %q", written)
	}
}

func TestListenerAndContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listener{ln}
	defer l.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Write([]byte("hello"))
			c.Close()
		}
	}()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.ReadAll(nc)
	cc := FromContext(ConnContext(context.Background(), nc))
	if cc == nil {
		t.Fatal("FromContext found no counting conn")
	}
	if r, _ := cc.Totals(); r != 5 {
		t.Fatalf("read %d bytes, want 5", r)
	}
}

func TestOneCounterForBothDirections(t *testing.T) {
	a, b := net.Pipe()
	var ctr Counter
	ca := New(a, &ctr)
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
	if r, w := ctr.Load(); w != 5 || r != 3 {
		t.Fatalf("counted written %d read %d, want 5 and 3", w, r)
	}
	if r, w := ca.Totals(); w != 5 || r != 3 {
		t.Fatalf("Totals = read %d written %d, want 3 and 5", r, w)
	}
}
