package loss_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/loss"
	"github.com/netlab/netlab/transport/impair"
)

// TestFromJSONRoundTrip: a saved document gives back the run that printed
// it: its JSON again, and the same table as the run's (netlab report
// rebuilds its page so).
func TestFromJSONRoundTrip(t *testing.T) {
	cfg := loss.Config{Count: 40, Interval: time.Millisecond, Link: loss.DefaultLink, Ladder: true}
	res, err := loss.Run(context.Background(), cfg, transports())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.JSON())
	if err != nil {
		t.Fatal(err)
	}
	var doc loss.JSON
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	back, err := loss.FromJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.JSON(); !reflect.DeepEqual(got, doc) {
		t.Errorf("JSON of FromJSON differs:\n got %+v\nwant %+v", got, doc)
	}
	again, err := loss.FromJSON(back.JSON())
	if err != nil {
		t.Fatal(err)
	}
	var want, got strings.Builder
	if err := back.WriteText(&want); err != nil {
		t.Fatal(err)
	}
	if err := again.WriteText(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() || !strings.Contains(got.String(), "what the client's TCP did") {
		t.Errorf("the text from the document differs:\n%s\nwant\n%s", got.String(), want.String())
	}
	for i, s := range back.Streams {
		if len(s.BySeq) != s.Sent || s.Info.Network != res.Streams[i].Info.Network || len(s.Packets) == 0 {
			t.Errorf("%s: %d delays for %d messages, network %q, %d packets", s.Transport, len(s.BySeq), s.Sent,
				s.Info.Network, len(s.Packets))
		}
	}
}

func TestParseLink(t *testing.T) {
	for _, c := range []impair.Config{{}, loss.DefaultLink,
		{Burst: impair.Burst{P: 0.02, R: 0.25}, Cut: impair.Cut{At: time.Second, For: 500 * time.Millisecond}, Seed: 7}} {
		got, err := loss.ParseLink(c.String())
		if err != nil || got.String() != c.String() {
			t.Errorf("ParseLink(%q) = %q, %v", c.String(), got.String(), err)
		}
	}
	if _, err := loss.ParseLink("--loss"); err == nil {
		t.Error("ParseLink(--loss) did not fail")
	}
}
