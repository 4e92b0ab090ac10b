// Command netlab is a networking sandbox for the command line: it starts real
// servers and real clients over raw TCP, UDP, HTTP polling and WebSocket, runs
// the same scenario over each, and prints what happened side by side.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
