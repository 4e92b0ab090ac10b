package main

import (
	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport/sse"
)

// chatSSEOptions are the SSE options of the chat server's door for a
// browser's EventSource: short chat lines, a small body limit.
var chatSSEOptions = sse.Options{MaxMessage: 4 << 10, MaxBody: 64 << 10}

// chatSSEDoor is the chat server's Server-Sent Events door at /sse.
func chatSSEDoor() chat.HTTPDoor {
	srv := sse.NewServer(chatSSEOptions)
	return chat.HTTPDoor{Name: "sse", Path: sse.DefaultPrefix, Handler: srv, Accept: srv, Close: srv.Close}
}
