package chat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/pump"
)

// LineConn is the client side of the TCP line door as a transport.Conn: Send
// writes a message's text as one line (a command or chat text); Recv returns
// each line the server writes as a plain text message. It is what nc does.
// It has the shape of every netlab connection (package pump): a read pump
// reads the lines, Send writes under a lock. It is safe for concurrent use.
type LineConn struct {
	*pump.Conn
}

var _ transport.Conn = (*LineConn)(nil)

// lineClientMax bounds a line the server sends (a /who listing can be long).
const lineClientMax = 1 << 20

// DialLines connects to a TCP line door.
func DialLines(ctx context.Context, addr string) (*LineConn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chat: dial %s: %w", addr, err)
	}
	w := &lineClient{nc: nc, r: bufio.NewReaderSize(nc, 4<<10)}
	return &LineConn{pump.New(w, pump.Options{
		Name:         "chat",
		MaxMessage:   lineClientMax,
		WriteTimeout: writeWait,
		RecvQueue:    16,
	})}, nil
}

// Send writes m as one line: m.Data, or its JSON wire form when m has an
// event. Data with a newline in it is refused (it would be two lines).
func (c *LineConn) Send(ctx context.Context, m transport.Message) error {
	if m.Event == "" && bytes.ContainsAny(m.Data, "\n") {
		return errors.New("chat: send: newline inside a line")
	}
	return c.Conn.Send(ctx, m)
}

// lineClient is the line door's framing, client side.
type lineClient struct {
	nc   net.Conn
	r    *bufio.Reader // read pump only
	line []byte        // a line longer than r's buffer, gathered
}

// ReadMessage returns the next line as a plain text message.
func (c *lineClient) ReadMessage() (transport.Message, error) {
	c.line = c.line[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.line = append(c.line, chunk...)
		if len(c.line) > lineClientMax {
			return transport.Message{}, fmt.Errorf("chat: recv: line over %d bytes: %w", lineClientMax, transport.ErrTooLarge)
		}
		switch {
		case err == nil:
			return transport.Message{Data: bytes.Clone(bytes.TrimRight(c.line, "\r\n"))}, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(c.line) > 0:
			// The server closed after a last line without a newline.
			return transport.Message{Data: bytes.Clone(c.line)}, nil
		default:
			return transport.Message{}, err
		}
	}
}

// WriteMessage writes m.Data (or its JSON wire form when m has an event) and
// a newline.
func (c *lineClient) WriteMessage(m transport.Message, deadline time.Time) error {
	b := m.Data
	if m.Event != "" {
		b = transport.Encode(m)
	}
	c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(append(b[:len(b):len(b)], '\n'))
	return err
}

// Goodbye: the line door has nothing to say before closing.
func (c *lineClient) Goodbye(int, string, time.Time) bool { return false }

// Close closes the connection.
func (c *lineClient) Close() error { return c.nc.Close() }
