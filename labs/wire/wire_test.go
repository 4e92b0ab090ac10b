package wire_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/wire"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/udp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Three 2-byte messages echoed over TCP cross the tap as six netlab
// messages: 12 payload bytes and six newlines of framing.
func TestEchoThroughTheTapCountsEveryByte(t *testing.T) {
	var trace bytes.Buffer
	res, err := wire.Run(context.Background(), wire.Options{
		Transports: []transport.Transport{tcp.New(tcp.Options{})}, Count: 3, Size: 2, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Echoes) != 1 {
		t.Fatalf("got %d echoes, want 1", len(res.Echoes))
	}
	e := res.Echoes[0]
	if e.Sent != 3 || e.Received != 3 || e.Totals.Messages != 6 || e.Totals.Cost.Payload != 12 || e.Totals.Cost.Framing != 6 {
		t.Errorf("got sent %d received %d totals %+v", e.Sent, e.Received, e.Totals)
	}
	if !strings.Contains(trace.String(), `seq=3 event="echo"`) {
		t.Errorf("trace lacks the third message:\n%s", trace.String())
	}
}

func TestSeveralTransportsSideBySide(t *testing.T) {
	res, err := wire.Run(context.Background(), wire.Options{
		Transports: []transport.Transport{tcp.New(tcp.Options{}), udp.New(udp.Options{})}, Count: 2, Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tcp", "udp", "per netlab message", "UDP datagrams"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if got := res.Echoes[1].Totals.Datagrams; got != 4 {
		t.Errorf("udp: %d datagrams crossed, want 4", got)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []wire.Options{{}, {Transports: []transport.Transport{tcp.New(tcp.Options{})}, Count: 0}} {
		if _, err := wire.Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
