package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/docs"
	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport/accept"
	"github.com/netlab/netlab/transport/httppoll"
	"github.com/netlab/netlab/transport/quic"
	"github.com/netlab/netlab/transport/socketio"
	"github.com/netlab/netlab/transport/sse"
	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/udp"
	"github.com/netlab/netlab/transport/ws"
)

// docs/limits.md is read from the code: each row it shows must carry the
// value the code uses now, so a changed constant fails here until the page
// says so too.
func TestLimitsPageMatchesTheCode(t *testing.T) {
	page, err := docs.Read("limits")
	if err != nil {
		t.Fatal(err)
	}
	// section returns the part of the page under the heading.
	section := func(h string) string {
		_, rest, ok := strings.Cut(page, "\n## "+h)
		if !ok {
			t.Fatalf("no section %q", h)
		}
		body, _, _ := strings.Cut(rest, "\n## ")
		return body
	}
	num := func(n int) string { // 1,024
		s := fmt.Sprint(n)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	kib := func(n int64) string {
		if n >= 1<<20 && n%(1<<20) == 0 {
			return fmt.Sprintf("%d MiB", n>>20)
		}
		return fmt.Sprintf("%d KiB", n>>10)
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%d s", d/time.Second) }
	for _, tc := range []struct{ section, row, value string }{
		{"Every TCP-based server", "connections open at once", fmt.Sprintf("%d under `ulimit -n 1024`", accept.MaxFor(1024))},
		{"tcp serve", "message data", kib(tcp.DefaultMaxMessage)},
		{"tcp serve", "one line on the wire", num(6*tcp.DefaultMaxMessage + 1024)},
		{"tcp serve", "lines read ahead of the server's `Recv`", fmt.Sprint(tcp.ReadAhead)},
		{"udp serve", "datagram", num(udp.MaxDatagram)},
		{"udp serve", "message data", num(udp.DefaultMaxMessage)},
		{"udp serve", "clients tracked", num(udp.DefaultMaxPeers)},
		{"udp serve", "silent client forgotten", secs(udp.DefaultIdleTimeout)},
		{"http serve", "request headers arrive within", secs(httppoll.DefaultReadHeaderTimeout)},
		{"http serve", "a POST body arrives within", secs(httppoll.DefaultBodyTimeout)},
		{"http serve", "POSTs in progress per session", fmt.Sprint(httppoll.DefaultMaxPosts)},
		{"http serve", "body size", kib(httppoll.DefaultMaxBody) + " (chat: " + kib(chatPollOptions.MaxBody) + ")"},
		{"http serve", "message data", kib(httppoll.DefaultMaxMessage) + " (chat: " + kib(int64(chatPollOptions.MaxMessage)) + ")"},
		{"http serve", "messages a session holds for the server", num(httppoll.DefaultQueue)},
		{"http serve", "`wait=` on a GET", "held at most " + secs(httppoll.DefaultMaxHold)},
		{"http serve", "session without any request", secs(httppoll.DefaultSessionIdle)},
		{"http serve", "sessions open", num(httppoll.DefaultMaxSessions)},
		{"ws serve", "request headers arrive within", secs(ws.DefaultReadHeaderTimeout)},
		{"ws serve", "message data", kib(ws.DefaultMaxMessage)},
		{"ws serve", "frame payload read", num(4*ws.DefaultMaxMessage + 1024)},
		{"ws serve", "ping interval", secs(ws.DefaultPingInterval)},
		{"ws serve", "pong timeout", secs(ws.DefaultPingInterval) + " + " + secs(ws.DefaultPongTimeout)},
		{"ws serve", "one write", secs(ws.DefaultWriteTimeout)},
		{"ws serve", "messages read ahead of the server's `Recv`", fmt.Sprint(ws.ReadAhead)},
		{"ws serve", "upgraded connection waiting for the server to take it", secs(ws.DefaultAcceptTimeout)},
		{"sse serve", "request headers arrive within", secs(sse.DefaultReadHeaderTimeout)},
		{"sse serve", "a POST body arrives within", secs(sse.DefaultBodyTimeout)},
		{"sse serve", "POSTs in progress per session", fmt.Sprint(sse.DefaultMaxPosts)},
		{"sse serve", "body size", kib(sse.DefaultMaxBody) + " (chat: " + kib(chatSSEOptions.MaxBody) + ")"},
		{"sse serve", "message data", kib(sse.DefaultMaxMessage) + " (chat: " + kib(int64(chatSSEOptions.MaxMessage)) + ")"},
		{"sse serve", "messages a session holds for the server", num(sse.DefaultQueue)},
		{"sse serve", "messages waiting to be written to the stream", num(sse.DefaultQueue)},
		{"sse serve", "messages kept for a reconnect (`Last-Event-ID`)", num(sse.DefaultReplay)},
		{"sse serve", "heartbeat on an idle stream", "every " + secs(sse.DefaultHeartbeat)},
		{"sse serve", "`retry:` sent to the client", secs(sse.DefaultRetry)},
		{"sse serve", "one write to a stream", secs(sse.DefaultWriteTimeout)},
		{"sse serve", "session with no stream and no request", secs(sse.DefaultSessionIdle)},
		{"sse serve", "sessions open", num(sse.DefaultMaxSessions)},
		{"sse serve", "kept-alive connection with no request", secs(2 * sse.DefaultHeartbeat)},
		{"socketio serve", "request headers arrive within", secs(socketioReadHeaderTimeout)},
		{"socketio serve", "kept-alive connection with no request", secs(socketioIdleTimeout)},
		{"socketio serve", "packet or polling body (`maxHttpBufferSize`)", num(socketio.DefaultMaxPayload) + " bytes (chat: " + num(chatSocketIOPayload) + ")"},
		{"socketio serve", "a polling POST body arrives within", secs(socketio.DefaultBodyTimeout)},
		{"socketio serve", "ping interval", secs(socketio.DefaultPingInterval)},
		{"socketio serve", "ping timeout", secs(socketio.DefaultPingTimeout)},
		{"socketio serve", "connection state recovery", fmt.Sprintf("%d min", socketio.DefaultRecoveryWindow/time.Minute)},
		{"quic serve", "connections open at once", fmt.Sprint(quic.DefaultMaxConns)},
		{"quic serve", "handshake", fmt.Sprintf("%s without a packet from the client, or %s in all", secs(quic.HandshakeTimeout), secs(2*quic.HandshakeTimeout))},
		{"quic serve", "connection with nothing heard", fmt.Sprintf("%s (keep-alive pings every %s)", secs(quic.DefaultIdleTimeout), secs(quic.DefaultIdleTimeout/2))},
		{"quic serve", "message data", kib(quic.DefaultMaxMessage)},
		{"quic serve", "one frame on a stream", num(4*quic.DefaultMaxMessage+1024) + " bytes"},
		{"quic serve", "streams open at once (`quic-streams`, a stream per message)", fmt.Sprint(quic.DefaultMaxStreams)},
		{"quic serve", "one write to a stream", secs(quic.DefaultWriteTimeout)},
		{"quic serve", "messages waiting to be written", num(quic.DefaultQueue)},
		{"chat serve", "one line from an nc client", num(chat.MaxLine)},
		{"chat serve", "WebSocket message", fmt.Sprintf("%s of data (frames up to %s bytes)", kib(int64(chatWSOptions.MaxMessage)), num(4*chatWSOptions.MaxMessage+1024))},
		{"chat serve", "chat text", num(chat.MaxText)},
		{"chat serve", "messages queued for one client (a slow consumer)", fmt.Sprint(chat.DefaultSendQueue)},
		{"chat serve", "rooms told of joins and leaves", fmt.Sprint(chat.DefaultMaxNoticeRoom)},
		{"chat serve", "one reply the server writes (`/rooms`, `/who`)", fmt.Sprintf("%s bytes, at most %d parts", num(chat.MaxReply), chat.MaxReplyParts)},
	} {
		var row string
		for _, l := range strings.Split(section(tc.section), "\n") {
			if strings.HasPrefix(l, "| "+tc.row+" |") {
				row = l
			}
		}
		if row == "" {
			t.Errorf("%s: no row %q", tc.section, tc.row)
		} else if !strings.Contains(row, tc.value) {
			t.Errorf("%s, %q: the code says %q, the page:\n%s", tc.section, tc.row, tc.value, row)
		}
	}
}
