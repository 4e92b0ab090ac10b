package main

import (
	"context"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/transport"
	"github.com/netlab/netlab/transport/socketio"
)

// chatSocketIODoor is the chat server's Socket.IO door at /socket.io/: the
// real socket.io-client joins the hub's rooms beside the other doors. Each
// event a client emits is one chat message:
//
//	socket.emit("join", "math")          join a room (also "leave", "who")
//	socket.emit("chat", "math", "hi")    a message to a room
//	socket.emit("chat", "hi")            a message to the rooms you are in
//	socket.emit("nick", "ada")           and the other chat commands
//
// and what the hub sends arrives as events of the same names, with one
// object argument: {"seq":…,"room":…,"text":…}.
func chatSocketIODoor() chat.HTTPDoor {
	d := socketio.NewDoor(socketio.ServerOptions{MaxPayload: chatSocketIOPayload})
	return chat.HTTPDoor{Name: "socketio", Path: "/socket.io/", Handler: d, Accept: roomArgAcceptor{d}, Close: d.Close, GoingAway: d.GoingAway}
}

// chatSocketIOPayload is the door's maxHttpBufferSize: chat lines are short.
const chatSocketIOPayload = 64 << 10

// roomArgAcceptor hands out conns on which emit("join", "math") means room
// "math" (the chat session takes a join's room from Message.Room).
type roomArgAcceptor struct{ d *socketio.Door }

func (a roomArgAcceptor) Accept(ctx context.Context) (transport.Conn, error) {
	c, err := a.d.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return roomArgConn{c}, nil
}

type roomArgConn struct{ transport.Conn }

func (c roomArgConn) Recv(ctx context.Context) (transport.Message, error) {
	m, err := c.Conn.Recv(ctx)
	switch m.Event {
	case "join", "leave", "who":
		if m.Room == "" {
			m.Room, m.Data = string(m.Data), nil
		}
	}
	return m, err
}
