package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestWSEchoShowsHandshake(t *testing.T) {
	code, out, errOut := netlab(t, "", "ws", "echo", "--count", "5", "--show-handshake")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"> GET /ws HTTP/1.1", "> Upgrade: websocket", "< HTTP/1.1 101 Switching Protocols", "< Sec-WebSocket-Accept: ", "echoed back"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestHTTPEchoBothModesJSON(t *testing.T) {
	for _, mode := range []string{"short", "long"} {
		code, out, errOut := netlab(t, "", "http", "echo", "--mode", mode, "--count", "5", "--poll-interval", "10ms", "--json")
		if code != 0 {
			t.Fatalf("--mode %s: exit %d: %s", mode, code, errOut)
		}
		var doc struct {
			Results []struct {
				Transport string `json:"transport"`
				Received  int    `json:"received"`
				BytesSent *int64 `json:"bytes_sent"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("--mode %s: %v\n%s", mode, err, out)
		}
		want := map[string]string{"short": "poll", "long": "longpoll"}[mode]
		if len(doc.Results) != 1 || doc.Results[0].Transport != want || doc.Results[0].Received != 5 || doc.Results[0].BytesSent == nil || *doc.Results[0].BytesSent == 0 {
			t.Fatalf("--mode %s: %s", mode, out)
		}
	}
}

func TestHTTPAndWSFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"http", "echo", "--mode", "medium"},
		{"http", "echo", "--poll-interval", "0s"},
		{"http", "connect", "--hold", "-1s", "127.0.0.1:1"},
		{"ws", "connect"},
	} {
		code, _, errOut := netlab(t, "", args...)
		if code != exitUsage || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
}

func TestHTTPServeWorksWithCurlAndConnect(t *testing.T) {
	addr, stop := startServe(t, "http")
	base := "http://" + addr + "/poll"
	// As curl would.
	resp, err := http.Post(base+"/session", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /poll/session: %s", resp.Status)
	}
	q := "?sid=" + strings.TrimSpace(string(sid))
	if resp, err = http.Post(base+q, "text/plain", strings.NewReader("hello from curl\n")); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + q + "&after=0&wait=5s")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from curl\n" {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	for _, mode := range []string{"short", "long"} {
		code, out, errOut := netlab(t, "one\n", "http", "connect", "--mode", mode, "--poll-interval", "10ms", addr)
		if code != 0 || !regexp.MustCompile(`← seq 1  "one"  rtt \d`).MatchString(out) {
			t.Fatalf("connect --mode %s: exit %d\n%s\n%s", mode, code, out, errOut)
		}
	}
	if total := stop(); !strings.Contains(total, "netlab http echo server") || !strings.Contains(total, "3 clients, 3 messages echoed") {
		t.Fatalf("serve output:\n%s", total)
	}
}

func TestWSServeWorksWithConnect(t *testing.T) {
	addr, stop := startServe(t, "ws")
	code, out, errOut := netlab(t, "one\ntwo\n", "ws", "connect", "--show-handshake", addr)
	if code != 0 || !strings.Contains(out, "< HTTP/1.1 101 Switching Protocols") || !strings.Contains(out, `← seq 2  "two"`) {
		t.Fatalf("connect exit %d:\n%s\n%s", code, out, errOut)
	}
	if total := stop(); !strings.Contains(total, "1 client, 2 messages echoed") {
		t.Fatalf("serve totals:\n%s", total)
	}
}
