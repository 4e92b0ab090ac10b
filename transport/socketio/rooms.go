package socketio

import (
	"fmt"
	"slices"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// ServeRooms gives s the chat lab's events, as socket.io handlers (what
// `netlab socketio serve` runs). From the client:
//
//	echo  ARGS...            the ack carries ARGS back (one socket); with
//	                         no ack, an "echo" event to the sender does
//	ask   ARGS...            the server emits "question" ARGS to the sender
//	                         with an ack; the answer is ask's ack
//	join  ROOM               join ROOM; the ack lists the socket's rooms
//	leave ROOM               leave ROOM; the ack lists the socket's rooms
//	rooms                    the ack lists the socket's rooms
//	members ROOM             the ack lists the ids of ROOM's sockets
//	chat  ROOM TEXT          socket.to(ROOM).emit: ROOM's members but the sender
//	broadcast TEXT           socket.broadcast.emit: everyone but the sender
//	all   TEXT               io.emit: everyone, the sender included
//
// and from the server, on connect, "welcome" {id, transport, recovered} to
// that one socket. Every socket is also in the room named by its id.
// Chat messages arrive as "chat" {from, room, text}. log, if not nil, is
// told what happens, one line each. s's handlers are safe for concurrent
// use (the library runs them).
func ServeRooms(s *Server, log func(string)) {
	say := func(format string, a ...any) {
		if log != nil {
			log(fmt.Sprintf(format, a...))
		}
	}
	s.IO.On("connection", func(a ...any) {
		sock := a[0].(*socket.Socket)
		id := string(sock.Id())
		name := sock.Conn().Transport().Name()
		say("connect    %s over %s (recovered: %v)", id, name, sock.Recovered())
		sock.Conn().Once("upgrade", func(...any) {
			say("upgrade    %s to %s", id, sock.Conn().Transport().Name())
		})
		sock.Emit("welcome", map[string]any{"id": id, "transport": name, "recovered": sock.Recovered()})
		rooms := func() []string {
			var out []string
			for _, r := range sock.Rooms().Keys() {
				out = append(out, string(r))
			}
			slices.Sort(out)
			return out
		}
		sock.On("echo", func(args ...any) {
			if ack, ok := lastAck(args); ok {
				ack(args[:len(args)-1], nil)
			} else {
				sock.Emit("echo", args...)
			}
		})
		sock.On("ask", func(args ...any) {
			if ack, ok := lastAck(args); ok {
				sock.EmitWithAck("question", args[:len(args)-1]...)(func(answer []any, _ error) {
					ack(answer, nil)
				})
			}
		})
		sock.On("join", func(args ...any) {
			if room, ok := stringArg(args, 0); ok && room != "" {
				sock.Join(socket.Room(room))
				say("join       %s -> %s", id, room)
			}
			if ack, ok := lastAck(args); ok {
				ack([]any{rooms()}, nil)
			}
		})
		sock.On("leave", func(args ...any) {
			if room, ok := stringArg(args, 0); ok && room != "" {
				sock.Leave(socket.Room(room))
				say("leave      %s <- %s", id, room)
			}
			if ack, ok := lastAck(args); ok {
				ack([]any{rooms()}, nil)
			}
		})
		sock.On("rooms", func(args ...any) {
			if ack, ok := lastAck(args); ok {
				ack([]any{rooms()}, nil)
			}
		})
		sock.On("members", func(args ...any) {
			room, _ := stringArg(args, 0)
			ack, ok := lastAck(args)
			if !ok {
				return
			}
			var ids []string
			if set, ok := s.IO.Sockets().Adapter().Rooms().Load(socket.Room(room)); ok {
				for _, id := range set.Keys() {
					ids = append(ids, string(id))
				}
			}
			slices.Sort(ids)
			ack([]any{ids}, nil)
		})
		sock.On("chat", func(args ...any) {
			room, ok1 := stringArg(args, 0)
			text, ok2 := stringArg(args, 1)
			if !ok1 || !ok2 || room == "" {
				return
			}
			sock.To(socket.Room(room)).Emit("chat", map[string]any{"from": id, "room": room, "text": text})
			say("chat       %s -> room %s: %q", id, room, text)
		})
		sock.On("broadcast", func(args ...any) {
			if text, ok := stringArg(args, 0); ok {
				sock.Broadcast().Emit("chat", map[string]any{"from": id, "text": text})
				say("broadcast  %s -> everyone else: %q", id, text)
			}
		})
		sock.On("all", func(args ...any) {
			if text, ok := stringArg(args, 0); ok {
				s.IO.Emit("chat", map[string]any{"from": id, "text": text})
				say("all        %s -> everyone: %q", id, text)
			}
		})
		sock.On("disconnect", func(args ...any) {
			reason, _ := stringArg(args, 0)
			say("disconnect %s (%s)", id, reason)
		})
	})
}

func lastAck(args []any) (socket.Ack, bool) {
	if len(args) == 0 {
		return nil, false
	}
	ack, ok := args[len(args)-1].(socket.Ack)
	return ack, ok
}

func stringArg(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	s, ok := args[i].(string)
	return s, ok
}
