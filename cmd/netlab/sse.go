package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/sse"
)

func init() { register(newSSECmd) }

func newSSECmd(a *app) *cobra.Command {
	return newGroupCmd(a, transportGroup{
		name:  "sse",
		short: "Server-Sent Events labs: the server streams events down one held GET, the client POSTs up",
		long: `Server-Sent Events (the WHATWG HTML standard's text/event-stream) hold one HTTP
response open and stream events down it: lines "id:", "event:", "data:",
"retry:", and comment lines starting with ":" as heartbeats. The client sends
upstream with POST, as polling does. A client that loses the stream reconnects
after retry: milliseconds and sends the last id it got as Last-Event-ID; the
server sends what it missed again from a bounded replay buffer.

The server speaks plainly enough for curl -N and a browser's EventSource:
'netlab docs sse' shows how.`,
		defaultListen: "127.0.0.1:8084",
		build: func(o *transportOptions, _ bool) transport.Transport {
			return sse.New(sse.Options{MaxConns: o.maxConns, Logf: o.logf})
		},
		hint: func(addr string) string {
			return fmt.Sprintf(`Try it: curl -N http://%[1]s/sse        (its first event says the session id, SID)
   then:  curl -d hello "http://%[1]s/sse?sid=SID"`, addr)
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-conns", 0, "open connections at most; more are answered 503 (0: the fd limit less an eighth)")
			}
		},
	})
}
