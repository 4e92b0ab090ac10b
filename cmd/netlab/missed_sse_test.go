package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/netlab/netlab/labs/missed"
	"github.com/netlab/netlab/transport/sse"
)

// TestMissedLastEventID runs SSE's reconnect with Last-Event-ID over the
// real server and client: with a buffer larger than what the dark link
// swallowed nothing is missed; with one smaller than it the difference is
// exactly what is missed, and counted as gone.
func TestMissedLastEventID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window int
	}{{"big-buffer", 250}, {"small-buffer", 5}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := missed.Config{StreamLink: sseStreamLink, Window: tc.window, Offline: time.Second}
			r := missed.RunOne(context.Background(), cfg, missed.Offline, missed.LastEventID, sse.New(sse.Options{}))
			t.Logf("%+v %+v", r, r.StreamInfo)
			if r.Err != "" || r.StreamInfo == nil {
				t.Fatalf("err %q", r.Err)
			}
			if back, err := missed.FromJSON(missed.JSON(r)); err != nil || !reflect.DeepEqual(missed.JSON(back), missed.JSON(r)) {
				t.Errorf("the --json form does not give the result back (%v):\n%+v\n%+v", err, missed.JSON(back), missed.JSON(r))
			}
			i := r.StreamInfo
			cutAfter := 50 // 500 ms at 100 events/s
			switch {
			case i.LastID != int64(cutAfter):
				t.Errorf("the reconnect sent Last-Event-ID %d, want %d (the last event before the link went dark)", i.LastID, cutAfter)
			case i.Streams < 2 || i.Reconnects < 1:
				t.Errorf("%d streams, %d reconnect attempts: the stream was never opened again", i.Streams, i.Reconnects)
			case i.Replayed+i.Gap <= int64(tc.window) && tc.window < 10:
				t.Errorf("the dark link swallowed %d events, not more than the %d-event buffer", i.Replayed+i.Gap, tc.window)
			case r.Missed != int(i.Gap) || r.Unrecoverable != int(i.Gap) || r.Delivered+r.Missed != r.Emitted:
				t.Errorf("missed %d, gone %d, delivered %d of %d: missed must be the gap, %d", r.Missed, r.Unrecoverable, r.Delivered, r.Emitted, i.Gap)
			case tc.window >= 250 && (i.Gap != 0 || i.Replayed == 0):
				t.Errorf("big buffer: gap %d, replayed %d; want 0 and > 0", i.Gap, i.Replayed)
			case tc.window < 10 && i.Replayed != int64(tc.window):
				t.Errorf("small buffer: replayed %d, want the whole buffer, %d", i.Replayed, tc.window)
			}
		})
	}
}
