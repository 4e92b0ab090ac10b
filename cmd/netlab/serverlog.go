package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
)

// Rate of a server's log: logBurst lines at once, logRate a second after
// that; what is over is counted and said in one line.
const (
	logRate  = 10
	logBurst = 20
)

// serverLog prints one line per client event (connect, join, leave,
// disconnect) for the instructor's terminal, rate-limited so a class
// connecting at once (or a load test) does not flood it. A nil *serverLog
// (--quiet) prints nothing.
type serverLog struct {
	mu      sync.Mutex
	w       io.Writer
	tokens  float64
	last    time.Time
	skipped int
	now     func() time.Time
}

func newServerLog(w io.Writer, quiet bool) *serverLog {
	if quiet {
		return nil
	}
	return &serverLog{w: w, tokens: logBurst, last: time.Now(), now: time.Now}
}

// printf writes one line, or counts it when over the rate.
func (l *serverLog) printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	l.last = now
	if l.tokens < 1 {
		l.skipped++
		return
	}
	l.tokens--
	stamp := now.Format("15:04:05")
	if l.skipped > 0 {
		fmt.Fprintf(l.w, "%s  ... %d more not shown (over %d lines a second)\n", stamp, l.skipped, logRate)
		l.skipped = 0
	}
	fmt.Fprintf(l.w, "%s  %s\n", stamp, fmt.Sprintf(format, args...))
}

// peerOf is a connection's client address, when its transport tells.
func peerOf(c transport.Conn) string {
	switch p := c.(type) {
	case interface{ RemoteAddr() net.Addr }:
		return p.RemoteAddr().String()
	case interface{ Peer() netip.AddrPort }:
		return p.Peer().String()
	}
	return "a client"
}

// echoConnLog is echo.ServerStats.OnConn for a server's log.
func (l *serverLog) echoConn(transportName string) func(string, transport.Conn) {
	if l == nil {
		return nil
	}
	return func(event string, c transport.Conn) {
		l.printf("%-10s %s over %s", event, peerOf(c), transportName)
	}
}

// chatEvent is chat.Config.Events for a server's log.
func (l *serverLog) chatEvent(event string, m chat.Member, room string) {
	if l == nil {
		return
	}
	switch event {
	case "connect":
		l.printf("%-10s %s via %s", event, m.ID, m.Door)
	default:
		l.printf("%-10s %s (%s via %s) %s", event, m.Name, m.ID, m.Door, room)
	}
}

// chatLeft logs a disconnect (chat.Config.Disconnecting).
func (l *serverLog) chatLeft(m chat.Member, reason error) {
	if l == nil {
		return
	}
	l.printf("%-10s %s (%s via %s): %v", "disconnect", m.Name, m.ID, m.Door, reason)
}
