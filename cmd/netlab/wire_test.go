package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWireDemo(t *testing.T) {
	for _, tr := range []string{"tcp", "udp"} {
		code, out, errOut := netlab(t, "", "wire", "demo", "--transport", tr, "--count", "2")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tr, code, errOut)
		}
		for _, want := range []string{`netlab message seq=2 event="echo" data="ab"`, "2 messages of 2 B sent, 2 echoed", "netlab messages                                  4"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tr, want, out)
			}
		}
	}
}

func TestWireDemoJSON(t *testing.T) {
	code, out, errOut := netlab(t, "", "wire", "demo", "-t", "tcp", "-n", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var vs []struct {
		Totals struct {
			Messages int `json:"netlab_messages"`
			Cost     struct {
				Payload int `json:"payload_bytes"`
				Framing int `json:"framing_bytes"`
			} `json:"cost"`
		} `json:"totals"`
		PerMessage float64 `json:"wire_bytes_per_message"`
	}
	if _, results := envelopeOf(t, out); json.Unmarshal(results, &vs) != nil || len(vs) != 1 {
		t.Fatalf("want results with one transport:\n%s", out)
	}
	// 3 messages out, 3 echoes back; 2 bytes each; one newline each
	if v := vs[0]; v.Totals.Messages != 6 || v.Totals.Cost.Payload != 12 || v.Totals.Cost.Framing != 6 || v.PerMessage <= 0 {
		t.Errorf("got %+v", v)
	}
}

// The standalone tap forwards a plain TCP client to a server and traces it.
func TestWireStandalone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	recPath := t.TempDir() + "/session.rec"
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"wire", "--upstream", ln.Addr().String(), "--record", recPath}, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	var addr string
	re := regexp.MustCompile(`tap on (127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		<-done
		t.Fatalf("no tap address in %q %q", out.String(), errOut.String())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "hello from nc\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || line != "hello from nc\n" {
		t.Fatalf("echo through the tap: %q, %v", line, err)
	}
	// wait for the trace of the echo, then stop the tap as Ctrl-C would
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "closed:") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d after Ctrl-C, want %d", code, exitInterrupted)
	}
	for _, want := range []string{`plain text "hello from nc"`, "What crossed the tap", "bytes client → server"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	rec, err := os.ReadFile(recPath)
	if want := "1> " + hexOf("hello from nc\n"); err != nil || !strings.Contains(string(rec), want) {
		t.Errorf("recording lacks %q: %v\n%s", want, err, rec)
	}
}

func TestWireBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"wire"},
		{"wire", "--upstream", "nohostport"},
		{"wire", "--upstream", "127.0.0.1:1", "--proto", "smtp"},
		{"wire", "demo", "--transport", "carrier-pigeon"},
		{"layers", "--transport", "sctp"},
	} {
		code, _, errOut := netlab(t, "", args...)
		if code != exitUsage || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
}

func TestLayers(t *testing.T) {
	code, out, errOut := netlab(t, "", "layers", "--transport", "ws", "--message", "hi")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"WebSocket frame (application data)", "masking key", "4 transport      transport", "10.0.0.1", "simulated wire", "unmasked:", "{\"seq\":1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = netlab(t, "", "layers", "--transport", "udp", "--json")
	var v struct {
		Layers []struct {
			Name string `json:"name"`
			OSI  int    `json:"osi_layer"`
		} `json:"layers"`
		Len int `json:"length_bytes"`
	}
	_, results := envelopeOf(t, out)
	if code != 0 || json.Unmarshal(results, &v) != nil || len(v.Layers) != 3 || v.Layers[0].OSI != 3 || v.Len != 20+8+36 {
		t.Errorf("layers --json: exit %d, %+v\n%s", code, v, out)
	}
}

func TestWireReplaySample(t *testing.T) {
	// a recording in the tap's multi-connection format
	path := t.TempDir() + "/s.rec"
	rec := "# test\n1> " + hexOf("GET / HTTP/1.1\r\nHost: x\r\n\r\n") + "\n2> " + hexOf("{\"seq\":7,\"text\":\"x\"}\n") +
		"\n1< " + hexOf("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]") + "\n"
	if err := os.WriteFile(path, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := netlab(t, "", "wire", "replay", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"conn 1 s→c  HTTP response HTTP/1.1 200 OK", "conn 2 c→s  TCP read", "seq=7", "2 connection(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay output lacks %q:\n%s", want, out)
		}
	}
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

// Several transports: one table side by side, with real HTTP headers for
// polling and frames for WebSocket.
func TestWireDemoCompare(t *testing.T) {
	code, out, errOut := netlab(t, "", "wire", "demo", "--transport", "tcp,poll,ws", "--count", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"tcp", "poll", "ws", "per netlab message", "HTTP headers"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "conn 1") {
		t.Errorf("a comparison should not print traces:\n%s", out)
	}
}
