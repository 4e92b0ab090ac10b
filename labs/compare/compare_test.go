package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/push"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func echoRun(ctx context.Context, tr transport.Transport, via transport.Via) (EchoFigures, error) {
	r, err := echo.Run(ctx, tr, echo.Config{Count: 10, Size: 16, Via: via})
	return EchoFigures{Sent: r.Sent, Received: r.Received, RTT: r.RTT, Wire: r.Wire, HasWire: r.HasWire}, err
}

func TestRunBuildsOneColumnPerTransport(t *testing.T) {
	cfg := Config{
		Subjects: []Subject{
			{Transport: &transporttest.Mem{Name: "tcp"}, Label: "TCP"},
			// Copies makes Mem unreliable (Info().Reliable false), as UDP.
			{Transport: &transporttest.Mem{Name: "udp", Copies: func(transport.Message) int { return 1 }}, Label: "UDP"},
			{Transport: &transporttest.Mem{Name: "mem"}},
		},
		Echo: echoRun,
		Push: push.Config{Rate: 100, Schedule: push.Fixed, Count: 10},
	}
	var steps []string
	cfg.Progress = func(lab, subject string, step, n int) { steps = append(steps, lab+" "+subject) }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if want := "echo tcp,push tcp,echo udp,push udp,echo mem,push mem"; strings.Join(steps, ",") != want {
		t.Errorf("progress %q, want %q", strings.Join(steps, ","), want)
	}
	for _, c := range res.Columns {
		if c.Echo == nil || c.Push == nil {
			t.Fatalf("%s: echo %v push %v, want both", c.Name, c.Echo, c.Push)
		}
		if c.Push.Emitted != 10 {
			t.Errorf("%s: emitted %d, want 10", c.Name, c.Push.Emitted)
		}
		if c.Info.Reliable && (c.Push.Delivered != 10 || c.Echo.Received != 10) {
			t.Errorf("%s: delivered %d echoed %d, want 10 and 10", c.Name, c.Push.Delivered, c.Echo.Received)
		}
	}

	tb := Table(res)
	if got, want := strings.Join(tb.Header, "|"), "|tcp|udp|mem"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	labels := map[string]bool{}
	for _, r := range tb.Rows {
		if len(r) == 1 { // a section
			continue
		}
		if len(r) != 4 {
			t.Errorf("row %q has %d cells, want 4", r, len(r))
		}
		labels[r[0]] = true
	}
	for _, want := range []string{"delivery and order kept", "server may send unasked", "echoes back", "round trip p50",
		"round trip p99", "wire bytes per echo", "events delivered", "events lost", "delay p50 (server→client)",
		"delay p99", "delay max", "upstream delivered", "upstream delay p50", "upstream while pushing",
		"HTTP requests", "requests per message", "empty polls per event", "wire bytes per message"} {
		if !labels[want] {
			t.Errorf("no row %q", want)
		}
	}
	var buf bytes.Buffer
	if err := tb.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "share one clock") {
		t.Errorf("table does not say the delay is on a shared clock:\n%s", buf.String())
	}

	// The JSON form carries every column and decodes with the documented
	// field names.
	buf.Reset()
	if err := json.NewEncoder(&buf).Encode(JSON(res)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Transports []struct {
			Name string `json:"name"`
			Echo struct {
				RTT struct {
					P50Us float64 `json:"p50_us"`
				} `json:"rtt"`
			} `json:"echo"`
			Push struct {
				EventsDelivered int `json:"events_delivered"`
				Delay           struct {
					P50Us float64 `json:"p50_us"`
				} `json:"delay"`
			} `json:"push"`
		} `json:"transports"`
		Sentences []string `json:"sentences"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Transports) != 3 || doc.Transports[0].Name != "tcp" ||
		doc.Transports[0].Push.EventsDelivered != 10 || doc.Transports[0].Echo.RTT.P50Us <= 0 || doc.Sentences == nil {
		t.Errorf("JSON = %s", buf.String())
	}
}

func TestRunKeepsAFailureInItsColumn(t *testing.T) {
	cfg := Config{
		Subjects: []Subject{{Transport: small{&transporttest.Mem{Name: "small"}}}, {Transport: &transporttest.Mem{Name: "mem"}}},
		Push:     push.Config{Rate: 200, Schedule: push.Fixed, Count: 5, Size: 16},
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Columns[0].PushErr == nil || res.Columns[1].Push == nil || res.Columns[1].Push.Delivered != 5 {
		t.Errorf("want small (8-byte limit) to fail and mem to deliver 5: %+v", res.Columns)
	}
	if len(res.Errors()) != 1 {
		t.Errorf("errors %v, want one", res.Errors())
	}
}

// small is a transport whose messages may carry at most 8 bytes.
type small struct{ *transporttest.Mem }

func (s small) Info() transport.Info {
	i := s.Mem.Info()
	i.MaxMessage = 8
	return i
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{
		Subjects: []Subject{{Transport: &transporttest.Mem{Name: "a"}}, {Transport: &transporttest.Mem{Name: "b"}}},
		Push:     push.Config{Rate: 20, Schedule: push.Fixed, Count: 1000},
		Progress: func(lab, subject string, step, n int) {
			if subject == "a" {
				time.AfterFunc(200*time.Millisecond, cancel)
			}
		},
	}
	res, err := Run(ctx, cfg)
	if err == nil || !res.Interrupted {
		t.Fatalf("err %v interrupted %v, want context.Canceled and true", err, res.Interrupted)
	}
	if res.Columns[0].Push == nil || res.Columns[1].Push != nil {
		t.Errorf("want partial figures for a and none for b")
	}
}
