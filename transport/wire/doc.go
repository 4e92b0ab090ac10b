// Package wire taps connections: a transparent proxy that shows a learner the
// bytes that really cross the wire (headers and framing included). (The
// transports count their own bytes with transport/internal/countconn.)
//
// A Tap is a transparent proxy on 127.0.0.1 that forwards bytes
// between a client and a server unchanged and reports what crossed it —
// each TCP read with a hex dump and netlab's line framing decoded, each UDP
// datagram, each HTTP request and response with its headers, the WebSocket
// opening handshake and every frame.
//
// Forwarding never waits for decoding: each read is copied into a bounded
// per-connection queue and forwarded at once; a decoder goroutine reads the
// queue. If the decoder falls behind (a slow terminal, a flood), decoding of
// that connection stops with a note and forwarding continues untouched.
//
// The decoders (Decoder, and the HTTP and WebSocket parsers under it) read
// untrusted bytes: they accept input in any split, keep bounded memory
// whatever lengths the bytes announce, and report malformed input instead of
// failing.
package wire
