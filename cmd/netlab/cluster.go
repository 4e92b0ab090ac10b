package main

import (
	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/cluster"
	"github.com/netlab/netlab/labs/report"
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
	cmd.AddCommand(newClusterDemoCmd(a))
	return cmd
}

func newClusterDemoCmd(a *app) *cobra.Command {
	var kind, natsURL, redisURL string
	var messages int
	var noKill, asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Three chat servers, bots on each, shared rooms; then the same without an adapter",
		Long: `Start a broker (an embedded nats-server, unless --nats names one) and three
chat servers on 127.0.0.1, connect two bots to each over TCP, and show who
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
				Doors: chatHTTPDoors, PollPath: httppoll.DefaultPrefix}
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
			}
			res, err := cluster.Demo(cmd.Context(), cfg)
			if asJSON && res != nil {
				if jerr := report.JSON(a.out, res); err == nil {
					err = jerr
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&kind, "adapter", "", "run only with this adapter: nats, redis or none (default: nats, then none)")
	cmd.Flags().StringVar(&natsURL, "nats", "", "NATS server URL (default: start an embedded nats-server on 127.0.0.1)")
	cmd.Flags().StringVar(&redisURL, "redis", "", "Redis server URL for --adapter redis, e.g. redis://127.0.0.1:6379")
	cmd.Flags().IntVar(&messages, "messages", cluster.DefaultMessages, "messages each bot sends in the load phase")
	cmd.Flags().BoolVar(&noKill, "no-kill", false, "keep every server up during the load phase")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}
