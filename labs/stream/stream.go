// Package stream is the TCP stream lab: it shows that TCP carries a stream of
// bytes, not messages. A client writes many small messages back to back; the
// server shows the raw chunks its Read calls returned (how writes coalesce and
// split), then reads the same bytes through netlab's framing (one JSON
// message per line) and recovers every message. A second part shows Nagle's
// algorithm meeting delayed ACKs, and the kernel's own view of the
// connection (TCP_INFO).
//
// This lab is about TCP itself, so it uses package net directly rather than
// the transport seam.
package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/netlab/netlab/labs/stats"
	"github.com/netlab/netlab/transport"
)

// Config is one stream lab run.
type Config struct {
	Count    int  // messages the client writes back to back
	Size     int  // bytes of Data per message
	ReadSize int  // the server's Read buffer size
	NoDelay  bool // TCP_NODELAY on the client (Nagle's algorithm off)
	// RoundTrips is how many request/response round trips the Nagle part
	// measures, each request written in two pieces.
	RoundTrips int
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Count < 1:
		return fmt.Errorf("count must be at least 1, got %d", c.Count)
	case c.Size < 0 || c.Size > 1<<16:
		return fmt.Errorf("size must be between 0 and 65536 bytes, got %d", c.Size)
	case c.ReadSize < 1 || c.ReadSize > 1<<20:
		return fmt.Errorf("read size must be between 1 and 1048576 bytes, got %d", c.ReadSize)
	case c.RoundTrips < 0:
		return fmt.Errorf("round trips must not be negative, got %d", c.RoundTrips)
	}
	return nil
}

// Chunk is what one server Read returned.
type Chunk struct {
	Size int
	At   time.Duration // since the first byte
	// Whole is how many messages lay entirely inside this chunk; Starts and
	// Ends say whether the chunk began or ended in the middle of one.
	Whole       int
	StartsSplit bool
	EndsSplit   bool
	Head        []byte // the first bytes, for a dump
}

// Result is what the lab saw.
type Result struct {
	Config        Config
	Writes        int // Write calls the client made (one per message)
	BytesWritten  int
	Reads         []Chunk
	Recovered     int  // messages the framing recovered
	InOrder       bool // recovered seqs were 1..Count in order
	SplitMessages int  // messages whose bytes arrived in more than one Read
	Nagle         *NagleResult
	Kernel        *KernelInfo // the client socket's TCP_INFO, where available
	KernelErr     error       // why Kernel is nil
	// Interrupted reports whether Ctrl-C (ctx) stopped the lab early: the
	// figures are what was measured until then.
	Interrupted bool
}

// NagleResult is the request/response part: each request written in two
// pieces, with TCP_NODELAY as configured.
type NagleResult struct {
	NoDelay bool
	RTT     stats.Summary
	Samples []time.Duration
}

// KernelInfo is part of Linux's TCP_INFO for a socket: the kernel's own view.
type KernelInfo struct {
	RTT         time.Duration // smoothed round-trip time estimate
	RTTVar      time.Duration // its mean deviation
	Retransmits uint32        // segments retransmitted over the connection's life
	SendMSS     uint32        // maximum segment size for sending, bytes
	CongWindow  uint32        // congestion window, in segments
	SegsOut     uint32        // segments sent
	SegsIn      uint32        // segments received
}

// Run runs the lab on 127.0.0.1. When ctx ends early it returns what it
// measured so far with Interrupted set, and ctx.Err().
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Config: cfg}
	if err := coalescing(ctx, cfg, &res); err != nil {
		return res, err
	}
	if cfg.RoundTrips > 0 && ctx.Err() == nil {
		n, err := nagle(ctx, cfg)
		if err != nil {
			return res, err
		}
		res.Nagle = n
	}
	res.Interrupted = ctx.Err() != nil
	return res, ctx.Err()
}

// listen starts a one-connection server and returns its listener.
func listen() (*net.TCPListener, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	return ln, nil
}

