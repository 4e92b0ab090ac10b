// Package cluster runs several chat servers as one: each server's hub
// publishes its room broadcasts through an adapter (NATS or Redis pub/sub)
// and delivers what the other servers publish to its own sockets, as
// Socket.IO's adapters do. Demo shows it with scripted bots on three servers,
// then the same script without an adapter, then a server stopped mid-run.
package cluster
