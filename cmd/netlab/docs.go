package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/docs"
)

func init() { register(newDocsCmd) }

func newDocsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "docs [TOPIC]",
		Short: "Print a walkthrough (no browser needed); without a topic, list them",
		Long: `Prints netlab's walkthroughs, the same Markdown files as in the docs/ folder,
embedded in the binary. Each one asks a question, runs a lab, shows real
output and explains it. Without a topic, lists the topics; start with
'netlab docs basics' (client, server, socket, port, connection).`,
		Example: `  netlab docs
  netlab docs basics
  netlab docs tcp
  netlab docs udp | less`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return docs.Topics(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				fmt.Fprintln(a.out, "Walkthroughs (netlab docs TOPIC):")
				for _, t := range docs.Topics() {
					fmt.Fprintf(a.out, "  %-16s %s\n", t, docs.Title(t))
				}
				return nil
			}
			topic := strings.TrimSuffix(strings.ToLower(args[0]), ".md")
			text, err := docs.Read(topic)
			if err != nil {
				return usagef("no walkthrough called %q: choose from %s", args[0], strings.Join(docs.Topics(), ", "))
			}
			fmt.Fprint(a.out, text)
			return nil
		},
	}
}
