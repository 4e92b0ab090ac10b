// Package wire is the wire lab: a netlab echo over a transport with a tap
// (package transport/wire) between client and server, so every read,
// datagram, request, response and frame that crossed is decoded, and the
// bytes are split into payload, netlab's envelope, framing and HTTP
// headers. Run over several transports it answers: what does one message
// cost over each?
package wire
