package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/httppoll"
	"github.com/netlab/netlab/transport/quic"
	"github.com/netlab/netlab/transport/sse"
)

// transportOptions are the per-transport knobs a user can set on any lab
// that runs over several transports.
type transportOptions struct {
	nagle        bool                             // tcp: Nagle's algorithm on (TCP_NODELAY off)
	pollInterval positiveDuration                 // poll: time between GETs; 0 means the default
	hold         positiveDuration                 // longpoll: how long the server may hold a GET; 0 means the default
	maxConns     int                              // serve (tcp, http): open connections; 0 means a default below the fd limit
	logf         func(format string, args ...any) // serve: where a server's accept errors are logged
	socketio     socketioTransports               // socketio: what the client tries (polling, websocket, or both)
}

// addTransportFlags adds the transport knobs to a lab's flags.
func addTransportFlags(fs *pflag.FlagSet, o *transportOptions) {
	fs.BoolVar(&o.nagle, "nagle", false, "turn Nagle's algorithm on for TCP-based transports (TCP_NODELAY off)")
	o.pollInterval = positiveDuration(httppoll.DefaultPollInterval)
	o.hold = positiveDuration(httppoll.DefaultHold)
	fs.Var(&o.pollInterval, "poll-interval", "poll (short polling): time between GETs")
	fs.Var(&o.hold, "hold", "longpoll: how long the server may hold a GET before answering empty")
	addSocketIOFlags(fs, o)
}

// transportOrder is the order transports appear in tables: the sockets and
// QUIC, then HTTP from the most chatty to the least.
var transportOrder = []string{"tcp", "udp", "quic", "quic-streams", "poll", "longpoll", "sse", "ws", "socketio"}

// transportBuilders maps a transport name to its constructor. Each
// transport's command file registers its own in init. This is the one place
// labs get concrete transports from.
var transportBuilders = map[string]func(o *transportOptions) transport.Transport{}

// knownTransports lists the registered names in table order.
func knownTransports() []string {
	var names []string
	for _, n := range transportOrder {
		if transportBuilders[n] != nil {
			names = append(names, n)
		}
	}
	for n := range transportBuilders {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// parseTransports turns "tcp,udp" into transports, keeping the user's order
// and refusing unknown or repeated names with a usage error.
func parseTransports(list string, o *transportOptions) ([]transport.Transport, error) {
	var out []transport.Transport
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if name == "all" {
			for _, n := range knownTransports() {
				if namedOnly[n] {
					continue // run when named (see namedOnly)
				}
				if !seen[n] {
					seen[n] = true
					out = append(out, transportBuilders[n](o))
				}
			}
			continue
		}
		build := transportBuilders[name]
		if build == nil {
			return nil, usagef("unknown transport %q: choose from %s (or all)", name, strings.Join(knownTransports(), ", "))
		}
		if seen[name] {
			return nil, usagef("transport %q is listed twice", name)
		}
		seen[name] = true
		out = append(out, build(o))
	}
	if len(out) == 0 {
		return nil, usagef("no transports given: choose from %s", strings.Join(knownTransports(), ", "))
	}
	return out, nil
}

// namedOnly are the transports that "all" leaves out: they run when named.
// quic-streams is quic with a stream per message, the variant the loss lab
// compares head-of-line blocking with; over a perfect link it says nothing
// quic does not. (A side-by-side table too wide for 100 columns prints in
// parts, so "all" can hold every other transport.)
var namedOnly = map[string]bool{"quic-streams": true}

// transportFlagHelp is the --transports help text.
func transportFlagHelp() string {
	var all, named []string
	for _, n := range knownTransports() {
		if namedOnly[n] {
			named = append(named, n)
		} else {
			all = append(all, n)
		}
	}
	help := fmt.Sprintf("comma-separated transports to run, or all (%s)", strings.Join(all, ", "))
	if len(named) > 0 {
		help += "; also " + strings.Join(named, ", ") + " when named"
	}
	return help
}

// The transports of issue 18: Server-Sent Events and QUIC (one stream each
// way, and a stream per message); transportOrder places them in tables.
func init() {
	transportBuilders["sse"] = func(*transportOptions) transport.Transport { return sse.New(sse.Options{}) }
	transportBuilders["quic"] = func(*transportOptions) transport.Transport { return quic.New(quic.Options{}) }
	transportBuilders["quic-streams"] = func(*transportOptions) transport.Transport {
		return quic.New(quic.Options{PerMessage: true})
	}
}
