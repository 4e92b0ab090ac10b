// Package ws is netlab's WebSocket transport (RFC 6455) on
// github.com/gorilla/websocket.
//
// One netlab message travels as one text frame holding its wire form
// (transport.Encode: a JSON object, or plain text from wscat or a browser),
// over one upgraded HTTP connection: the client sends
//
//	GET /ws HTTP/1.1
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Key: ...
//	Sec-WebSocket-Version: 13
//
// and the server answers "101 Switching Protocols"; from then on both sides
// send frames whenever they like (full duplex).
//
// Every connection has one writer goroutine (as in gorilla's chat example)
// and, while the application reads, no reader goroutine: Recv reads the
// socket itself, so a message reaches it without a hand-off between
// goroutines (a wake-up, a good part of a loopback round trip). When no Recv
// has run for 100 ms, a background reader reads until the next Recv, so
// pings are answered, a close frame is seen and a dead peer is noticed while
// the application is busy; it queues up to 16 messages for Recv, then stops
// reading (and TCP's flow control slows the peer). A Recv whose ctx ends
// returns at once and loses nothing: a reader waits until a whole message
// has arrived before it takes any of it (sock.go). The writer drains the
// send queue and writes every frame that is queued to the socket in one
// write, so a busy connection makes fewer system calls. When the connection
// is idle — nothing queued, nothing waiting to be received, and the previous
// Send more than a few microseconds ago — Send writes its frame itself
// instead: waking the writer would cost a good part of a loopback round trip
// for nothing to coalesce. (netlab's TCP transport does the same.) Frames
// always leave in the order Send was called. Both sides send a ping every
// PingInterval (default 25 s); a connection from which nothing (no message,
// no pong) arrives for PingInterval+PongTimeout (default 25 s + 20 s) is
// closed as dead, at most a quarter of that window later.
//
// What the reader refuses, with the RFC 6455 close code:
//
//	frame payload over ReadLimit            1009 message too big (gorilla)
//	text frame that is not valid UTF-8      1007 invalid frame payload data
//	message with Data over MaxMessage       1009
//	unmasked client frame, reserved bits,   1002 protocol error (gorilla)
//	bad opcode, fragmented control frame
//
// A text frame that starts with '{' but is not a wire message makes Recv
// return an error matching transport.ErrMalformed; the connection stays up.
// A peer that has sent a plain text frame (wscat, a browser) gets messages
// that are only text back as plain text frames, as netlab's TCP server
// answers nc in plain lines.
//
// A handshake whose Origin header names a foreign site is refused with 403
// Forbidden; pages from the same host and from localhost are accepted, and
// Options.AllowOrigins widens that. A request without Origin (wscat, curl,
// programs) is accepted: Origin is a browser's statement, not an
// authentication.
//
// A Server is an http.Handler that can be mounted on any mux and hands out
// the upgraded connections as transport.Conns through Accept; Transport.Listen
// wraps it in its own http.Server. Bytes on the wire are counted on the real
// connection, the HTTP handshake included, when the http.Server's listener
// counts (CountingListener; Transport.Listen and Dial always do).
package ws
