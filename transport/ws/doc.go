// Package ws is netlab's WebSocket transport (RFC 6455) on
// github.com/gorilla/websocket.
//
// One netlab message travels as one text frame holding its wire form
// (transport.Encode: a JSON object, or plain text from wscat or a browser;
// a peer that sends binary frames gets data-only messages back as binary
// frames), over one upgraded HTTP connection: the client sends
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
// Every connection has the shape of gorilla's chat example
// (examples/chat/client.go), written once in transport/pump: one
// read pump goroutine per connection does every read — gorilla's
// ReadMessage, the read limit, the read deadline, answering pings and close
// frames — and hands each whole message to Recv through a channel, so Recv
// is a select on that channel and its ctx: a Recv whose ctx ends returns at
// once and loses nothing. Writes are serialized by one write lock: Send
// encodes its message and writes the frame itself (gorilla's WriteMessage),
// and the heartbeat's pings and Close's close frame take the same lock.
// There is no writer goroutine, so an idle connection costs one goroutine.
// Both sides send a ping every PingInterval (default 25 s); every frame that
// arrives (a message, a ping, a pong) moves the read deadline, so a peer
// from which nothing arrives for PingInterval+PongTimeout (default 25 s +
// 20 s) is closed as dead, at most a quarter of that window later.
//
// The read pump reads up to four messages ahead of Recv, then stops reading
// until Recv takes one (and TCP's flow control slows the peer; pings and
// close frames behind those messages wait too). Close waits for a Send in
// progress, sends a close frame (1000; a Server's Close sends 1001, going
// away), waits up to half a second for the peer's close frame and closes
// the socket.
//
// What the reader refuses, with the RFC 6455 close code:
//
//	frame payload over ReadLimit            1009 message too big (gorilla)
//	text frame that is not valid UTF-8      1007 invalid frame payload data
//	message with Data over MaxMessage       1009
//	unmasked client frame, reserved bits,   1002 protocol error (gorilla)
//	bad opcode, fragmented control frame,
//	continuation with no message open
//	64-bit length with the top bit set      1002 (5.2)
//	close frame with a 1-byte body          1002 (5.5.1)
//
// gorilla answers most of these itself. For the last two it sends no close
// frame (or echoes an empty one), so a Server reads its socket through a
// frameWatch that follows the frame headers going by and flags them.
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
//
// Reading order: ws.go (Options, Conn, Dial), server.go (Server, Listen),
// framing.go (one message per frame: what the read pump reads and Send
// writes), framewatch.go (the two header checks gorilla lacks), and
// transport/pump for the shape.
package ws
