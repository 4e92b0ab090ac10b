package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// MaxLine is the longest line a TCP line client may send, in bytes.
const MaxLine = 2048

// ServeLines serves TCP line clients (nc, telnet) accepted on ln until ctx is
// done, then closes ln and waits for its clients to finish. Each line is a
// command (/join ROOM, /help, ...) or a message to the current room; a line
// that is a JSON object is read in transport.Message wire form.
func (h *Hub) ServeLines(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("chat: accept tcp: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.ServeLine(ctx, nc)
		}()
	}
}

// ServeLine runs one TCP line client until it leaves, then closes nc.
func (h *Hub) ServeLine(ctx context.Context, nc net.Conn) error {
	r := bufio.NewReaderSize(nc, MaxLine)
	w := bufio.NewWriter(nc)
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()
	d := &clientConn{
		recv: func(ctx context.Context) (transport.Message, error) { return readLine(r) },
		send: func(ctx context.Context, m *transport.Message, latency bool) error {
			if dl, ok := ctx.Deadline(); ok {
				nc.SetWriteDeadline(dl)
			}
			_, err := w.Write(FormatLine(m, latency, time.Now()))
			return err
		},
		flush: w.Flush,
		close: func(int, string) error { return nc.Close() },
	}
	return h.serve(ctx, d, "tcp")
}

// errLineTooLong is wrapped by readLine for an over-long line.
var errLineTooLong = fmt.Errorf("%w: line longer than %d bytes, ignored", transport.ErrTooLarge, MaxLine)

// readLine reads one line. An over-long line is skipped up to its newline and
// reported as an error matching transport.ErrTooLarge; a line that starts
// with '{' but is not a valid message is an error matching
// transport.ErrMalformed.
func readLine(r *bufio.Reader) (transport.Message, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return transport.Message{}, err
		}
		return transport.Message{}, errLineTooLong
	}
	if err != nil && len(line) == 0 {
		return transport.Message{}, err
	}
	line = bytes.TrimRight(line, "\r\n")
	m, derr := transport.Decode(line)
	if derr != nil {
		return transport.Message{}, fmt.Errorf("invalid JSON (send plain text, or one JSON object per line): %w", derr)
	}
	return m, nil
}

// FormatLine renders a message for a line client, newline included:
//
//	[lobby] alice: hi          a chat message (room in brackets)
//	* bob joined lobby         who came and went
//	! flood: ...               an error for you
//
// With latency on, a chat line ends with how long the message took from the
// server taking it to now.
func FormatLine(m *transport.Message, latency bool, now time.Time) []byte {
	var b []byte
	switch m.Event {
	case "chat":
		b = fmt.Appendf(b, "[%s] %s", m.Room, m.Data)
		if latency && !m.Sent.IsZero() {
			b = fmt.Appendf(b, "  (+%s)", now.Sub(m.Sent).Round(time.Microsecond))
		}
	case "join", "leave", "nick":
		b = fmt.Appendf(b, "* %s", m.Data)
	case "error", "bye":
		b = fmt.Appendf(b, "! %s", m.Data)
	default:
		b = append(b, m.Data...)
	}
	return append(b, '\n')
}
