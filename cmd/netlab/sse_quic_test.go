package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestNewTransportsInEcho: sse, quic and quic-streams run in echo from the
// command line.
func TestNewTransportsInEcho(t *testing.T) {
	code, out, errOut := netlab(t, "", "echo", "--transports", "sse,quic,quic-streams", "--count", "5")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"sse", "quic", "quic-streams", "echoed back"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLossStreamsCommand(t *testing.T) {
	code, out, errOut := netlab(t, "", "loss", "streams", "--count", "60", "--json", "--handshake=false")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var env struct {
		Lab     string `json:"lab"`
		Results struct {
			Runs []struct {
				Transport string `json:"transport"`
				Streams   int    `json:"streams"`
				Delivered int    `json:"delivered"`
			} `json:"runs"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	doc := env.Results
	if env.Lab != "loss streams" {
		t.Errorf("lab %q, want loss streams", env.Lab)
	}
	if len(doc.Runs) != 3 || doc.Runs[2].Transport != "quic-streams" || doc.Runs[2].Streams != 60 || doc.Runs[0].Delivered != 60 {
		t.Fatalf("runs = %+v", doc.Runs)
	}
	if code, _, errOut := netlab(t, "", "loss", "streams", "--transports", "udp", "--count", "5"); code == exitOK || !strings.Contains(errOut, "does not promise delivery") {
		t.Fatalf("udp in the streams comparison: exit %d, stderr %q", code, errOut)
	}
}
