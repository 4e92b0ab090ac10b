package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/httppoll"
)

func init() {
	transportBuilders["poll"] = func(o *transportOptions) transport.Transport {
		return httppoll.New(httppoll.Options{Mode: httppoll.Short, PollInterval: time.Duration(o.pollInterval)})
	}
	transportBuilders["longpoll"] = func(o *transportOptions) transport.Transport {
		return httppoll.New(httppoll.Options{Mode: httppoll.Long, Hold: time.Duration(o.hold)})
	}
	register(newHTTPCmd)
}

// httpFlags are the polling knobs of one subcommand.
type httpFlags struct {
	mode         modeValue
	pollInterval positiveDuration
	hold         positiveDuration
}

func newHTTPCmd(a *app) *cobra.Command {
	flags := map[*transportOptions]*httpFlags{} // one entry per subcommand
	return newGroupCmd(a, transportGroup{
		name:  "http",
		short: "HTTP polling labs: the client sends with POST and receives with GET (short or long polling)",
		long: `Over HTTP the client always speaks first: it sends with POST and can only
receive by asking, with GET. netlab's polling transport does it two ways:

  --mode short   a GET every --poll-interval (default 100ms); the server
                 answers at once, with the messages waiting or 204 No Content
  --mode long    the server holds each GET until a message arrives or --hold
                 (default 25s) passes; the client asks again at once

Every request, every empty answer and every byte of request and response
(headers included) is counted on the real connection. The server speaks
plainly enough for curl: 'netlab docs http-polling' shows how.`,
		defaultListen: "127.0.0.1:8080",
		build: func(o *transportOptions, serve bool) transport.Transport {
			f := flags[o]
			tr := httppoll.New(httppoll.Options{
				Mode:         httppoll.Mode(f.mode),
				PollInterval: time.Duration(f.pollInterval),
				Hold:         time.Duration(f.hold),
				MaxConns:     o.maxConns,
				Logf:         o.logf,
			})
			if serve {
				return httpServeTransport{tr} // one server for both modes
			}
			return tr
		},
		hint: func(addr string) string {
			return fmt.Sprintf(`Try it with curl:
  SID=$(curl -s -X POST http://%[1]s/poll/session)
  curl -s -X POST --data-binary 'hello' "http://%[1]s/poll?sid=$SID"
  curl -si "http://%[1]s/poll?sid=$SID&after=0&wait=10s"`, addr)
		},
		addFlags: func(cmd *cobra.Command, o *transportOptions) {
			f := &httpFlags{
				pollInterval: positiveDuration(httppoll.DefaultPollInterval),
				hold:         positiveDuration(httppoll.DefaultHold),
			}
			flags[o] = f
			if cmd.Name() == "serve" {
				cmd.Flags().IntVar(&o.maxConns, "max-conns", 0, "open connections at most; more are answered 503 (0: the fd limit less an eighth)")
				return // the server serves both modes; the client picks
			}
			cmd.Flags().Var(&f.mode, "mode", "short (a GET every --poll-interval) or long (the server holds each GET)")
			cmd.Flags().Var(&f.pollInterval, "poll-interval", "short polling: time between GETs")
			cmd.Flags().Var(&f.hold, "hold", "long polling: how long the server may hold a GET")
			cmd.Example += fmt.Sprintf("\n  netlab http %s --mode long", cmd.Name())
			if cmd.Name() == "connect" {
				cmd.Example = "  netlab http connect 127.0.0.1:8080\n  netlab http connect 127.0.0.1:8080 --mode long"
			}
		},
	})
}

// modeValue is the --mode flag: short or long.
type modeValue httppoll.Mode

func (m *modeValue) String() string { return httppoll.Mode(*m).String() }
func (m *modeValue) Type() string   { return "short|long" }
func (m *modeValue) Set(s string) error {
	mode, err := httppoll.ParseMode(s)
	if err != nil {
		return fmt.Errorf("want short or long, got %q", s)
	}
	*m = modeValue(mode)
	return nil
}

// positiveDuration is a duration flag that must be > 0.
type positiveDuration time.Duration

func (d *positiveDuration) String() string { return time.Duration(*d).String() }
func (d *positiveDuration) Type() string   { return "duration" }
func (d *positiveDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 100ms or 25s, got %q", s)
	}
	if v <= 0 {
		return fmt.Errorf("must be > 0, got %v", v)
	}
	*d = positiveDuration(v)
	return nil
}

// httpServeTransport names the polling server "http": it serves short and
// long polling alike, the client chooses.
type httpServeTransport struct{ *httppoll.Transport }

func (t httpServeTransport) Info() transport.Info {
	info := t.Transport.Info()
	info.Name = "http"
	return info
}
