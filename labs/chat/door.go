package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// Timeouts for writing to a client.
const (
	// writeWait is how long one write to a client may take before the
	// client is dropped.
	writeWait = 10 * time.Second
	// byeWait bounds flushing queued messages and the goodbye on disconnect:
	// a slow client that catches up within it still reads why it was cut off.
	byeWait = 5 * time.Second
	// maxBadInputs is how many undecodable messages in a row a client may
	// send before it is disconnected.
	maxBadInputs = 20
)

// An Acceptor hands over clients accepted by a front door (a WebSocket or a
// long-polling handler, a transport.Listener).
type Acceptor interface {
	Accept(ctx context.Context) (transport.Conn, error)
}

// ServeAcceptor serves every client a accepts, as door ("ws", "poll"), until
// ctx is done or Accept fails; it waits for those clients to finish.
func (h *Hub) ServeAcceptor(ctx context.Context, a Acceptor, door string) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := a.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("chat: accept %s: %w", door, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.ServeConn(ctx, c, door)
		}()
	}
}

// ServeConn runs one client connected through a transport.Conn until it
// leaves, is disconnected or ctx is done, then closes c. The client talks in
// transport.Message wire form: {"event":"join","room":"r1"},
// {"event":"chat","text":"hi"}, or plain text ("/join r1", "hi").
func (h *Hub) ServeConn(ctx context.Context, c transport.Conn, door string) error {
	d := &clientConn{
		recv:  c.Recv,
		send:  func(ctx context.Context, m *transport.Message, _ bool) error { return c.Send(ctx, *m) },
		flush: func() error { return nil },
		close: func(code int, reason string) error {
			if cw, ok := c.(closerWith); ok {
				return cw.CloseWith(code, reason)
			}
			return c.Close()
		},
	}
	return h.serve(ctx, d, door)
}

// closerWith is a Conn that can say why it closes (a WebSocket close frame's
// code and reason, RFC 6455 7.4.1).
type closerWith interface {
	CloseWith(code int, reason string) error
}

// Close codes (RFC 6455 7.4.1) a door closes a client with; doors without
// close codes (TCP lines, polling) just close.
const (
	closeNormal          = 1000 // the client quit, or was disconnected
	closeGoingAway       = 1001 // the server is shutting down
	closePolicyViolation = 1008 // too many bad messages in a row
)

// errBadMessages ends a session whose client sent maxBadInputs bad
// messages in a row.
var errBadMessages = errors.New("bad messages in a row")

// open registers a client with the hub, names it and puts it in the
// starting room.
func (h *Hub) open(ctx context.Context, d *clientConn, door string) (*Socket, *session, error) {
	s, err := h.Connect(ctx, "", door)
	if err != nil {
		_ = d.close(closeGoingAway, "server not accepting clients")
		return nil, nil, err
	}
	nick := "guest-" + s.id[:4]
	if err := h.Rename(ctx, s, nick); err != nil {
		h.Disconnect(s, err)
	}
	se := newSession(h, s, nick)
	if err := se.welcome(ctx, DefaultRoom); err != nil {
		h.Disconnect(s, err)
	}
	return s, se, nil
}

// clientConn is what serve needs from a connection.
type clientConn struct {
	recv  func(ctx context.Context) (transport.Message, error)
	send  func(ctx context.Context, m *transport.Message, latency bool) error
	flush func() error // after a burst of sends
	// close closes the connection, saying why where the door can (a
	// WebSocket close code).
	close func(code int, reason string) error
}

// serve runs a session in the shape of gorilla's chat client
// (examples/chat/client.go, STYLE.md 4): a read pump goroutine reads the
// client and feeds the session, and this goroutine, the write pump, writes
// what the hub queues for the socket. Every door uses it.
func (h *Hub) serve(ctx context.Context, d *clientConn, door string) error {
	s, se, err := h.open(ctx, d, door)
	if err != nil {
		return err
	}

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		bad := 0
		for {
			m, err := d.recv(ctx)
			if err != nil {
				// A message the connection could not read, which leaves
				// it usable: say so, and go on up to maxBadInputs in a
				// row. Anything else ended the connection.
				if errors.Is(err, transport.ErrMalformed) || errors.Is(err, errLineTooLong) {
					se.errorf("%v", err)
					if bad++; bad < maxBadInputs {
						continue
					}
					err = fmt.Errorf("chat: %d %w: %w", bad, errBadMessages, err)
				}
				if errors.Is(err, io.EOF) {
					err = errors.New("chat: client closed the connection")
				}
				if ctx.Err() != nil {
					err = ErrShutdown // the read was cut short because the server is stopping
				}
				h.Disconnect(s, err)
				return
			}
			bad = 0
			if err := se.handle(ctx, m); err != nil {
				h.Disconnect(s, err)
				return
			}
		}
	}()

	var werr error
	for werr == nil {
		select {
		case m := <-s.send:
			werr = h.write(ctx, d, m, se)
			for werr == nil && len(s.send) > 0 { // write the burst, then flush once
				werr = h.write(ctx, d, <-s.send, se)
			}
			if werr == nil {
				werr = d.flush()
			}
			if werr != nil {
				h.Disconnect(s, fmt.Errorf("chat: write to client: %w", werr))
			}
		case <-s.done:
			werr = s.Err()
			if werr == nil {
				werr = errors.New("chat: disconnected")
			}
		}
	}
	<-s.done
	h.goodbye(d, s, se)
	code, reason := closeNormal, "bye"
	switch err := s.Err(); {
	case errors.Is(err, ErrShutdown):
		code, reason = closeGoingAway, "server shutting down"
	case errors.Is(err, errBadMessages):
		code, reason = closePolicyViolation, fmt.Sprintf("%d bad messages in a row", maxBadInputs)
	}
	_ = d.close(code, reason)
	<-readerDone
	return nil
}

func (h *Hub) write(ctx context.Context, d *clientConn, m *transport.Message, se *session) error {
	wctx, cancel := context.WithTimeout(ctx, writeWait)
	defer cancel()
	return d.send(wctx, m, se.latency.Load())
}

// goodbye writes what is still queued and then why the socket was
// disconnected, within byeWait: a client that is reading sees the reason.
func (h *Hub) goodbye(d *clientConn, s *Socket, se *session) {
	ctx, cancel := context.WithTimeout(context.Background(), byeWait)
	defer cancel()
	if !errors.Is(s.Err(), ErrSlowConsumer) {
		for len(s.send) > 0 && ctx.Err() == nil {
			if d.send(ctx, <-s.send, se.latency.Load()) != nil {
				return
			}
		}
	}
	why := "bye"
	if err := s.Err(); err != nil && !errors.Is(err, errQuit) {
		why = "disconnected: " + err.Error()
	}
	_ = d.send(ctx, &transport.Message{Event: "bye", Sent: time.Now(), Data: []byte(why)}, false)
	_ = d.flush()
}
