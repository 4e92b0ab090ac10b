// Package push is the push lab, "who speaks first": the server emits events
// on its own schedule (fixed rate or Poisson) while the client sends its own
// messages upstream at the same time, and the lab measures per transport the
// events delivered, their one-way delay (server and client share one clock,
// in one process), the client's messages that went up meanwhile, and what it
// cost on the wire: HTTP requests, empty polls and bytes per message.
//
// Like every lab it sees only the transport interface (package transport)
// and never a concrete transport; cmd/netlab chooses them. Run starts a
// server and a client over a Transport; RunConns runs over a connected pair,
// such as transporttest.Pipe returns. Both are safe to call from several
// goroutines at once; each run owns its connections.
package push
