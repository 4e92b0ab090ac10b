package chat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// LineConn is the client side of the TCP line door as a transport.Conn: Send
// writes a message's text as one line (a command or chat text); Recv returns
// each line the server writes as a plain text message. It is what nc does.
type LineConn struct {
	nc net.Conn
	r  *bufio.Reader
	mu sync.Mutex
}

var _ transport.Conn = (*LineConn)(nil)

// DialLines connects to a TCP line door.
func DialLines(ctx context.Context, addr string) (*LineConn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chat: dial %s: %w", addr, err)
	}
	return &LineConn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}, nil
}

// Send writes m.Data (or its JSON wire form when m has an event) and a newline.
func (c *LineConn) Send(ctx context.Context, m transport.Message) error {
	b := m.Data
	if m.Event != "" {
		b = transport.Encode(m)
	}
	if bytes.ContainsAny(b, "\n") {
		return fmt.Errorf("chat: send: newline inside a line")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetWriteDeadline(dl)
	} else {
		c.nc.SetWriteDeadline(time.Time{})
	}
	_, err := c.nc.Write(append(b, '\n'))
	return err
}

// Recv returns the next line from the server. Only one goroutine may call
// Recv at a time; ctx cancels it.
func (c *LineConn) Recv(ctx context.Context) (transport.Message, error) {
	stop := context.AfterFunc(ctx, func() { c.nc.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := c.r.ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			c.nc.SetReadDeadline(time.Time{})
			return transport.Message{}, ctx.Err()
		}
		if err == io.EOF && line == "" {
			return transport.Message{}, io.EOF
		}
		if line == "" {
			return transport.Message{}, err
		}
	}
	return transport.Message{Data: []byte(strings.TrimRight(line, "\r\n"))}, nil
}

// Close closes the connection.
func (c *LineConn) Close() error {
	return c.nc.Close()
}
