// Package transport is the seam between netlab's labs and the five ways
// programs talk over a network: raw TCP, UDP, HTTP short polling, HTTP long
// polling and WebSocket.
//
// Labs see only the small interfaces in this package (Transport, Listener,
// Conn) and never import a concrete transport; cmd/netlab wires concrete
// transports (transport/tcp, transport/udp, ...) into labs. Extra abilities,
// such as counting bytes on the wire, are optional interfaces a Conn may
// implement and a lab discovers by type assertion (see Meter).
package transport
