package queue

import (
	"context"
	"time"
)

// SendAgain is how the httppoll and sse clients' writers POST: it calls
// post until post succeeds or fails for good, or ctx ends. A server whose
// inbox for the session is full answers 429 (or 503) with Retry-After and
// takes nothing (see session.Inbox); post then reports how long the server
// asked to wait, and the same body is sent again after a pause that
// doubles from 5 ms up to that. When ctx ends first, SendAgain returns the
// last refusal.
func SendAgain(ctx context.Context, post func(context.Context) (retry time.Duration, err error)) error {
	pause := 5 * time.Millisecond
	for {
		retry, err := post(ctx)
		if retry <= 0 || err == nil {
			return err
		}
		t := time.NewTimer(min(pause, retry))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		pause *= 2
	}
}
