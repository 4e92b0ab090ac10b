package main

// Temporary, until the lead's cmd/netlab/transports.go lands on main: it
// resolves the transports on main today for 'netlab missed'. On merge,
// replace missedTransports with the registry's resolver, set
// missedDefaultTransports to "poll,longpoll,ws" (the default), and
// delete this file.

import (
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/tcp"
)

const missedDefaultTransports = "tcp"

func missedTransports(list string) ([]transport.Transport, error) {
	var out []transport.Transport
	for _, name := range splitList(list) {
		switch name {
		case "tcp":
			out = append(out, tcp.New(tcp.Options{}))
		default:
			return nil, usagef("--transports: %q is not available in this build (have: tcp)", name)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--transports needs at least one name")
	}
	return out, nil
}
