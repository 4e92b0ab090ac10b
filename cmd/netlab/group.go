package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
)

// transportGroup describes the echo, serve and connect commands every
// transport has (netlab tcp echo, netlab udp serve, ...).
type transportGroup struct {
	name          string // command name: tcp, udp, http, ws
	short, long   string // what the group teaches
	defaultListen string // serve's default --listen
	// build makes the transport from the shared options; serve is true for
	// the standalone server (which may set server-only safety options).
	build func(o *transportOptions, serve bool) transport.Transport
	// hint returns how to talk to a server at addr with standard tools.
	hint func(addr string) string
	// addFlags adds transport-specific flags to each subcommand.
	addFlags func(cmd *cobra.Command, o *transportOptions)
}

// newGroupCmd builds `netlab NAME` with echo, serve and connect.
func newGroupCmd(a *app, g transportGroup) *cobra.Command {
	group := &cobra.Command{Use: g.name, Short: g.short, Long: g.long, Args: cobra.NoArgs}
	addFlags := func(cmd *cobra.Command, o *transportOptions) {
		if g.addFlags != nil {
			g.addFlags(cmd, o)
		}
	}

	var eo echoOptions
	var eto transportOptions
	echoCmd := &cobra.Command{
		Use:   "echo",
		Short: fmt.Sprintf("Echo lab over %s: server and client in one process, round trips measured", g.name),
		Long: fmt.Sprintf(`Starts a %[1]s echo server on 127.0.0.1 (a free port), connects a client, sends
--count messages of --size bytes and prints: sent, received, lost, out of
order, duplicated, and the round-trip time (min, p50, p90, p99, max) with a
histogram. --trace prints every message as it goes out and comes back;
--wire puts the tap of 'netlab wire' in the middle and prints what crossed it.`, g.name),
		Example: fmt.Sprintf(`  netlab %[1]s echo
  netlab %[1]s echo --count 20 --trace
  netlab %[1]s echo --count 1000 --size 1024 --interval 1ms --json
  netlab %[1]s echo --count 2 --wire            # see the bytes of each message`, g.name),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOneEcho(cmd, a, g.build(&eto, false), eo)
		},
	}
	addEchoFlags(echoCmd, &eo)
	addFlags(echoCmd, &eto)

	var listen string
	var quiet bool
	var sto transportOptions
	serveCmd := &cobra.Command{
		Use:   "serve",
		Short: fmt.Sprintf("Run a %s echo server until Ctrl-C (for a second terminal, nc, or another machine)", g.name),
		Long: fmt.Sprintf(`Runs a %[1]s echo server: every message a client sends comes straight back.
It listens on 127.0.0.1 unless --listen names another address (use
0.0.0.0:PORT to let other machines in). Ctrl-C stops it and prints totals.`, g.name),
		Example: fmt.Sprintf(`  netlab %[1]s serve
  netlab %[1]s serve --listen 127.0.0.1:0
  netlab %[1]s serve --listen 0.0.0.0:%[2]s   # reachable from other machines`, g.name, portOf(g.defaultListen)),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkHostPort(listen); err != nil {
				return usagef("bad --listen address %q: want HOST:PORT, for example %s", listen, g.defaultListen)
			}
			if sto.maxConns < 0 {
				flag := "--max-conns"
				if cmd.Flags().Lookup("max-peers") != nil {
					flag = "--max-peers"
				}
				return usagef("%s must be >= 0 (0: the default), got %d", flag, sto.maxConns)
			}
			sto.logf = func(format string, args ...any) { fmt.Fprintf(a.errOut, "netlab: "+format+"\n", args...) }
			return serveEcho(cmd.Context(), a, g.build(&sto, true), listen, g.hint, quiet)
		},
	}
	serveCmd.Flags().StringVarP(&listen, "listen", "l", g.defaultListen, "address to listen on (HOST:PORT; port 0 picks a free one)")
	serveCmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no line per client connecting and disconnecting")
	addFlags(serveCmd, &sto)

	var cto transportOptions
	connectCmd := &cobra.Command{
		Use:   "connect HOST:PORT",
		Short: fmt.Sprintf("Interactive %s client: each line you type is sent, replies print with their RTT", g.name),
		Long: fmt.Sprintf(`Connects to a %[1]s echo server (netlab %[1]s serve, here or on another
machine). Every line you type is sent as one message; every reply is printed
with its round-trip time. Ctrl-D (end of input) finishes, Ctrl-C stops.`, g.name),
		Example: fmt.Sprintf(`  netlab %[1]s connect %[2]s
  printf 'one\ntwo\n' | netlab %[1]s connect %[2]s`, g.name, g.defaultListen),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("connect needs one address, HOST:PORT (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return connectEcho(cmd.Context(), a, g.build(&cto, false), args[0])
		},
	}
	addFlags(connectCmd, &cto)

	group.AddCommand(echoCmd, serveCmd, connectCmd)
	return group
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}
