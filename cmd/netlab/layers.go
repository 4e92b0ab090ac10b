package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/layers"
	"github.com/netlab/netlab/labs/report"
)

func init() { register(newLayersCmd) }

func newLayersCmd(a *app) *cobra.Command {
	var (
		o      layers.Options
		asJSON bool
		pcap   string
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
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			started := time.Now()
			res, err := layers.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if pcap != "" && res.Wire != nil {
				if err := os.WriteFile(pcap, res.Wire.PCAP, 0o644); err != nil {
					return usagef("--pcap: %v", err)
				}
				fmt.Fprintf(a.errOut, "pcap: wrote the exchange's %d packets to %s\n", len(res.Wire.Exchange), pcap)
			}
			if asJSON {
				env := report.NewEnvelope("layers", started)
				env.Config, env.Results = res.JSON()
				return env.Write(a.out)
			}
			return res.WriteText(a.out)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Transport, "transport", "t", "tcp", "tcp, udp or ws")
	fs.StringVarP(&o.Message, "message", "m", "hi", "the text of the message")
	fs.BoolVar(&asJSON, "json", false, "print the layers (or the capture) as JSON")
	fs.BoolVar(&o.Capture, "capture", false, "capture the real packets of a short echo on lo (Linux, root)")
	fs.StringVar(&pcap, "pcap", "", "write the simulated wire's packets of the exchange to `FILE` (pcap)")
	return cmd
}
