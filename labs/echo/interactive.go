package echo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/netlab/netlab/transport"
)

// Reply is one message that came back during an interactive session.
type Reply struct {
	Seq  uint64
	Data []byte
	RTT  time.Duration // 0 when the seq was not one we sent (a server that speaks first)
	Dup  bool
}

// Interactive sends each line read from in as one message and calls
// onReply for every message that comes back, with its round-trip time. When
// in ends it waits up to wait for outstanding replies. It returns how many
// lines were sent and replies received.
func Interactive(ctx context.Context, conn transport.Conn, in io.Reader, wait time.Duration, onReply func(Reply)) (sent, received int, err error) {
	var (
		mu      sync.Mutex
		sentAt  = map[uint64]time.Time{}
		pending = 0
		changed = make(chan struct{}, 1)
	)
	recvCtx, stop := context.WithCancel(ctx)
	defer stop()
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := conn.Recv(recvCtx)
			if err != nil && !errors.Is(err, transport.ErrMalformed) {
				recvErr <- err
				return
			}
			now := time.Now()
			mu.Lock()
			r := Reply{Seq: m.Seq, Data: m.Data}
			if t, ok := sentAt[m.Seq]; ok && m.Seq != 0 {
				r.RTT = now.Sub(t)
				delete(sentAt, m.Seq)
				pending--
			} else if m.Seq != 0 && m.Seq <= uint64(sent) {
				r.Dup = true
			}
			received++
			mu.Unlock()
			onReply(r)
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-recvCtx.Done():
				return
			}
		}
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				goto drain
			}
			mu.Lock()
			sent++
			seq := uint64(sent)
			sentAt[seq] = time.Now()
			pending++
			mu.Unlock()
			if err := conn.Send(ctx, transport.Message{Seq: seq, Event: "echo", Sent: time.Now(), Data: []byte(line)}); err != nil {
				return sent, received, err
			}
		case err := <-recvErr:
			if err == io.EOF {
				err = errors.New("the server closed the connection")
			}
			return sent, received, err
		case <-ctx.Done():
			return sent, received, nil
		}
	}
drain:
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		mu.Lock()
		left := pending
		mu.Unlock()
		if left == 0 {
			return sent, received, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return sent, received, nil
		case <-ctx.Done():
			return sent, received, nil
		case err := <-recvErr:
			if err == io.EOF {
				return sent, received, nil
			}
			return sent, received, err
		}
	}
}
