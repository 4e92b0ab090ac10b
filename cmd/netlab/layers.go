package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/layers"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport/simwire"
)

func init() { register(newLayersCmd) }

func newLayersCmd(a *app) *cobra.Command {
	var (
		tr      string
		msg     string
		asJSON  bool
		capture bool
		pcap    string
	)
	cmd := &cobra.Command{
		Use:   "layers",
		Short: "One real packet taken apart layer by layer: payload, TCP/UDP, IPv4, beside the OSI and TCP/IP models",
		Long: `layers shows one netlab message as a packet: the application's bytes
(netlab's JSON, with TCP's newline or inside a WebSocket frame), then the TCP
or UDP header and the IPv4 header, each field with its offset, its bytes and
what it means, and where each layer sits in the OSI (7 layers) and TCP/IP (4
layers) models.

The packet is real: the message crosses netlab's simulated wire between two
TCP/IP stacks in this process (gVisor's netstack, 10.0.0.1 to 10.0.0.2) on a
real connection — handshake, message, echo, teardown — and the client's packet
that carried it is decoded with gopacket: its sequence and acknowledgment
numbers, IP identification, window, options (MSS, window scale, SACK-permitted,
timestamps, in the SYN) and checksums are the ones the stacks chose. The wire
carries bare IPv4 packets, so there is no Ethernet header; --pcap FILE writes
the whole exchange for Wireshark or tshark.

--capture records the real packets of a short echo on lo instead (Linux,
root or CAP_NET_RAW): the TCP three-way handshake, the data (for ws: the
HTTP Upgrade, the 101, the frames and the close frames), its echo, the
acknowledgments and the teardown, then the message's packet layer by layer.`,
		Example: `  netlab layers --transport tcp --message hi
  netlab layers --transport udp --message hi --json
  netlab layers --transport ws --message hi
  netlab layers --transport tcp --pcap layers.pcap
  sudo netlab layers --transport tcp --capture`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch tr {
			case "tcp", "udp", "ws":
			default:
				return usagef("--transport %q: want tcp, udp or ws", tr)
			}
			if len(msg) > 1000 {
				return usagef("--message is %d bytes: keep it under 1000 so the packet stays readable", len(msg))
			}
			if capture {
				c, err := layers.CaptureEcho(cmd.Context(), layers.Config{Transport: tr, Message: msg})
				if errors.Is(err, layers.ErrCaptureUnavailable) {
					return fmt.Errorf("%w", err)
				}
				if err != nil {
					return err
				}
				if asJSON {
					return report.JSON(a.out, c)
				}
				return writeCapture(a, c)
			}
			run, err := layers.FromWire(cmd.Context(), layers.Config{Transport: tr, Message: msg})
			if err != nil {
				return err
			}
			if pcap != "" {
				if err := os.WriteFile(pcap, run.PCAP, 0o644); err != nil {
					return usagef("--pcap: %v", err)
				}
				fmt.Fprintf(a.errOut, "pcap: wrote the exchange's %d packets to %s\n", len(run.Exchange), pcap)
			}
			p := run.Packet
			if asJSON {
				return report.JSON(a.out, struct {
					Transport string `json:"transport"`
					Message   string `json:"message"`
					*layers.Packet
					SYN *layers.Packet `json:"syn,omitempty"`
				}{tr, msg, p, run.SYN})
			}
			fmt.Fprintf(a.out, "One netlab message (%q) over %s, layer by layer, as the client's stack (%s) sent it to the server's (%s) across netlab's simulated wire\n\n", msg, tr, simwire.ClientAddr, simwire.ServerAddr)
			if err := layers.ModelTable(p, tr).Write(a.out); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "\nEach layer wraps the one above it: the frame starts with the outermost header.\n\n")
			if err := layers.WritePacket(a.out, p); err != nil {
				return err
			}
			what := "handshake, message, echo, teardown"
			if tr == "udp" {
				what = "the datagram and its echo: UDP has no handshake"
			} else if tr == "ws" {
				what = "handshake, HTTP Upgrade and 101, the frame, its echo, close frames, teardown"
			}
			fmt.Fprintf(a.out, "\nA real packet of a real exchange (%d packets in all: %s); decoded with gopacket.\n", len(run.Exchange), what)
			if run.SYNOptions != "" {
				fmt.Fprintf(a.out, "The client's SYN offered: %s.\n", run.SYNOptions)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&tr, "transport", "t", "tcp", "tcp, udp or ws")
	fs.StringVarP(&msg, "message", "m", "hi", "the text of the message")
	fs.BoolVar(&asJSON, "json", false, "print the layers (or the capture) as JSON")
	fs.BoolVar(&capture, "capture", false, "capture the real packets of a short echo on lo (Linux, root)")
	fs.StringVar(&pcap, "pcap", "", "write the simulated wire's packets of the exchange to `FILE` (pcap)")
	return cmd
}

func writeCapture(a *app, c *layers.Capture) error {
	fmt.Fprintf(a.out, "Captured on %s with an AF_PACKET socket: a %s echo of one netlab message, client %s, server %s\n\n", c.Interface, c.Transport, c.Client, c.Server)
	if err := layers.CaptureTable(c).Write(a.out); err != nil {
		return err
	}
	if c.Transport != "udp" {
		fmt.Fprintln(a.out, "\nseq and ack are relative to each side's initial sequence number, as Wireshark shows them; window is the raw field: in SYNs it is bytes, afterwards it is multiplied by 2^(window scale).")
	}
	fmt.Fprintf(a.out, "Every packet on lo is delivered to a capture twice (leaving and arriving); a socket filter kept only the arriving copy, as tcpdump does. %d other packets on lo were ignored.\n", c.OtherSeen)
	if c.Dropped > 0 {
		fmt.Fprintf(a.out, "The kernel dropped %d packets from the capture buffer: some rows may be missing.\n", c.Dropped)
	}
	if c.Data != nil {
		fmt.Fprintf(a.out, "\nPacket %d, the client's message, layer by layer as captured:\n\n", c.DataIndex+1)
		return layers.WritePacket(a.out, c.Data)
	}
	return nil
}
