package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/chat/adapter/natsadapter"
	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/labs/report/chart"
	"github.com/netlab/netlab/transport/httppoll"
)

func init() { register(newClusterCmd) }

func newClusterCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Several chat servers sharing rooms through NATS or Redis (adapters)",
		Long: `One server holds a class; a school needs several. Each chat server delivers a
broadcast to its own clients and publishes it through an adapter (NATS or
Redis pub/sub, as Socket.IO's Redis adapter does); every other server
delivers it to its own clients in the target rooms.

See 'netlab docs cluster'.`,
		Example: `  netlab cluster demo                       # embedded NATS, then no adapter
  netlab cluster demo --adapter redis --redis redis://127.0.0.1:6379`,
	}
	cmd.AddCommand(newClusterDemoCmd(a), newClusterBrokerCmd(a))
	return cmd
}

func newClusterBrokerCmd(a *app) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a NATS broker (nats-server embedded in netlab) for chat servers in other processes",
		Long: `Run nats-server, embedded in netlab, until Ctrl-C, so chat servers in other
processes or on other machines can share rooms through it without installing
anything. It listens on 127.0.0.1 unless --listen names another address
(0.0.0.0:4222 lets other machines in). It is plain NATS: any NATS client,
and the nats CLI, can connect to it.`,
		Example: `  term1$ netlab cluster broker
  term2$ netlab chat serve --adapter nats --nats nats://127.0.0.1:4222 --listen 127.0.0.1:8080 --tcp 127.0.0.1:8081
  term3$ netlab chat serve --adapter nats --nats nats://127.0.0.1:4222 --listen 127.0.0.1:9080 --tcp 127.0.0.1:9081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := natsadapter.StartServer(listen)
			if err != nil {
				return fmt.Errorf("%w (pick another with --listen, or 127.0.0.1:0)", err)
			}
			defer srv.Close()
			fmt.Fprintf(a.out, "nats-server (embedded) listening on %s (Ctrl-C stops)\n", srv.URL())
			fmt.Fprintf(a.out, "  chat servers: netlab chat serve --adapter nats --nats %s --listen ADDR --tcp ADDR\n", srv.URL())
			<-cmd.Context().Done()
			fmt.Fprintf(a.out, "stopped with %d clients connected\n", srv.Clients())
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:4222", "address to listen on (4222 is NATS's usual port)")
	return cmd
}

// clusterInterrupted closes the account of a cluster demo that Ctrl-C cut short.
const clusterInterrupted = "\n(interrupted: the steps above are those that ran)"

func newClusterDemoCmd(a *app) *cobra.Command {
	var kind, natsURL, redisURL string
	var messages int
	var noKill, asJSON bool
	var pics *pictureFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Three chat servers, bots on each, shared rooms; then the same without an adapter",
		Long: `Start a broker (an embedded nats-server, unless --nats names one) and three
chat servers on 127.0.0.1, connect two bots to each over WebSocket, and show who
receives each message and from which server. Then run the same script with
--adapter none, where a broadcast reaches only the sender's own server.

Each run ends with a load phase: every bot sends --messages messages to its
room while server s3 is stopped halfway; its bots reconnect to another
server. The table counts what every bot should have received, what it got,
lost, got twice or got from a room it is not in, and prints delivery latency
within one server beside latency across servers.

--adapter picks a single run: nats, redis (needs --redis) or none.`,
		Example: `  netlab cluster demo
  netlab cluster demo --adapter none
  netlab cluster demo --adapter nats --nats nats://127.0.0.1:4222
  netlab cluster demo --adapter redis --redis redis://127.0.0.1:6379 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := cluster.DemoConfig{NATSURL: natsURL, RedisURL: redisURL, Messages: messages, NoKill: noKill,
				Doors: chatHTTPDoors, PollPath: httppoll.DefaultPrefix, Dialer: chatDialers()[0]} // bots over the WebSocket door
			if kind != "" {
				if err := cluster.CheckKind(kind); err != nil {
					return usagef("--adapter: %v", err)
				}
				cfg.Adapters = []string{kind}
			}
			if kind == cluster.KindRedis && redisURL == "" {
				return usagef("--adapter redis needs --redis URL, e.g. --redis redis://127.0.0.1:6379")
			}
			if messages < 1 || messages > 1000 {
				return usagef("--messages must be 1..1000, got %d", messages)
			}
			if !asJSON {
				cfg.Out = a.out
			} else if w := pics.pageText(); w != nil {
				cfg.Out = w // the page shows the account, not the document
			}
			started := time.Now()
			res, err := cluster.Demo(cmd.Context(), cfg)
			if asJSON && res != nil {
				env := report.NewEnvelope("cluster demo", started)
				env.Config = struct {
					Adapters []string `json:"adapters"`
					Messages int      `json:"messages"`
					NoKill   bool     `json:"no_kill"`
				}{cfg.Adapters, messages, noKill}
				env.Results = res
				env.Interrupted = cmd.Context().Err() != nil
				if err != nil && !env.Interrupted {
					env.Errors = append(env.Errors, err.Error())
				}
				if jerr := env.Write(a.out); err == nil {
					err = jerr
				}
			}
			if cmd.Context().Err() != nil {
				if w := cfg.Out; w != nil {
					fmt.Fprintln(w, clusterInterrupted)
				}
			}
			if res == nil {
				return err
			}
			return pics.write(func() ([]chart.Chart, error) { return chart.Cluster(res) }, err)
		},
	}
	cmd.Flags().StringVar(&kind, "adapter", "", "run only with this adapter: nats, redis or none (default: nats, then none)")
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS server URL (default: start an embedded nats-server on 127.0.0.1)")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis server URL for --adapter redis, e.g. redis://127.0.0.1:6379")
	cmd.Flags().IntVar(&messages, "messages", cluster.DefaultMessages, "messages each bot sends in the load phase")
	cmd.Flags().BoolVar(&noKill, "no-kill", false, "keep every server up during the load phase")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	pics = addPictureFlags(cmd, a)
	pics.lab = "cluster demo"
	return cmd
}
