package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
	labwire "github.com/netlab/netlab/labs/wire"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/wire"
)

// wireFlags are --wire and --wire-dump, spelled the same on every lab that
// has them: the lab's client goes through the tap of 'netlab wire', and the
// annotated trace and what the bytes were for are printed before the lab's
// own table.
type wireFlags struct {
	cmd  *cobra.Command
	on   bool
	dump int
}

func addWireFlags(cmd *cobra.Command) *wireFlags {
	f := &wireFlags{cmd: cmd}
	fs := cmd.Flags()
	fs.BoolVar(&f.on, "wire", false, "put the tap of 'netlab wire' between client and server: print every read, datagram, request, response or frame, then what the bytes were for")
	fs.IntVar(&f.dump, "wire-dump", wire.DefaultDumpBytes, "with --wire: bytes of each raw read or datagram to hex-dump (0: none)")
	return f
}

// check returns a usage error for flags that do not go with --wire. json
// and trace are the lab's --json and --trace (false when it has none).
func (f *wireFlags) check(json, trace bool) error {
	switch {
	case f == nil:
		return nil
	case f.dump < 0:
		return usagef("--wire-dump must be >= 0, got %d", f.dump)
	case !f.on && f.cmd.Flags().Changed("wire-dump"):
		return usagef("--wire-dump sets how much of each read --wire dumps: add --wire")
	case f.on && json:
		return usagef("--wire prints a trace, --json one JSON document: use one (for the bytes as JSON: netlab wire demo --json)")
	case f.on && trace:
		return usagef("--wire and --trace both print every message as it goes: use one")
	}
	return nil
}

// start returns the tap for one run of a lab over transport name, or nil
// when --wire is off (a nil *wireRun does nothing).
func (f *wireFlags) start(out io.Writer, name string) *wireRun {
	if f == nil || !f.on {
		return nil
	}
	return &wireRun{w: &lockedWriter{w: report.Fit(out)}, out: out, name: name, dump: dumpBytes(f.dump)}
}

// wireRun is the tap of one lab run: the taps the lab starts through its
// Via, and where their trace goes.
type wireRun struct {
	w    *lockedWriter // the trace: taps and the lines about them write here
	out  io.Writer     // the same writer, for after every tap has finished
	name string        // the transport
	dump int

	mu   sync.Mutex
	taps []*wire.Tap
}

// via chains the tap in front of link (the impaired link, or nil): the
// client talks to the tap, the tap to the link, the link to the server.
func (r *wireRun) via(link transport.Via) transport.Via {
	if r == nil {
		return link
	}
	tap := wire.Via(wire.Config{Out: r.w, DumpBytes: r.dump}, func(t *wire.Tap) {
		r.mu.Lock()
		r.taps = append(r.taps, t)
		r.mu.Unlock()
		next := "server"
		if link != nil {
			next = "impaired link"
		}
		fmt.Fprintf(r.w, "tap on %s between the %s client and the %s\n\n", t.Addr(), r.name, next)
	})
	return transport.Chain(tap, link)
}

// finish waits until every tap has stopped and written its trace, then
// prints what crossed them, per message.
func (r *wireRun) finish() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	taps := r.taps
	r.taps = nil
	r.mu.Unlock()
	var tot wire.Totals
	for _, t := range taps {
		t.Close() // waits until its trace is written
		tot.Add(t.Totals())
	}
	fmt.Fprintln(r.out)
	if len(taps) == 0 {
		fmt.Fprintf(r.out, "%s: the lab stopped before its client went through the tap\n\n", r.name)
		return nil
	}
	if err := labwire.TotalsTable(fmt.Sprintf("%s through the tap: what crossed it", r.name), tot).Write(r.out); err != nil {
		return err
	}
	fmt.Fprintln(r.out)
	return nil
}

// lockedWriter serializes writes from the taps and the lab's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
