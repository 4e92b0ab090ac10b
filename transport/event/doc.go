// Package event is netlab's event layer: named events, handlers,
// acknowledgements and message ids on top of any transport.Conn (TCP, HTTP
// polling, WebSocket, or the in-memory pipe in tests), modelled on Socket.IO.
//
// # Model
//
// A Socket wraps one connection. Emit sends a named event; On installs the
// handler for a name; EmitWithAck sends an event that asks the peer to
// answer and waits for the answer or a timeout.
//
//   - A client has one Socket, to its server: a client's Emit reaches the
//     server only, never other clients. Another client sees it only if the
//     server's handler relays it.
//   - A Server tracks the sockets of its connected clients: Socket.Emit
//     reaches one client, Server.Emit every client connected at that moment.
//   - Delivery is at most once, as in Socket.IO: an event sent while the
//     connection is broken, or whose connection breaks while it is in
//     flight, is gone; nothing is retried or stored. Stronger guarantees are
//     built by the application (see labs/missed: retries with acks, replay
//     buffers with offsets).
//   - An event that arrives for a name with no handler is counted in
//     Stats.Unhandled and dropped, as Socket.IO drops an event nobody
//     listens to. If it asked for an acknowledgement, none is sent, and the
//     sender's EmitWithAck times out.
//
// Over a transport that is not reliable (UDP: transport.Info.Reliable is
// false) events and acks may be lost, duplicated or reordered and the layer
// adds nothing: a timed-out EmitWithAck is the only sign. Over one that is
// not connected (Info.Connected false) a server does not see a client leave;
// its socket stays until it is closed.
//
// # Wire encoding
//
// Every event layer message is one transport.Message, carried in the wire
// form of transport/codec.go (one JSON object), so it can be read in nc,
// curl or wscat (sent_ns left out here):
//
//	{"seq":7,"event":"tick","text":"42"}             event "tick", message id 7
//	{"seq":8,"event":"join?","room":"r","text":"x"}  event "join", id 8, asks for an ack
//	{"seq":8,"event":"$ack","text":"ok"}             the ack answering message 8
//
//	Message.Seq    the message id: each Socket numbers the events it sends
//	               1, 2, 3, ... (Socket.IO only numbers events that want an
//	               ack; numbering all lets a receiver see loss and order).
//	               An ack carries the id of the event it answers.
//	Message.Event  the event name; a trailing "?" asks for an ack (Socket.IO's
//	               EVENT packet with an id); "$ack" marks an ack (Socket.IO's
//	               ACK packet). A message with no event name (a plain line
//	               typed into nc) is the event "message", as in Socket.IO's
//	               send().
//	Message.Room   passed through untouched (for rooms)
//	Message.Sent   the sender's clock when it was sent
//	Message.Data   the payload (the ack's answer for "$ack")
//
// Names that start with "$" or end with "?" are reserved, and so is the empty
// name: Emit and On refuse them. Names are at most MaxNameLen bytes.
//
// # Goroutines
//
// Each Socket runs one reader goroutine, started by NewSocket and ended by
// Close or by the connection ending. It calls handlers one at a time, in the
// order events arrived, so a slow handler slows the reading of everything
// behind it. A handler must not call EmitWithAck on its own socket and wait
// (the reader that would read the answer is the one waiting); call it from
// another goroutine. All methods of Socket and Server are safe for concurrent
// use. Handlers must return when their ctx is done: Server.Close waits for
// every reader, and so for the handler it is running.
package event
