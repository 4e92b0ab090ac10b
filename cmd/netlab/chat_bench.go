package main

import (
	"context"
	"fmt"
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
					return ws.Dial(ctx, "ws://"+addr+"/ws", chatWSOptions)
				}}
			if a.errIsTerminal {
				cfg.Progress = func(f string, x ...any) { fmt.Fprintf(a.errOut, f+"\n", x...) }
			}
			res, err := chat.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			charts := func() ([]chart.Chart, error) { return chart.ChatBench(res) }
			if asJSON {
				return pics.write(charts, report.JSON(a.out, struct {
					chat.BenchResult
					Latency report.LatencyJSON `json:"latency"`
				}{res, report.Latency(res.Latency)}))
			}
			t := &report.Table{Title: fmt.Sprintf("chat bench: %d WebSocket clients, %d in room \"bench\", %d broadcasts", clients, room, messages)}
			t.Row("connect all clients", report.Duration(res.ConnectTime))
			t.Row("server sockets", fmt.Sprint(res.ServerSockets))
			t.Row("server goroutines", fmt.Sprint(res.ServerGoroutines))
			t.Row("server memory per connection", report.Bytes(int64(res.BytesPerConn)))
			t.Row("  of which heap", report.Bytes(int64(res.HeapPerConn)))
			t.Row("  of which goroutine stacks", report.Bytes(int64(res.StackPerConn)))
			t.Row("deliveries", fmt.Sprintf("%d of %d", res.Delivered, res.Delivered+res.Missing))
			t.Row("latency p50", report.Duration(res.Latency.P50))
			t.Row("latency p90", report.Duration(res.Latency.P90))
			t.Row("latency p99", report.Duration(res.Latency.P99))
			t.Row("latency max", report.Duration(res.Latency.Max))
			t.Row("fan-out rate", fmt.Sprintf("%.0f msg/s", res.FanoutPerSec))
			t.Notes = []string{"latency: sender's Send to receiver's Recv, both in this process (one clock)",
				"memory: server heap in use + stacks, after GC, (after - before) / new sockets",
				"fan-out rate: room members reached / time from Send to the last of them, mean over broadcasts"}
			return pics.write(charts, t.Write(a.out))
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
