package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/ws"
)

func init() {
	transportBuilders["ws"] = func(*transportOptions) transport.Transport { return ws.New(ws.Options{}) }
	register(newWSCmd)
}

// wsFlags are the WebSocket knobs of one subcommand.
type wsFlags struct {
	allowOrigins  []string
	showHandshake bool
}

func newWSCmd(a *app) *cobra.Command {
	flags := map[*transportOptions]*wsFlags{} // one entry per subcommand
	return newGroupCmd(a, transportGroup{
		name:  "ws",
		short: "WebSocket labs: one upgraded HTTP connection, frames both ways at any time",
		long: `A WebSocket starts as an HTTP GET with "Upgrade: websocket"; the server answers
"101 Switching Protocols" and from then on the same TCP connection carries
frames in both directions whenever either side likes (full duplex). netlab
sends each message as one text frame; both sides ping every 25s and drop a
peer silent for 45s.

--show-handshake prints the HTTP request and the 101 answer as they crossed
the wire. The server works with websocat, wscat and browsers: 'netlab docs
websocket' shows how.`,
		defaultListen: "127.0.0.1:8081",
		build: func(o *transportOptions, serve bool) transport.Transport {
			f := flags[o]
			opts := ws.Options{AllowOrigins: f.allowOrigins, MaxConns: o.maxConns, Logf: o.logf}
			if f.showHandshake {
				return &handshakePrinter{Transport: ws.New(opts), opts: opts, out: a.out}
			}
			return ws.New(opts)
		},
		hint: func(addr string) string {
			return fmt.Sprintf(`Try it: websocat ws://%[1]s/ws   or   wscat -c ws://%[1]s/ws
   or open http://%[1]s/ in a browser (a page from this server or localhost may connect)`, addr)
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			f := &wsFlags{}
			flags[o] = f
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-conns", 0, "open connections at most; more are answered 503 (0: the fd limit less an eighth)")
				cmd.Flags().StringSliceVar(&f.allowOrigins, "allow-origin", nil,
					"also accept browser pages from these origins (e.g. https://class.example.org), or * for any; same host and localhost are always accepted")
				cmd.Example += "\n  netlab ws serve --allow-origin https://class.example.org"
				return
			}
			cmd.Flags().BoolVar(&f.showHandshake, "show-handshake", false, "print the HTTP Upgrade request and the 101 response")
			cmd.Example += fmt.Sprintf("\n  netlab ws %s --show-handshake", cmd.Name())
			if cmd.Name() == "echo" {
				cmd.Example = strings.Replace(cmd.Example, "--show-handshake", "--count 5 --show-handshake", 1)
			} else {
				cmd.Example = strings.Replace(cmd.Example, "connect --show-handshake", "connect --show-handshake 127.0.0.1:8081", 1)
			}
		},
	})
}

// handshakePrinter is the ws transport with a Dial that prints the opening
// handshake, request lines prefixed "> " and response lines "< " (as curl -v).
type handshakePrinter struct {
	*ws.Transport
	opts ws.Options
	out  io.Writer
}

func (h *handshakePrinter) Dial(ctx context.Context, addr string) (transport.Conn, error) {
	opts := h.opts
	opts.CaptureHandshake = true
	c, err := ws.Dial(ctx, addr, opts)
	if err != nil {
		return nil, err
	}
	hs := c.Handshake()
	writeHeaderBlock(h.out, "> ", hs.Request)
	writeHeaderBlock(h.out, "< ", hs.Response)
	fmt.Fprintf(h.out, "(handshake: %d bytes sent, %d bytes received; frames follow on the same connection)\n\n", len(hs.Request), len(hs.Response))
	return c, nil
}

func writeHeaderBlock(w io.Writer, prefix string, b []byte) {
	for _, line := range bytes.Split(bytes.TrimRight(b, "\r\n"), []byte("\r\n")) {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
