// Package queue is the Send/Recv half of the connections that keep a
// reader goroutine and a writer goroutine of their own: the httppoll and sse
// clients (one goroutine GETs, one POSTs several queued messages at once) and
// quic (one goroutine writes a stream, or a stream per message).
//
// Send puts a message on the out queue, which the writer takes with Next or
// Batch; the reader puts what it reads on the in queue, which Recv returns.
// Close begins with StartClose: Send and Recv refuse from then on, and the
// writer's Next hands out what is still queued, then reports the end. The
// writer calls WriteDone and the reader ReadDone as they return, with the
// error that ended them; Send and Recv report those errors.
//
// transport/pump has the other shape, with no writer goroutine: Send writes
// under a lock. These connections need the goroutine: a POST or a stream
// write carries every message queued by then.
package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/netlab/netlab/transport"
)

// A Queue is a connection's two queues. Its methods are safe for concurrent
// use.
type Queue struct {
	name       string // prefixes errors: "sse", "quic"
	maxMessage int

	out chan transport.Message // Send → the writer
	In  chan transport.Message // the reader → Recv

	closing   chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once

	readDone  chan struct{}
	readErr   error // set before readDone is closed
	writeDone chan struct{}
	writeErr  error // set before writeDone is closed
}

// New returns a Queue whose Send refuses messages over maxMessage bytes and
// holds out messages, and whose reader may read in messages ahead of Recv;
// name prefixes its errors.
func New(name string, maxMessage, out, in int) *Queue {
	return &Queue{
		name:       name,
		maxMessage: maxMessage,
		out:        make(chan transport.Message, out),
		In:         make(chan transport.Message, in),
		closing:    make(chan struct{}),
		readDone:   make(chan struct{}),
		writeDone:  make(chan struct{}),
	}
}

// Send queues m for the writer.
func (q *Queue) Send(ctx context.Context, m transport.Message) error {
	if q.closed.Load() {
		return fmt.Errorf("%s: send: %w", q.name, transport.ErrClosed)
	}
	if len(m.Data) > q.maxMessage {
		return fmt.Errorf("%s: send %d bytes: %w (limit %d)", q.name, len(m.Data), transport.ErrTooLarge, q.maxMessage)
	}
	select {
	case q.out <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.closing:
		return fmt.Errorf("%s: send: %w", q.name, transport.ErrClosed)
	case <-q.writeDone:
		if q.writeErr == nil {
			return fmt.Errorf("%s: send: %w", q.name, transport.ErrClosed)
		}
		return q.writeErr
	}
}

// Recv returns the next message the reader queued, then the error that
// ended the reader.
func (q *Queue) Recv(ctx context.Context) (transport.Message, error) {
	if q.closed.Load() {
		return transport.Message{}, fmt.Errorf("%s: recv: %w", q.name, transport.ErrClosed)
	}
	select {
	case m := <-q.In:
		return m, nil
	case <-ctx.Done():
		return transport.Message{}, ctx.Err()
	case <-q.readDone:
		select {
		case m := <-q.In:
			return m, nil
		default:
		}
		if q.closed.Load() {
			return transport.Message{}, fmt.Errorf("%s: recv: %w", q.name, transport.ErrClosed)
		}
		return transport.Message{}, q.readErr
	}
}

// Next waits for the next message to write. After StartClose it returns
// what is still queued, with late set, and then ok=false; it returns
// ok=false too once stop is closed (a nil stop never is).
func (q *Queue) Next(stop <-chan struct{}) (m transport.Message, late, ok bool) {
	select {
	case m = <-q.out:
		return m, false, true
	case <-q.closing:
		select {
		case m = <-q.out:
			return m, true, true
		default:
			return m, true, false
		}
	case <-stop:
		return m, false, false
	}
}

// Batch waits for the next message as Next does and appends it to b with
// add, then as many more of those already queued as fit below limit bytes:
// one write's worth.
func (q *Queue) Batch(b []byte, limit int, stop <-chan struct{}, add func([]byte, transport.Message) []byte) (_ []byte, late, ok bool) {
	m, late, ok := q.Next(stop)
	if !ok {
		return b, late, false
	}
	b = add(b, m)
	for len(b) < limit {
		select {
		case m := <-q.out:
			b = add(b, m)
		default:
			return b, late, true
		}
	}
	return b, late, true
}

// Drain is a writer goroutine's whole loop: it writes Batch after Batch
// with write (late: Close has begun) until the queue has drained after
// StartClose or a write fails, and then calls WriteDone.
func (q *Queue) Drain(limit int, add func([]byte, transport.Message) []byte, write func(b []byte, late bool) error) {
	var b []byte
	for {
		var late, ok bool
		if b, late, ok = q.Batch(b[:0], limit, nil, add); !ok {
			q.WriteDone(nil)
			return
		}
		if err := write(b, late); err != nil {
			q.WriteDone(err)
			return
		}
	}
}

// AppendLine appends m's wire form and a newline: one line of a POST body.
func AppendLine(b []byte, m transport.Message) []byte {
	return append(transport.AppendEncode(b, m), '\n')
}

// StartClose begins closing: Send and Recv refuse from now on, and Next
// drains the queue. It is idempotent.
func (q *Queue) StartClose() {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		close(q.closing)
	})
}

// Closed reports whether StartClose was called.
func (q *Queue) Closed() bool { return q.closed.Load() }

// ReadDone is the reader's last call: err is what Recv reports after the
// queued messages (io.EOF for the peer's clean close).
func (q *Queue) ReadDone(err error) {
	q.readErr = err
	close(q.readDone)
}

// WriteDone is the writer's last call: err (nil after a clean drain) is what
// a Send waiting then reports.
func (q *Queue) WriteDone(err error) {
	q.writeErr = err
	close(q.writeDone)
}

// ReadEnded is closed when the reader has returned.
func (q *Queue) ReadEnded() <-chan struct{} { return q.readDone }

// WriteEnded is closed when the writer has returned.
func (q *Queue) WriteEnded() <-chan struct{} { return q.writeDone }
