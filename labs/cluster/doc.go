// Package cluster runs several chat servers as one: each server's hub
// publishes its room broadcasts through an adapter (NATS or Redis pub/sub)
// and delivers what the other servers publish to its own sockets, as
// Socket.IO's adapters do. Demo shows it with scripted bots on three servers,
// then the same script without an adapter, then a server stopped mid-run.
//
// The bots speak in messages, not in text: they send transport.Messages with
// an Event, a Room and a Seq unique in the run, and tell what they received
// by its Event, Room and Seq, so rewording a chat line changes what is shown,
// never what is counted. Files: script.go runs the demo, bots.go is one
// client, replay.go the replay buffer, accounting.go counts the load phase,
// print.go writes the account, probes.go asks who is where and tries a
// session without sticky routing.
package cluster
