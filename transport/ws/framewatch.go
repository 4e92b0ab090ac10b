package ws

import (
	"bufio"
	"net"
	"net/http"

	"github.com/netlab/netlab/transport/internal/wsframe"
)

// Why a server reads its socket through a frameWatch: gorilla answers almost
// every protocol error a peer can make with the close frame RFC 6455 asks
// for (see doc.go), and reading ends. Two it lets through (a 64-bit length
// with its top bit set, a close frame with a 1-byte body; see
// transport/internal/wsframe), and gorilla does not show us the frame
// headers, so the frameWatch reads them as they go by: it passes every byte
// through unchanged and only raises a flag, which the wire's readError and
// closeFrame look at. It is read only by the read pump (gorilla's reads, and
// the close handler gorilla calls from inside them).

// hijacker hands gorilla the hijacked socket inside a frameWatch
// (Server.ServeHTTP upgrades through it).
type hijacker struct {
	http.ResponseWriter
	watch *frameWatch
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.watch = &frameWatch{Conn: nc}
	return h.watch, brw, nil
}

// frameWatch is the server's socket as gorilla reads it, following the
// frame headers going by.
type frameWatch struct {
	net.Conn
	wsframe.Watch
}

func (f *frameWatch) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	f.Feed(p[:n])
	return n, err
}
