package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/udp"
)

func init() {
	transportBuilders["udp"] = func(o *transportOptions) transport.Transport { return udp.New(udp.Options{NoAmplify: true}) }
	register(newUDPCmd)
}

func newUDPCmd(a *app) *cobra.Command {
	return newGroupCmd(a, transportGroup{
		name:  "udp",
		short: "UDP labs: datagrams, with no promise of delivery or order",
		long: `UDP sends datagrams: each message is one datagram, kept whole, but nothing is
promised — a datagram can be lost, duplicated or arrive out of order, and
nothing is retransmitted. netlab numbers every message so you can see it.

A message's encoded form may be at most 65,507 bytes (the largest UDP payload
over IPv4); larger ones are refused, never truncated.`,
		defaultListen: "127.0.0.1:7001",
		build: func(o *transportOptions, serve bool) transport.Transport {
			return udp.New(udp.Options{NoAmplify: true, MaxPeers: o.maxConns})
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-peers", 0, fmt.Sprintf("clients tracked at once; a newcomer beyond it replaces the least recently seen (0: %d)", udp.DefaultMaxPeers))
			}
		},
		hint: func(addr string) string {
			host, port, _ := net.SplitHostPort(addr)
			return fmt.Sprintf("Try it: nc -u %s %s   (each line you type is one datagram; replies are never larger than requests)", host, port)
		},
	})
}
