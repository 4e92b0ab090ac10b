package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
)

func TestClusterDemoJSON(t *testing.T) {
	code, out, errOut := netlab(t, "", "cluster", "demo", "--adapter", "nats", "--messages", "4", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Broker string `json:"broker"`
		Runs   []struct {
			Adapter string `json:"adapter"`
			Sticky  []struct {
				Server string `json:"server"`
				Status int    `json:"status"`
			} `json:"sticky_probe"`
			Load struct {
				Expected    int `json:"expected_deliveries"`
				Received    int `json:"received"`
				Lost        int `json:"lost"`
				Duplicates  int `json:"duplicates"`
				WrongRoom   int `json:"wrong_room"`
				CrossServer struct {
					Count int     `json:"count"`
					P50Us float64 `json:"p50_us"`
				} `json:"cross_server_latency"`
			} `json:"load"`
		} `json:"runs"`
	}
	if _, results := envelopeOf(t, out); json.Unmarshal(results, &res) != nil {
		t.Fatalf("not JSON:\n%s", out)
	}
	if len(res.Runs) != 1 || res.Runs[0].Adapter != "nats" {
		t.Fatalf("runs: %+v", res.Runs)
	}
	r := res.Runs[0]
	l := r.Load
	if l.Received+l.Lost != l.Expected || l.Duplicates != 0 || l.WrongRoom != 0 || l.CrossServer.Count == 0 || l.CrossServer.P50Us <= 0 {
		t.Errorf("load: %+v", l)
	}
	// The long-polling session opened on s1 is unknown to s2.
	if len(r.Sticky) != 3 || r.Sticky[0].Status != 201 || r.Sticky[1].Server != "s1" || r.Sticky[1].Status != 200 ||
		r.Sticky[2].Server != "s2" || r.Sticky[2].Status != 404 {
		t.Errorf("sticky probe: %+v, want 201 on s1, 200 on s1, 404 on s2", r.Sticky)
	}
}

func TestClusterDemoUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "demo", "--adapter", "kafka"}, `unknown adapter "kafka"`},
		{[]string{"cluster", "demo", "--adapter", "redis"}, "needs --redis URL"},
		{[]string{"cluster", "demo", "--messages", "0"}, "--messages must be"},
	} {
		code, _, errOut := netlab(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("netlab %s: exit %d, %q; want exit %d and %q", strings.Join(tc.args, " "), code, errOut, exitUsage, tc.want)
		}
	}
}

func TestClusterBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"cluster", "broker", "--listen", "127.0.0.1:0"}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" && time.Now().Before(deadline) {
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url == "" {
		cancel()
		<-done
		t.Fatalf("no URL printed: %q %q", out.String(), errOut.String())
	}
	ad, err := natsadapter.New(natsadapter.Config{URL: url})
	if err != nil {
		t.Errorf("connect to the broker: %v", err)
	} else {
		_ = ad.Close()
	}
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d after Ctrl-C, want %d", code, exitInterrupted)
	}
	if !strings.Contains(out.String(), "stopped with") {
		t.Errorf("output: %q", out.String())
	}
}