func coalescing(ctx context.Context, cfg Config, res *Result) error {
	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()

	// Encode the messages the client will write, remembering where each
	// ends in the stream.
	payload := bytes.Repeat([]byte("x"), cfg.Size)
	var stream []byte
	ends := make([]int, 0, cfg.Count)
	for i := 1; i <= cfg.Count; i++ {
		stream = transport.AppendEncode(stream, transport.Message{Seq: uint64(i), Data: payload})
		stream = append(stream, '\n')
		ends = append(ends, len(stream))
	}

	type served struct {
		data  []byte
		reads []Chunk
		err   error
	}
	done := make(chan served, 1)
	go func() {
		var s served
		c, err := ln.Accept()
		if err != nil {
			s.err = err
			done <- s
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
		defer stop()
		buf := make([]byte, cfg.ReadSize)
		var first time.Time
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if first.IsZero() {
					first = time.Now()
				}
				s.reads = append(s.reads, Chunk{Size: n, At: time.Since(first), Head: bytes.Clone(buf[:min(n, 48)])})
				s.data = append(s.data, buf[:n]...)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					s.err = err
				}
				break
			}
		}
		done <- s
	}()

	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(cfg.NoDelay)
	prev := 0
	for _, end := range ends {
		if ctx.Err() != nil {
			break
		}
		n, err := tc.Write(stream[prev:end])
		res.BytesWritten += n
		res.Writes++
		if err != nil {
			tc.Close()
			return fmt.Errorf("stream: write: %w", err)
		}
		prev = end
	}
	res.Kernel, res.KernelErr = kernelInfo(tc)
	tc.CloseWrite()
	s := <-done
	tc.Close()
	if s.err != nil && ctx.Err() == nil {
		return fmt.Errorf("stream: read: %w", s.err)
	}

	annotate(s.reads, ends, res)
	res.Reads = s.reads

	// Now read the same bytes through the framing. After Ctrl-C the last
	// message may have been cut off by the stop, not by TCP: leave it out.
	data := s.data
	if ctx.Err() != nil {
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	res.InOrder = true
	for sc.Scan() {
		msg, err := transport.Decode(sc.Bytes())
		if err != nil {
			return fmt.Errorf("stream: framing: %w", err)
		}
		res.Recovered++
		if msg.Seq != uint64(res.Recovered) {
			res.InOrder = false
		}
	}
	return nil
}

// annotate marks, for each chunk, how many messages lay wholly inside it and
// whether it began or ended in the middle of one; and counts the messages
// whose bytes came in more than one Read. ends[i] is where message i+1 ends
// in the stream.
func annotate(reads []Chunk, ends []int, res *Result) {
	boundary := map[int]bool{0: true}
	for _, e := range ends {
		boundary[e] = true
	}
	var cuts []int    // where each Read ended
	pos, next := 0, 0 // next: the first message that starts at or after this read
	for i := range reads {
		start, end := pos, pos+reads[i].Size
		reads[i].StartsSplit = !boundary[start]
		reads[i].EndsSplit = !boundary[end]
		for next < len(ends) && msgStart(ends, next) < start {
			next++
		}
		for k := next; k < len(ends) && ends[k] <= end; k++ {
			reads[i].Whole++
		}
		cuts = append(cuts, end)
		pos = end
	}
	msgStart, c := 0, 0
	for _, e := range ends {
		for c < len(cuts) && cuts[c] <= msgStart {
			c++
		}
		if c < len(cuts) && cuts[c] < e {
			res.SplitMessages++
		}
		msgStart = e
	}
}

// msgStart is where message i+1 begins in the stream.
func msgStart(ends []int, i int) int {
	if i == 0 {
		return 0
	}
	return ends[i-1]
}

// nagle measures request/response round trips where each request is
// written in two pieces (a "header" then a "body"), the pattern that makes
// Nagle's algorithm wait for the peer's delayed ACK.
func nagle(ctx context.Context, cfg Config) (*NagleResult, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(cfg.NoDelay)
	defer func() { tc.Close(); <-srvDone }()
	stop := context.AfterFunc(ctx, func() { tc.SetDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReader(tc)
	res := &NagleResult{NoDelay: cfg.NoDelay}
	payload := bytes.Repeat([]byte("x"), max(cfg.Size, 16))
	for i := 1; i <= cfg.RoundTrips && ctx.Err() == nil; i++ {
		msg := append(transport.Encode(transport.Message{Seq: uint64(i), Data: payload}), '\n')
		half := len(msg) / 2
		start := time.Now()
		if _, err := tc.Write(msg[:half]); err != nil {
			break
		}
		if _, err := tc.Write(msg[half:]); err != nil {
			break
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			break
		}
		res.Samples = append(res.Samples, time.Since(start))
	}
	res.RTT = stats.Summarize(res.Samples)
	return res, nil
}
