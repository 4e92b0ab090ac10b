package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/netlab/netlab/labs/echo"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
	tap "github.com/netlab/netlab/transport/wire"
)

// Options is one run of the lab.
type Options struct {
	Transports []transport.Transport
	Count      int // messages to echo over each transport
	Size       int // payload bytes per message
	// DumpBytes is how many bytes of each raw read the trace hex-dumps;
	// -1 for none, 0 for the tap's default.
	DumpBytes int
	// Trace, if not nil, gets the tap's annotated trace as it happens.
	Trace io.Writer
}

// Validate reports what is wrong with o, as a one-line error.
func (o Options) Validate() error {
	if len(o.Transports) == 0 {
		return errors.New("no transports given")
	}
	if o.Count < 1 {
		return fmt.Errorf("--count must be at least 1, got %d", o.Count)
	}
	for _, tr := range o.Transports {
		if err := (echo.Config{Count: o.Count, Size: o.Size}).Validate(tr.Info()); err != nil {
			return err
		}
	}
	return nil
}

// Result is what crossed the tap over each transport.
type Result struct {
	Count  int // messages asked for, per transport
	Size   int // payload bytes per message
	Echoes []Echo
	// Interrupted reports whether Ctrl-C (the context) ended the run early.
	Interrupted bool
}

// Echo is one transport's echo through the tap.
type Echo struct {
	Transport string
	Sent      int // messages the client sent
	Received  int // echoes it got back
	Totals    tap.Totals
}

// BytesPerMessage is the wire bytes (both directions, above TCP/UDP) per
// netlab message that crossed; 0 when none did.
func (r Echo) BytesPerMessage() float64 {
	if r.Totals.Messages == 0 {
		return 0
	}
	return float64(r.Totals.Cost.Total()) / float64(r.Totals.Messages)
}

// Run echoes o.Count messages over each transport in turn through a
// tap. When ctx ends early it returns what crossed so far with
// Interrupted set.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Count: o.Count, Size: o.Size}
	for _, tr := range o.Transports {
		er, tot, err := runOne(ctx, tr, o)
		if ctx.Err() != nil {
			res.Interrupted = true
			if er.Sent > 0 {
				res.Echoes = append(res.Echoes, Echo{Transport: tr.Info().Name, Sent: er.Sent, Received: er.Received, Totals: tot})
			}
			return res, ctx.Err()
		}
		if err != nil {
			return res, err
		}
		res.Echoes = append(res.Echoes, Echo{Transport: tr.Info().Name, Sent: er.Sent, Received: er.Received, Totals: tot})
	}
	return res, nil
}

// runOne runs one echo through a tap; o.Trace, if not nil, gets the trace.
func runOne(ctx context.Context, tr transport.Transport, o Options) (echo.Result, tap.Totals, error) {
	cfg := echo.Config{Count: o.Count, Size: o.Size}
	var trace io.Writer
	if o.Trace != nil {
		// The tap writes from its own goroutines; the line below from
		// this one.
		trace = &lockedWriter{w: report.Fit(o.Trace)}
	}
	var (
		mu   sync.Mutex
		taps []*tap.Tap
	)
	cfg.Via = tap.Via(tap.Config{Out: trace, DumpBytes: o.DumpBytes}, func(t *tap.Tap) {
		mu.Lock()
		taps = append(taps, t)
		mu.Unlock()
		if trace != nil {
			fmt.Fprintf(trace, "tap on %s between the %s client and server\n\n", t.Addr(), tr.Info().Name)
		}
	})
	res, err := echo.Run(ctx, tr, cfg)
	var tot tap.Totals
	mu.Lock()
	defer mu.Unlock()
	for _, t := range taps {
		t.Close() // waits until its trace is written
		tot.Add(t.Totals())
	}
	return res, tot, err
}

// lockedWriter serializes writes to w. Safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
