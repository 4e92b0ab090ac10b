// Package httppoll is netlab's HTTP polling transport: the client sends with
// POST and receives with GET, in one of two modes sharing one server.
//
//   - Short polling ("poll"): the client sends a GET every PollInterval
//     (default 100 ms); the server answers at once with the messages queued
//     since the client's last sequence number, or 204 No Content.
//   - Long polling ("longpoll"): the client asks the server to hold the GET
//     (wait=Hold, default 25 s) until a message arrives or the hold expires;
//     as soon as an answer comes the client polls again.
//
// The hold default, 25 s, stays under the 30–60 s idle timeouts of common
// proxies and load balancers, and matches Engine.IO's ping interval.
//
// # Endpoints (Prefix defaults to /poll)
//
//	POST   /poll/session                      open a session → 201, body "SID\n"
//	POST   /poll?sid=SID                      send: body = messages, one per line → 204
//	GET    /poll?sid=SID&after=N[&wait=25s]   receive → 200 with messages, or 204
//	DELETE /poll?sid=SID                      close the session → 204
//
// A message on the wire is one line: the JSON wire form of transport.Encode
// ({"seq":1,"event":"echo","text":"hi"}) or, from curl, any plain line of text
// (a text message). Request and response bodies are newline-delimited
// (Content-Type application/x-ndjson).
//
// The server numbers the messages it queues for a client 1, 2, 3, ...; a GET
// says with after=N the last number the client has received, which also
// acknowledges (and frees) messages 1..N. A 200 answer carries the messages
// after N in order and the header X-Netlab-Last with the number of the last
// one, the client's next after. A lost answer is therefore sent again.
//
// From a shell:
//
//	SID=$(curl -s -X POST http://127.0.0.1:8080/poll/session)
//	curl -s -X POST --data-binary 'hello' "http://127.0.0.1:8080/poll?sid=$SID"
//	curl -si "http://127.0.0.1:8080/poll?sid=$SID&after=0&wait=10s"
//	curl -s -X DELETE "http://127.0.0.1:8080/poll?sid=$SID"
//
// # Bad input
//
//	body over MaxBody, or a line over the wire limit    413 Request Entity Too Large
//	after/wait not numbers, a malformed message line     400 Bad Request, with the reason
//	unknown or expired session                           404 Not Found
//	a second GET while one is held for the session       409 Conflict (the first goes on)
//	request headers slower than ReadHeaderTimeout        connection closed (5 s default)
//
// A session with no request for SessionIdle (default 60 s) expires.
//
// # Counting
//
// The client counts every byte its own http.Transport reads and writes on
// its TCP connections (request lines, headers, bodies), every request and
// every empty (204) poll. The server counts the same per session when its
// listener counts (Transport.Listen always does; see CountingListener and
// ConnContext for an http.Server of your own).
package httppoll
