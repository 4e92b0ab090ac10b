// Package sse is netlab's Server-Sent Events transport: the server pushes
// down one held HTTP response of type text/event-stream (the WHATWG HTML
// standard, "Server-sent events"), and the client sends upstream with POST,
// as polling does. The event-stream format and the client's reconnect loop
// come from github.com/tmaxmax/go-sse; sessions, numbering and the replay
// buffer are netlab's.
//
// The stream is plain text, one field per line, an empty line ending each
// event:
//
//	retry: 1000                       how long a client waits before reconnecting (ms)
//
//	event: session                    (only on a GET without sid: curl, a browser)
//	data: 3f9c...                     the session id, for POSTs
//
//	id: 1                             the message's number in this session
//	data: {"seq":1,"event":"tick","text":"1"}
//
//	: ping                            a comment: a heartbeat every Heartbeat (15 s)
//
//	event: end                        the server closed the session
//	data: closed
//
// Data is the message's wire form (transport.Encode), or, for a message
// that is only one line of text, that text. Every message has an id:; a
// client that loses the stream reconnects after retry: milliseconds and
// sends the last id it received as the Last-Event-ID header, and the server
// sends again what came after it from a replay buffer of the last Replay
// messages written (default 1024). Messages replayed and messages that had
// already left the buffer (a gap) are counted (ServerConn.Stats).
//
// # Endpoints (Prefix defaults to /sse)
//
//	POST   /sse/session            open a session → 201, body "SID\n" (the Go client)
//	GET    /sse                    open a session and stream it (curl -N, EventSource)
//	GET    /sse?sid=SID            stream a session; Last-Event-ID: N (or &lastEventId=N) resumes after N
//	POST   /sse?sid=SID            send: body = messages, one per line → 204
//	DELETE /sse?sid=SID            close the session → 204
//
// From a shell:
//
//	curl -N http://127.0.0.1:8080/sse                   # prints event: session / data: SID
//	curl -d hello "http://127.0.0.1:8080/sse?sid=SID"
//
// Only the newest stream of a session is written to: a reconnect replaces a
// stream the server still thinks is open.
//
// # Bad input
//
//	body over MaxBody, or a line over the wire limit    413 Request Entity Too Large
//	a malformed message line, a bad Last-Event-ID       400 Bad Request, with the reason
//	unknown, closed or expired session                  404 Not Found (EventSource stops reconnecting)
//	request headers slower than ReadHeaderTimeout       connection closed (5 s default)
//	a stream the client does not read for WriteTimeout  the stream is cut (the client may reconnect)
//
// A session with no stream and no request for SessionIdle (60 s) expires.
//
// # Counting
//
// Both ends count every byte on their TCP connections (request lines,
// headers, chunk sizes, the event-stream text) and every request.
package sse
