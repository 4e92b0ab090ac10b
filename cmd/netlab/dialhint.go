package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// dialError turns a failed connect into one line that says what was found
// at addr and what to do: nothing listening (start the server), or a
// server of another kind (the chat's nc door, a raw TCP echo server) where
// an HTTP or WebSocket server was expected.
func dialError(group, addr string, err error) error {
	if group == "poll" || group == "longpoll" {
		group = "http" // the polling client is 'netlab http connect'
	}
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		return fmt.Errorf("connect %s: connection refused: nothing listens there; start a server first, e.g. 'netlab %s serve --listen %s'", addr, group, addr)
	case strings.Contains(msg, "malformed HTTP") || strings.Contains(msg, "malformed MIME header"):
		what := map[string]string{"ws": "WebSocket", "http": "HTTP"}[group]
		if what == "" {
			what = group
		}
		return fmt.Errorf("connect %s: that port answers, but not with %s (it sent %s): is it the nc door of 'netlab chat serve', or a tcp echo server? 'netlab %s serve' listens on %s by default",
			addr, what, answerOf(msg), group, defaultServe[group])
	case group == "ws" && strings.Contains(msg, "bad handshake"):
		return fmt.Errorf("connect %s: that port answers HTTP, but does not upgrade to WebSocket at /ws: is it 'netlab http serve'? 'netlab ws serve' listens on %s by default", addr, defaultServe["ws"])
	}
	return err
}

// defaultServe is each group's default serve address (see tcp.go, ws.go ...).
var defaultServe = map[string]string{"tcp": "127.0.0.1:7000", "udp": "127.0.0.1:7001", "http": "127.0.0.1:8080", "ws": "127.0.0.1:8081"}

// answerOf pulls the quoted bytes out of Go's "malformed HTTP status code
// "guest-x:"" so the user sees what the server said.
func answerOf(msg string) string {
	if j := strings.LastIndex(msg, `"`); j > 0 {
		if i := strings.LastIndex(msg[:j], `"`); i >= 0 {
			return msg[i : j+1]
		}
	}
	return "something else"
}

// udpSilence explains a udp connect that got no reply at all.
func udpSilence(addr string) string {
	return fmt.Sprintf("no reply came from %s. UDP has no connection and no handshake: a datagram to a port where nothing listens is dropped (at most an ICMP 'port unreachable' comes back, which networks often filter), so the client cannot tell an absent server from a lost message or a slow one. Is 'netlab udp serve --listen %s' running?", addr, addr)
}

// bindError gives a server's listen failure the one-line form the echo
// servers use (listenError), naming the flag whose address failed; pairs
// are flag, address. Other errors pass through.
func bindError(err error, pairs ...string) error {
	msg := err.Error()
	for i := 0; i+1 < len(pairs); i += 2 {
		flag, addr := pairs[i], pairs[i+1]
		if addr == "" || !strings.Contains(msg, "listen "+addr+":") && !strings.Contains(msg, " "+addr+": ") {
			continue
		}
		switch {
		case strings.Contains(msg, "address already in use"):
			return fmt.Errorf("listen %s: address already in use — pick another with %s, or port 0 for any free port", addr, flag)
		case strings.Contains(msg, "cannot assign requested address"):
			return fmt.Errorf("listen %s: this machine has no such address — use 127.0.0.1 or one of its own addresses in %s", addr, flag)
		case strings.Contains(msg, "permission denied"):
			return fmt.Errorf("listen %s: permission denied — ports below 1024 need root; pick a port above 1024 with %s", addr, flag)
		case strings.Contains(msg, "no such host"), strings.Contains(msg, "missing port"), strings.Contains(msg, "unknown port"), strings.Contains(msg, "too many colons"):
			return usagef("bad %s address %q: want HOST:PORT, for example 127.0.0.1:8080", flag, addr)
		}
	}
	return err
}
