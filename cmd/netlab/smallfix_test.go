package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTCPServeEchoesALastLineWithoutNewline: nc sends its input's last
// line without a newline when the input has none; it is echoed, not dropped.
func TestTCPServeEchoesALastLineWithoutNewline(t *testing.T) {
	addr, stop := startServe(t, "tcp")
	defer stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "one\nlast without newline")
	c.(*net.TCPConn).CloseWrite() // what nc does at the end of its input
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "one\nlast without newline") {
		t.Errorf("echo = %q, want both lines back", got)
	}
}

// TestUDPServeAnswersJSONLinesWithALine: nc -u sends a JSON line; the reply
// ends with a newline too, so the terminal's next line starts clean.
func TestUDPServeAnswersJSONLinesWithALine(t *testing.T) {
	addr, stop := startServe(t, "udp")
	defer stop()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"seq":1,"text":"hi"}` + "\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != `{"seq":1,"text":"hi"}`+"\n" {
		t.Errorf("reply %q, %v: want the JSON line with its newline", buf[:n], err)
	}
	// A netlab client sends no newline and gets none.
	c.Write([]byte(`{"seq":2,"text":"hi"}`))
	n, err = c.Read(buf)
	if err != nil || string(buf[:n]) != `{"seq":2,"text":"hi"}` {
		t.Errorf("reply %q, %v: want the JSON datagram as sent", buf[:n], err)
	}
}
