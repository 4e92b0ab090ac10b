package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/quic"
)

func init() { register(newQUICCmd) }

func newQUICCmd(a *app) *cobra.Command {
	return newGroupCmd(a, transportGroup{
		name:  "quic",
		short: "QUIC labs: one encrypted connection over UDP, messages on streams",
		long: `QUIC (RFC 9000) runs over UDP and carries TLS 1.3 inside its own handshake
(RFC 9001): one round trip before the client can send. A connection carries
many independent streams; netlab sends its messages on one stream each way,
in order (the quic transport), or on a stream each (quic-streams in the labs).

The server's certificate is made in memory for 127.0.0.1 when it starts;
'netlab quic connect' from another process cannot know it and does not check
it. This is a lab, not a trust model. See 'netlab docs quic'.`,
		defaultListen: "127.0.0.1:8443",
		build: func(o *transportOptions, serve bool) transport.Transport {
			// A client in another process cannot know this process's
			// in-memory certificate (a lab, not a trust model).
			return quic.New(quic.Options{InsecureSkipVerify: !serve, MaxConns: o.maxConns})
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-conns", 0, fmt.Sprintf("open connections at most; more are closed after the handshake with application error 3, \"server full\" (0: %d)", quic.DefaultMaxConns))
			}
		},
		hint: func(addr string) string {
			return "No standard tool speaks netlab's protocol over QUIC; try: netlab quic connect " + addr +
				"\n   (the certificate was made in memory at start: a lab, not a trust model)"
		},
	})
}
