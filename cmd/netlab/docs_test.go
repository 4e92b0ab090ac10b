package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/docs"
)

// TestDocsCommandsRun runs every `$ netlab ...` line in docs/ in-process and
// fails if one exits non-zero or prints a line wider than 100 columns, so
// the walkthroughs never rot. Commands that
// run until Ctrl-C (servers) are written with another prompt in the docs,
// such as `term1$`, and are covered by their own tests.
func TestDocsCommandsRun(t *testing.T) {
	ran := 0
	for _, topic := range docs.Topics() {
		text, err := docs.Read(topic)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(text, "\n")
		for i, line := range lines {
			cmdline, ok := strings.CutPrefix(line, "$ netlab ")
			if !ok {
				continue
			}
			// Keep only the netlab part of a pipeline or redirection.
			if j := strings.IndexAny(cmdline, "|>"); j >= 0 {
				cmdline = cmdline[:j]
			}
			args, err := splitArgs(cmdline)
			if err != nil {
				t.Errorf("docs/%s.md:%d: %v", topic, i+1, err)
				continue
			}
			// A command followed by "netlab: ..." shows an error: it must
			// fail with exactly that message.
			wantErr := ""
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "netlab: ") {
				wantErr = lines[i+1]
			}
			ran++
			t.Run(topic+":"+strings.Join(args, "_"), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				var out, errOut syncBuffer
				code := run(ctx, args, &app{in: strings.NewReader(""), out: &out, errOut: &errOut})
				if wantErr != "" {
					if code == 0 || strings.TrimSpace(errOut.String()) != wantErr {
						t.Errorf("docs/%s.md:%d: `netlab %s` exited %d with %q, the docs show %q", topic, i+1, cmdline, code, errOut.String(), wantErr)
					}
					return
				}
				if code != 0 {
					t.Errorf("docs/%s.md:%d: `netlab %s` exited %d:\n%s\n%s", topic, i+1, cmdline, code, out.String(), errOut.String())
				}
				// The tap's annotated trace (transport/wire) and the cluster
				// lab print their own lines and are not checked yet.
				if !strings.Contains(cmdline, "--json") && !strings.Contains(cmdline, "--wire") &&
					!strings.HasPrefix(cmdline, "wire ") && !strings.HasPrefix(cmdline, "cluster ") {
					for _, w := range overWide(out.String()) {
						t.Errorf("docs/%s.md:%d: `netlab %s` prints wider than 100 columns: %s", topic, i+1, cmdline, w)
					}
				}
			})
		}
	}
	if ran == 0 {
		t.Fatal("found no `$ netlab` commands in docs/")
	}
}

// splitArgs splits a command line on spaces, honouring single and double
// quotes (enough for the docs; no escapes or variables).
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, errUnclosedQuote
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

var errUnclosedQuote = errorString("unclosed quote")

type errorString string

func (e errorString) Error() string { return string(e) }
