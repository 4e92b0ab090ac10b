package missed

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestFromJSONRoundTrip: a saved document gives back the results and the
// table of the run that printed it (netlab report rebuilds its page so).
func TestFromJSONRoundTrip(t *testing.T) {
	cfg := fast()
	cfg.Scenarios, cfg.Strategies = []Scenario{Offline, SlowConsumer}, []Strategy{None, Replay}
	cfg.Transports = transports()
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var saved []ResultJSON
	var names []string
	for _, r := range results {
		saved = append(saved, JSON(r))
	}
	for _, sc := range cfg.Scenarios {
		names = append(names, sc.String())
	}
	b, _ := json.Marshal(struct {
		S SettingsJSON
		R []ResultJSON
	}{Settings(cfg), saved})
	var doc struct {
		S SettingsJSON
		R []ResultJSON
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	back, err := ConfigFromJSON(doc.S, names, []string{"none", "replay"})
	if err != nil {
		t.Fatal(err)
	}
	var again []Result
	for _, rj := range doc.R {
		r, err := FromJSON(rj)
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, r)
		if got := JSON(r); !reflect.DeepEqual(got, rj) {
			t.Errorf("%s/%s: JSON of FromJSON\n got %+v\nwant %+v", rj.Scenario, rj.Strategy, got, rj)
		}
	}
	var want, got strings.Builder
	rounded := cfg
	rounded.Transports = nil
	if err := Table(back, again).Write(&got); err != nil {
		t.Fatal(err)
	}
	// The table of the run, from its results rounded as the document
	// keeps them.
	if err := Table(rounded, again).Write(&want); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("the table from the document differs:\n%s\nwant\n%s", got.String(), want.String())
	}
}
