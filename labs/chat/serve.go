package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
	"github.com/netlab/netlab/labs/hostaddr"
	"github.com/netlab/netlab/labs/report"
	"github.com/netlab/netlab/transport"
)

// ServeOptions is one run of 'netlab chat serve'.
type ServeOptions struct {
	Server ServerConfig
	// Listening, if set, is called once the server listens, before Serve
	// blocks: the command prints where to join.
	Listening func(*Server)
}

// ServeResult is what a chat server did until it stopped.
type ServeResult struct {
	Started bool // the server listened (false: it could not start)
	Hub     Stats
	// Adapter is what the cluster adapter counted; HasAdapter is false for
	// a server alone (adapter.Local counts nothing).
	Adapter    pubsub.Stats
	HasAdapter bool
}

// Serve runs a chat server until ctx is done, then returns its totals. The
// hub closes o.Server.Hub.Adapter when it stops.
func Serve(ctx context.Context, o ServeOptions) (ServeResult, error) {
	srv, err := Start(ctx, o.Server)
	if err != nil {
		if o.Server.Hub.Adapter != nil {
			o.Server.Hub.Adapter.Close()
		}
		return ServeResult{}, err
	}
	if o.Listening != nil {
		o.Listening(srv)
	}
	err = srv.Wait()
	res := ServeResult{Started: true, Hub: srv.Hub.Stats()}
	if r, ok := o.Server.Hub.Adapter.(pubsub.StatsReporter); ok {
		res.Adapter, res.HasAdapter = r.Stats(), true
	}
	return res, err
}

// WriteServing prints where to join s: the page, wscat, curl, the real
// socket.io-client, netlab chat join and nc. cluster names the adapter
// when rooms are shared ("" alone).
func WriteServing(w io.Writer, s *Server, serverID, cluster string) {
	httpAddr := s.HTTPAddr.String()
	fmt.Fprintf(w, "netlab chat serving (Ctrl-C stops)\n")
	if cluster != "" {
		fmt.Fprintf(w, "  cluster:  server id %s, rooms shared through %s\n", serverID, cluster)
	}
	if l := hostaddr.Others(hostaddr.Share(httpAddr)); l != "" {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintf(w, "  browser:  http://%s/\n", JoinHost(httpAddr))
	fmt.Fprintf(w, "  wscat:    wscat -c ws://%s/ws\n", JoinHost(httpAddr))
	fmt.Fprintf(w, "  curl:     SID=$(curl -s -X POST http://%s/poll/session)   (see 'netlab docs rooms')\n", JoinHost(httpAddr))
	fmt.Fprintf(w, "  sse:      curl -N \"http://%s/sse?sid=SID\"   (SID: POST /sse/session)\n", JoinHost(httpAddr))
	fmt.Fprintf(w, "  socketio: io(\"http://%s\") with socket.io-client 4.x   (see 'netlab docs socketio')\n", JoinHost(httpAddr))
	fmt.Fprintf(w, "  terminal: netlab chat join %s --name NAME --room ROOM\n", JoinHost(httpAddr))
	if s.LinesAddr != nil {
		h, p, _ := net.SplitHostPort(JoinHost(s.LinesAddr.String()))
		fmt.Fprintf(w, "  nc:       nc %s %s   (then /help)\n", h, p)
	}
}

// WriteText prints the server's totals.
func (r ServeResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "stopped: %s delivered, %s disconnected\n",
		report.Plural(r.Hub.Delivered, "message"), report.Plural(r.Hub.Kicked, "slow client"))
	if r.HasAdapter && err == nil {
		as := r.Adapter
		_, err = fmt.Fprintf(w, "adapter: %d broadcasts published, %d failed (broker down or behind), %d received from other servers, %d missed, %d reconnects\n",
			as.Published, as.PublishErrors+uint64(r.Hub.Unpublished), as.Received, as.Missed, as.Reconnects)
	}
	return err
}

// JoinHost turns a listening address into one to join: on 0.0.0.0 or ::,
// this machine's first real address (labs/hostaddr).
func JoinHost(addr string) string { return hostaddr.Share(addr)[0] }

// JoinOptions is one 'netlab chat join' session.
type JoinOptions struct {
	Name    string // nickname to take ("" keeps the server's guest name)
	Room    string // room to join instead of the lobby
	Latency bool   // show how long each message took to arrive
	In      io.Reader
	Out     io.Writer
}

// Join chats over c: each line of o.In is sent (chat text or a command),
// each message received is written to o.Out, until o.In ends (then the last
// replies get a moment to arrive), the server says bye, or ctx is done.
func Join(ctx context.Context, c transport.Conn, o JoinOptions) error {
	say := func(s string) error { return c.Send(ctx, transport.Message{Data: []byte(s)}) }
	if o.Name != "" {
		say("/nick " + o.Name)
	}
	if o.Room != DefaultRoom {
		say("/join " + o.Room)
		say("/leave " + DefaultRoom)
	}
	if o.Latency {
		say("/latency on")
	}
	recvDone := make(chan error, 1)
	go func() {
		for {
			m, err := c.Recv(ctx)
			if err != nil {
				recvDone <- err
				return
			}
			if m.Event == "" { // a TCP line, already formatted by the server
				fmt.Fprintln(o.Out, string(m.Data))
				continue
			}
			o.Out.Write(FormatLine(&m, o.Latency, time.Now()))
			if m.Event == "bye" {
				recvDone <- io.EOF
				return
			}
		}
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(o.In)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		close(lines)
	}()
	for {
		select {
		case l, ok := <-lines:
			if !ok { // stdin ended: give the last lines a moment to arrive, then leave
				time.Sleep(300 * time.Millisecond)
				return nil
			}
			if err := say(l); err != nil {
				return fmt.Errorf("chat: send: %w", err)
			}
		case err := <-recvDone:
			if errors.Is(err, io.EOF) || errors.Is(err, transport.ErrClosed) {
				return nil
			}
			return fmt.Errorf("chat: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
