package main

import (
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
	)
	cmd := &cobra.Command{
		Use:   "layers",
		Short: "One message wrapped layer by layer: payload, TCP/UDP, IPv4, Ethernet, beside the OSI and TCP/IP models",
		Long: `layers shows one netlab message the way it leaves the machine on the loopback
interface: the application's bytes (netlab's JSON, with TCP's newline or
inside a WebSocket frame), then the TCP or UDP header, the IPv4 header and the
Ethernet header Linux puts even on loopback, each field with its offset, its
bytes and what it means, and where each layer sits in the OSI (7 layers) and
TCP/IP (4 layers) models.

The packet is built with gopacket (lengths and checksums computed, then
decoded back to annotate it). The ports come from a real connection opened for
this run; sequence and acknowledgment numbers, IP identification, window and
TCP timestamps are example values, because the kernel picks them per
connection.

--capture records the real packets of a short echo on lo instead (Linux,
root or CAP_NET_RAW): the TCP three-way handshake, the data (for ws: the
HTTP Upgrade, the 101, the frames and the close frames), its echo, the
acknowledgments and the teardown, then the message's packet layer by layer.`,
		Example: `  netlab layers --transport tcp --message hi
  netlab layers --transport udp --message hi --json
  netlab layers --transport ws --message hi
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
	return cmd
}
