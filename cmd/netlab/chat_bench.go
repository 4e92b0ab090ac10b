package main

import "github.com/spf13/cobra"

func newChatBenchCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Load-test a chat server (see --help)", Hidden: true}
}
