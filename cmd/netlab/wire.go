package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
	labwire "github.com/netlab/netlab/labs/wire"
	"github.com/netlab/netlab/transport/wire"
)

func init() { register(newWireCmd) }

type wireOptions struct {
	listen   string
	upstream string
	udp      bool
	proto    string
	dump     int
	record   string
}

func newWireCmd(a *app) *cobra.Command {
	var o wireOptions
	cmd := &cobra.Command{
		Use:   "wire --upstream HOST:PORT",
		Short: "See the bytes: a tap between a client and a server that decodes TCP, UDP, HTTP, WebSocket, SSE and Socket.IO",
		Long: `netlab wire is a tap: a transparent proxy on 127.0.0.1. Point a client at the
tap and the tap at a server; every byte passes through unchanged, and the tap
prints what crossed it, annotated:

  raw TCP     each read with its size and a hex dump (see writes coalesce and
              split), and netlab's newline-delimited JSON messages decoded
  UDP         each datagram with its size and message sequence number; for
              QUIC, what a tap can read: each packet's kind (Initial,
              Handshake, 1-RTT...), version and connection ids (the rest is
              encrypted)
  HTTP        each request and response: start line, headers, body size,
              chunked bodies, keep-alive, running header vs body bytes
  WebSocket   the Upgrade request and 101 response, with Sec-WebSocket-Accept
              recomputed from Sec-WebSocket-Key, then every frame: FIN, RSV,
              opcode, MASK and key, length encoding, payload (unmasked)
  SSE         a text/event-stream body: each event's id, event and data
              fields, comments (heartbeats) and the retry field
  Socket.IO   Engine.IO packets in polling bodies and WebSocket messages: the
              open packet (sid, upgrades, pingInterval, pingTimeout,
              maxPayload), the upgrade probe, pings, and each Socket.IO
              packet by name (CONNECT, EVENT, ACK, BINARY_EVENT with its
              placeholders, and the binary attachments after it)

Every message gets a cost: payload, netlab's JSON envelope, framing (newline,
frame header, chunk lines), HTTP headers, and encrypted bytes (QUIC), in bytes.

The protocol is detected per connection from the first bytes (an HTTP method
means HTTP, and WebSocket after a 101), or set with --proto. Decoding never
slows the traffic: if the trace falls behind, decoding stops with a note and
forwarding goes on.

'netlab wire demo' runs a netlab echo over one transport through the tap, and
--wire on the labs (netlab echo, netlab push, and the echo of every transport:
netlab tcp|udp|http|ws|sse|socketio|quic echo) puts the lab's client through
it. QUIC is encrypted: its tap counts datagrams and bytes, and cannot read
them.`,
		Example: `  # watch curl talk to a web server
  term1$ netlab wire --listen 127.0.0.1:8081 --upstream example.com:80
  term2$ curl -H 'Host: example.com' http://127.0.0.1:8081/

  # watch wscat talk to a netlab WebSocket server ('netlab ws serve', 127.0.0.1:8081)
  term1$ netlab wire --listen 127.0.0.1:9000 --upstream 127.0.0.1:8081 --proto ws
  term2$ wscat -c ws://127.0.0.1:9000/ws

  # UDP: watch nc -u
  term1$ netlab wire --udp --listen 127.0.0.1:9001 --upstream 127.0.0.1:7001

  # a netlab echo through the tap, traced
  netlab wire demo --transport tcp --count 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.upstream == "" {
				return usagef("--upstream HOST:PORT is required: the server the tap forwards to (or try 'netlab wire demo')")
			}
			if err := checkHostPort(o.upstream); err != nil {
				return err
			}
			proto, err := wire.ParseProto(o.proto)
			if err != nil {
				return usagef("--proto %q: want auto, tcp, http or ws", o.proto)
			}
			if o.udp && cmd.Flags().Changed("proto") {
				return usagef("--proto applies to TCP; with --udp every datagram is decoded as a netlab message")
			}
			return runWire(cmd.Context(), a, o, proto)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address the tap listens on (port 0: any free port, printed at start)")
	fs.StringVar(&o.upstream, "upstream", "", "HOST:PORT of the server the tap forwards to")
	fs.BoolVar(&o.udp, "udp", false, "tap UDP datagrams instead of TCP connections")
	fs.StringVar(&o.proto, "proto", "auto", "how to decode TCP: auto, tcp (netlab lines), http or ws")
	fs.IntVar(&o.dump, "dump", wire.DefaultDumpBytes, "bytes of each raw read or datagram to hex-dump (0: none)")
	fs.StringVar(&o.record, "record", "", "also write every TCP read to this file, for 'netlab wire replay'")
	cmd.AddCommand(newWireDemoCmd(a), newWireSampleCmd(a), newWireReplayCmd(a))
	return cmd
}

func newWireReplayCmd(a *app) *cobra.Command {
	var (
		dump  int
		proto string
	)
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Decode a connection recorded with 'netlab wire --record FILE' again, without the network",
		Long: `replay reads a file written by 'netlab wire --record FILE' and runs every
connection in it through the tap's decoders again, printing the same annotated
trace: record a session once (a browser, a class demo), study it later.`,
		Example: `  term1$ netlab wire --listen 127.0.0.1:9000 --upstream 127.0.0.1:8080 --record session.rec
  netlab wire replay session.rec`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := wire.ParseProto(proto)
			if err != nil {
				return usagef("--proto %q: want auto, tcp, http or ws", proto)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			defer f.Close()
			conns, err := wire.ParseRecordings(args[0], f)
			if err != nil {
				return err
			}
			var tot wire.Totals
			for i, s := range conns {
				tot.Add(s.DecodeAs(fmt.Sprintf("conn %d", i+1), p, dumpBytes(dump), a.out))
			}
			fmt.Fprintln(a.out)
			return labwire.TotalsTable(fmt.Sprintf("Replayed %s: %d connection(s)", args[0], len(conns)), tot).Write(a.out)
		},
	}
	cmd.Flags().IntVar(&dump, "dump", wire.DefaultDumpBytes, "bytes of each raw read to hex-dump (0: none)")
	cmd.Flags().StringVar(&proto, "proto", "auto", "how to decode: auto, tcp, http or ws")
	return cmd
}

func newWireSampleCmd(a *app) *cobra.Command {
	var dump int
	cmd := &cobra.Command{
		Use:   "sample NAME",
		Short: "Decode a recorded connection shipped with netlab: " + strings.Join(wire.Samples(), ", "),
		Long: `sample runs one of the recorded connections shipped with netlab through the
tap's decoders and prints the same annotated trace a live connection gets:

  ws    the WebSocket opening handshake of RFC 6455 §1.3 (its example key),
        then frames: a masked "Hello" (the RFC's §5.7 example), a frame split
        across two reads, a fragmented message, ping and pong, 16-bit and
        64-bit lengths, and the closing handshake
  http  HTTP/1.1 polling on one kept-alive connection: a POST, a 204, a
        chunked poll answer, a HEAD, an empty poll
  tcp   netlab's newline framing: messages coalesced into one read, a
        message split across two, a plain line, a malformed line`,
		Example: `  netlab wire sample ws
  netlab wire sample http`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := wire.LoadSample(args[0])
			if err != nil {
				return usageError{err}
			}
			report.Paragraph(a.out, fmt.Sprintf("Recorded connection %q: %s", s.Name, s.About))
			fmt.Fprintln(a.out)
			tot := s.Decode(wire.Auto, dumpBytes(dump), report.Fit(a.out))
			fmt.Fprintln(a.out)
			return labwire.TotalsTable("What crossed the connection", tot).Write(a.out)
		},
	}
	cmd.Flags().IntVar(&dump, "dump", wire.DefaultDumpBytes, "bytes of each raw read to hex-dump (0: none)")
	return cmd
}

func dumpBytes(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func runWire(ctx context.Context, a *app, o wireOptions, proto wire.Proto) error {
	network := "tcp"
	if o.udp {
		network = "udp"
	}
	cfg := wire.Config{Proto: proto, Out: report.Fit(a.out), DumpBytes: dumpBytes(o.dump)}
	if o.record != "" {
		f, err := os.Create(o.record)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		defer f.Close()
		fmt.Fprintf(f, "# recorded by netlab wire: %s tap to %s\n# 'N> HEX' is a read from connection N's client, 'N< HEX' from its server\n", network, o.upstream)
		cfg.Record = f
	}
	tap, err := wire.Listen(ctx, network, o.listen, o.upstream, cfg)
	if err != nil {
		return listenError(err, o.listen)
	}
	fmt.Fprintf(a.out, "netlab wire: %s tap on %s → %s (decoding: %s)\n", network, tap.Addr(), o.upstream, decodingName(o.udp, proto))
	fmt.Fprintf(a.out, "Point your client at %s. Press Ctrl-C to stop.\n\n", tap.Addr())
	<-ctx.Done()
	tap.Close()
	fmt.Fprintln(a.out)
	return labwire.TotalsTable("What crossed the tap", tap.Totals()).Write(a.out)
}

func decodingName(udp bool, p wire.Proto) string {
	if udp {
		return "datagrams as netlab messages"
	}
	return p.String()
}

func newWireDemoCmd(a *app) *cobra.Command {
	var (
		o          labwire.Options
		to         transportOptions
		transports string
		dump       int
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a short echo through the tap and print the annotated trace, or compare transports' costs",
		Long: `demo starts a netlab echo server and client over a transport, puts the tap
between them, sends --count messages of --size bytes, and prints every read,
datagram, request, response or frame that crossed, then where the bytes went:
payload, envelope, framing, headers.

Give several transports (--transport tcp,ws,poll or all) to run each in turn
and print one table side by side instead of the traces: what does one message
cost over raw TCP, UDP, HTTP polling and WebSocket?`,
		Example: `  netlab wire demo --transport tcp --count 2
  netlab wire demo --transport ws --count 2
  netlab wire demo --transport all --count 10
  netlab wire demo --transport tcp --count 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			trs, err := parseTransports(transports, &to)
			if err != nil {
				return err
			}
			o.Transports = trs
			o.DumpBytes = dumpBytes(dump)
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			if !asJSON && len(trs) == 1 {
				o.Trace = a.out
			}
			started := time.Now()
			res, err := labwire.Run(cmd.Context(), o)
			if len(res.Echoes) == 0 {
				return err
			}
			if asJSON {
				env := report.NewEnvelope("wire demo", started)
				env.Config, env.Results = res.ConfigJSON(o), res.JSON()
				env.Interrupted = res.Interrupted
				if err != nil && !res.Interrupted {
					env.Errors = []string{err.Error()}
				}
				if jerr := env.Write(a.out); jerr != nil {
					return jerr
				}
				return err
			}
			if werr := res.WriteText(a.out); werr != nil {
				return werr
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&transports, "transport", "t", "tcp", "the transport to run, or several to compare (comma-separated, or all): "+strings.Join(knownTransports(), ", "))
	fs.IntVarP(&o.Count, "count", "n", 2, "messages to send")
	fs.IntVarP(&o.Size, "size", "s", 2, "bytes of payload per message")
	fs.IntVar(&dump, "dump", wire.DefaultDumpBytes, "bytes of each raw read or datagram to hex-dump (0: none)")
	fs.BoolVar(&asJSON, "json", false, "print the totals as JSON instead of the trace and table")
	return cmd
}
