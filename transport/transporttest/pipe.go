// Package transporttest helps test transports and labs: Pipe is an in-memory
// connected pair of Conns, and Run is the conformance suite every netlab
// transport passes.
package transporttest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/transport"
)

// PipeMaxMessage is the largest Data a Pipe (and Mem) carries.
const PipeMaxMessage = 1 << 20

// pipeQueue is how many messages one direction of a Pipe holds before Send
// blocks.
const pipeQueue = 256

// Pipe returns two connected in-memory Conns: what one sends the other
// receives, reliably and in order. Closing one end lets the other receive
// io.EOF after the messages already sent. A message with more than
// PipeMaxMessage bytes of Data is refused with transport.ErrTooLarge. A Pipe
// has no wire, so it is not a transport.Meter (Mem's Conns are). Both are
// safe for concurrent use.
func Pipe() (transport.Conn, transport.Conn) {
	a, b := pipe()
	return a, b
}

func pipe() (*pipeConn, *pipeConn) {
	ab := make(chan transport.Message, pipeQueue)
	ba := make(chan transport.Message, pipeQueue)
	a := &pipeConn{in: ba, out: ab, closed: make(chan struct{})}
	b := &pipeConn{in: ab, out: ba, closed: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

type pipeConn struct {
	in, out chan transport.Message
	peer    *pipeConn
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex // guards closing out against concurrent sends
	outDone bool

	sent, received atomic.Int64 // wire-form bytes, for Mem's WireStats
}

var _ transport.Conn = (*pipeConn)(nil)

func (p *pipeConn) Send(ctx context.Context, m transport.Message) error {
	if len(m.Data) > PipeMaxMessage {
		return fmt.Errorf("pipe: send %d bytes: %w (limit %d)", len(m.Data), transport.ErrTooLarge, PipeMaxMessage)
	}
	select {
	case <-p.closed:
		return fmt.Errorf("pipe: send: %w", transport.ErrClosed)
	default:
	}
	m.Data = append([]byte(nil), m.Data...)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.outDone {
		return fmt.Errorf("pipe: send: %w", transport.ErrClosed)
	}
	select {
	case p.out <- m:
		p.sent.Add(int64(len(transport.Encode(m))))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closed:
		return fmt.Errorf("pipe: send: %w", transport.ErrClosed)
	case <-p.peer.closed:
		return fmt.Errorf("pipe: send: peer closed: %w", io.ErrClosedPipe)
	}
}

func (p *pipeConn) Recv(ctx context.Context) (transport.Message, error) {
	select {
	case <-p.closed:
		return transport.Message{}, fmt.Errorf("pipe: recv: %w", transport.ErrClosed)
	default:
	}
	select {
	case m, ok := <-p.in:
		if !ok {
			return transport.Message{}, io.EOF
		}
		p.received.Add(int64(len(transport.Encode(m))))
		return m, nil
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-p.closed:
		return transport.Message{}, fmt.Errorf("pipe: recv: %w", transport.ErrClosed)
	}
}

func (p *pipeConn) Close() error {
	p.once.Do(func() {
		close(p.closed)
		p.mu.Lock()
		p.outDone = true
		close(p.out) // the peer drains what was sent, then sees io.EOF
		p.mu.Unlock()
	})
	return nil
}
