package main

// TEMPORARY until cmd/netlab/transports.go (the lead's registry) lands on
// main: resolves the transports that exist on main today. Deleted on merge.

import (
	"fmt"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/compare"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
	"github.com/netlab/netlab/transport/udp"
)

func resolveTransports(list string) ([]transport.Transport, error) {
	var out []transport.Transport
	for _, name := range strings.Split(list, ",") {
		switch strings.TrimSpace(name) {
		case "tcp":
			out = append(out, tcp.New(tcp.Options{}))
		case "udp":
			out = append(out, udp.New(udp.Options{}))
		default:
			return nil, usagef("unknown transport %q: want a list of tcp, udp", name)
		}
	}
	return out, nil
}

var defaultTransportList = "tcp,udp"

var _ = fmt.Sprint

// compareEcho runs the echo lab for compare; nil until labs/echo lands.
var compareEcho compare.EchoFunc

// pollSetup says how a transport polls: its interval (short polling) or
// whether it long-polls. Nothing on main polls yet.
func pollSetup(tr transport.Transport) (interval time.Duration, long bool) { return 0, false }
