package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labs/report"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1   // the lab ran and failed, or could not start
	exitUsage       = 2   // bad flags or arguments
	exitInterrupted = 130 // stopped by Ctrl-C (128 + SIGINT)
)

// app carries what every command needs: where to read and write, so tests
// can drive commands in-process and capture their output.
type app struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
	// errIsTerminal reports whether errOut is a terminal; progress lines are
	// printed only then.
	errIsTerminal bool
}

// commandGroups holds the constructors of the top-level commands; each
// command file adds its own in init, so files for new labs touch nothing else.
var commandGroups []func(*app) *cobra.Command

func register(f func(*app) *cobra.Command) { commandGroups = append(commandGroups, f) }

// Main runs netlab with args and returns the process exit code. Ctrl-C
// (SIGINT) or SIGTERM cancels the running lab, which stops cleanly and
// prints what it measured so far.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, &app{in: in, out: out, errOut: errOut, errIsTerminal: isTerminal(errOut)})
}

// usageError marks errors in how netlab was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func run(ctx context.Context, args []string, a *app) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitOK
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintln(a.errOut, "netlab: interrupted")
		return exitInterrupted
	}
	var ue usageError
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = unknownCommandError(err) // flagerr.go
	}
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
		fmt.Fprintf(a.errOut, "netlab: %v (see '%s --help')\n", err, cmd.CommandPath())
		return exitUsage
	}
	fmt.Fprintf(a.errOut, "netlab: %v\n", err)
	return exitError
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "netlab",
		Short: "A networking sandbox: real servers and clients over TCP, UDP, HTTP polling, WebSocket and more",
		Long: `netlab starts real servers and real clients on your machine over raw TCP, UDP,
HTTP short polling, HTTP long polling, WebSocket, Socket.IO, Server-Sent Events
and QUIC, runs the same scenario over each, and prints what happened side by
side: latency, bytes on the wire, requests made, messages lost, reordered or
missed.

Start with 'netlab compare' (or 'make run'), then follow the walkthroughs:
'netlab docs' lists them.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       report.Version(),
	}
	root.SetVersionTemplate("netlab {{.Version}}\n")
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{plainFlagError(err)} })
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddGroup(
		&cobra.Group{ID: "labs", Title: "Labs (each runs its servers and clients in this process and prints what happened):"},
		&cobra.Group{ID: "transports", Title: "One transport at a time (echo lab, a server to keep running, an interactive client):"},
		&cobra.Group{ID: "tools", Title: "Servers and tools for a class, a second terminal or another machine:"},
		&cobra.Group{ID: "learn", Title: "Learn:"},
	)
	for _, f := range commandGroups {
		c := f(a)
		c.GroupID = commandGroup[c.Name()]
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("learn")
	markArgErrorsAsUsage(root)
	return root
}

// commandGroup places each top-level command in netlab --help.
var commandGroup = map[string]string{
	"compare": "labs", "echo": "labs", "push": "labs", "loss": "labs", "missed": "labs", "events": "labs",
	"tcp": "transports", "udp": "transports", "http": "transports", "ws": "transports",
	"socketio": "transports", "sse": "transports", "quic": "transports",
	"chat": "tools", "cluster": "tools", "proxy": "tools", "wire": "tools", "layers": "tools", "report": "tools",
	"docs": "learn",
}

// markArgErrorsAsUsage makes every command's argument check report a usage
// error (exit 2), as bad flags do; cobra's own checks return plain errors.
func markArgErrorsAsUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return err
				}
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markArgErrorsAsUsage(sub)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool { return report.IsTerminal(w) }

// progress returns the progress line for a lab run: on stderr when it is a
// terminal, nil (nothing shown) otherwise. Stop it before printing results.
func (a *app) progress() *report.Progress {
	if !a.errIsTerminal {
		return nil
	}
	if p := report.NewProgress(a.errOut); p != nil {
		return p
	}
	return report.NewProgressForced(a.errOut) // a test's buffer standing in for a terminal
}
