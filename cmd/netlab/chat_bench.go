package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/ws"
)

func newChatBenchCmd(a *app) *cobra.Command {
	var clients, room, messages int
	var interval time.Duration
	var asJSON bool
	var pics *pictureFlags
	cmd := &cobra.Command{
		Use:   "bench [ADDR]",
		Short: "Load-test a running chat server: many idle WebSocket clients, one busy room",
		Long: `Open --clients WebSocket clients to a chat server running in another
process (default 127.0.0.1:8080), put --room of them in room "bench" and
leave the rest idle, then broadcast --messages messages to the room and
measure each delivery from the sender's Send to the receiver's Recv (one
process, one clock). Reports latency percentiles, the fan-out rate, and the
server's memory per connection (from its /stats, after a GC).

Run the server in its own process: each process may hold at most 'ulimit -n'
sockets, and the bench needs one per client.`,
		Example: `  term1$ netlab chat serve --listen 127.0.0.1:8080
  term2$ netlab chat bench 127.0.0.1:8080 --clients 10000 --room 1000`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if clients < 1 || room < 1 || room > clients || messages < 1 || interval <= 0 {
				return usagef("need --clients >= --room >= 1, --messages >= 1, --interval > 0 (got %d, %d, %d, %v)", clients, room, messages, interval)
			}
			addr := "127.0.0.1:8080"
			if len(args) == 1 {
				addr = args[0]
			}
			cfg := chat.BenchConfig{Addr: addr, Clients: clients, RoomSize: room, Messages: messages, Interval: interval,
				Dial: func(ctx context.Context) (transport.Conn, error) {
					c, err := ws.Dial(ctx, "ws://"+addr+"/ws", chatWSOptions)
					if err != nil {
						return nil, err // not a nil *Conn inside the interface
					}
					return c, nil
				}}
			cfg.Progress = a.progress()
			started := time.Now()
			res, err := chat.Bench(cmd.Context(), cfg)
			cfg.Progress.Stop()
			if err != nil && !res.Interrupted {
				return err
			}
			charts := func() ([]chart.Chart, error) { return chart.ChatBench(res) }
			if asJSON {
				env := report.NewEnvelope("chat bench", started)
				env.Config = struct {
					Addr       string  `json:"addr"`
					Clients    int     `json:"clients"`
					Room       int     `json:"room"`
					Messages   int     `json:"messages"`
					IntervalUs float64 `json:"interval_us"`
				}{addr, clients, room, messages, report.Micros(interval)}
				env.Results = res.JSON()
				env.Interrupted = res.Interrupted
				if werr := env.Write(a.out); werr != nil {
					return werr
				}
				if w := pics.pageText(); w != nil {
					if werr := res.WriteText(w); werr != nil {
						return werr
					}
				}
				return pics.write(charts, err)
			}
			if werr := res.WriteText(a.out); werr != nil {
				return werr
			}
			return pics.write(charts, err)
		},
	}
	cmd.Flags().IntVar(&clients, "clients", 1000, "WebSocket clients to open")
	cmd.Flags().IntVar(&room, "room", 100, "how many of them join the broadcast room")
	cmd.Flags().IntVar(&messages, "messages", 20, "broadcasts to send")
	cmd.Flags().DurationVar(&interval, "interval", 200*time.Millisecond, "time between broadcasts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	pics = addPictureFlags(cmd, a)
	return cmd
}
