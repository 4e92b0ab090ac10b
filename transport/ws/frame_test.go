package ws

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

// TestClientSendsOneFramePerMessage reads the client's bytes with a raw
// server: a message near the size limit must leave as one final text frame,
// not as fragments.
func TestClientSendsOneFramePerMessage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type frameHead struct {
		fin    bool
		opcode byte
		length uint64
	}
	got := make(chan frameHead, 1)
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		req, err := http.ReadRequest(r)
		if err != nil {
			errc <- err
			return
		}
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			base64.StdEncoding.EncodeToString(h[:])+"\r\n\r\n")
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			errc <- err
			return
		}
		n := uint64(b[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			io.ReadFull(r, l[:])
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			io.ReadFull(r, l[:])
			n = binary.BigEndian.Uint64(l[:])
		}
		got <- frameHead{fin: b[0]&0x80 != 0, opcode: b[0] & 0x0f, length: n}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := []byte(strings.Repeat("y", DefaultMaxMessage))
	if err := c.Send(ctx, transport.Message{Seq: 1, Data: data}); err != nil {
		t.Fatal(err)
	}
	want := uint64(len(transport.Encode(transport.Message{Seq: 1, Data: data})))
	select {
	case f := <-got:
		if !f.fin || f.opcode != 1 || f.length != want {
			t.Fatalf("first frame: fin %v opcode %d length %d; want one final text frame of %d bytes", f.fin, f.opcode, f.length, want)
		}
	case err := <-errc:
		t.Fatal(err)
	}
}

// TestHeartbeat: a peer that answers pings stays connected across many ping
// intervals; a peer that goes silent is dropped after PingInterval+PongTimeout.
func TestHeartbeat(t *testing.T) {
	// Generous: under -race on a busy machine a goroutine can wait a while.
	opts := Options{PingInterval: 50 * time.Millisecond, PongTimeout: time.Second}
	client, server, _ := pair(t, opts)
	time.Sleep(1500 * time.Millisecond) // longer than PingInterval+PongTimeout, no messages
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Send(ctx, transport.Message{Seq: 1}); err != nil {
		t.Fatalf("after idle intervals: %v", err)
	}
	if m, err := server.Recv(ctx); err != nil || m.Seq != 1 {
		t.Fatalf("after idle intervals the server got %+v, %v", m, err)
	}

	// A raw client that never answers pings (it reads nothing).
	addr := echoServer(t, opts)
	raw, _ := rawHandshake(t, addr)
	defer raw.Close()
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(raw) // pings, then EOF when the server gives up
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a silent peer for 10 s")
	}
	t.Logf("silent peer dropped after %v", time.Since(start))
}
