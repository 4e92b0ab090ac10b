package main

import (
	"encoding/json"
	"testing"

	"github.com/spf13/cobra"
)

// allCommands returns c and every command below it.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

// envelopeOf splits a lab's --json document into its config and results.
func envelopeOf(t *testing.T, out string) (config, results []byte) {
	t.Helper()
	var env struct {
		Lab     string          `json:"lab"`
		Config  json.RawMessage `json:"config"`
		Results json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil || env.Lab == "" {
		t.Fatalf("not a lab's JSON envelope: %v\n%s", err, out)
	}
	return env.Config, env.Results
}
