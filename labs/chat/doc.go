// Package chat is a chat server with rooms, as Socket.IO defines them, behind
// every netlab front door: WebSocket, HTTP long polling and TCP lines.
//
// A Hub owns all state (sockets, rooms, members) in one run goroutine and is
// reached through channels. Every socket gets a random, unguessable id and
// sits in a room named by that id; it joins and leaves other rooms at will.
// Broadcasts go to a room, to several rooms (the union: each socket gets the
// message once), to everyone, with sockets excluded (the sender). A socket
// that disconnects leaves every room, and those rooms are told who left.
//
// Each socket has a bounded send queue. A socket whose queue is full when a
// message arrives for it is disconnected (it sees why) rather than holding
// up anyone else.
//
// Hubs in several processes share broadcasts through an adapter.Adapter.
package chat
