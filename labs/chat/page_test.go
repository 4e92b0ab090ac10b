package chat

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/transport"
)

func pageSendMsg(t *testing.T, c transport.Conn, m transport.Message) {
	t.Helper()
	if err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// recvEvent reads until a message with event arrives and returns it.
func pageRecvEvent(t *testing.T, c transport.Conn, event string) transport.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("waiting for event %q: %v", event, err)
		}
		if m.Event == event {
			return m
		}
	}
}

// noChat checks that no chat message arrives within a short wait.
func pageNoChat(t *testing.T, c transport.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			return
		}
		if m.Event == "chat" {
			t.Errorf("unexpected chat message %q", m.Data)
		}
	}
}

func TestPageSendIsAckedOnceAndNotDeliveredTwice(t *testing.T) {
	h := startHub(t, Config{})
	ann, bob := serveConn(t, h), serveConn(t, h)
	send(t, ann, "/nick ann")
	recvUntil(t, ann, "now known as ann")
	send(t, bob, "/join math")
	recvUntil(t, bob, "joined math")

	pageSendMsg(t, ann, transport.Message{Event: "send", Seq: 12345, Room: "math", Data: []byte("hi")})
	ack := pageRecvEvent(t, ann, "ack")
	var a struct {
		HubSeq uint64 `json:"hub_seq"`
		Dup    bool   `json:"dup"`
	}
	if err := json.Unmarshal(ack.Data, &a); err != nil || ack.Seq != 12345 || a.HubSeq == 0 || a.Dup {
		t.Fatalf("ack %+v (%s): want seq 12345, a hub seq, not dup (%v)", ack, ack.Data, err)
	}
	got := pageRecvEvent(t, bob, "chat")
	if string(got.Data) != "ann: hi" || got.Room != "math" || got.Seq != a.HubSeq {
		t.Errorf("bob got %+v (%s), want ann: hi in math numbered %d", got, got.Data, a.HubSeq)
	}
	// The ack was lost, say: the page sends the same id again.
	pageSendMsg(t, ann, transport.Message{Event: "send", Seq: 12345, Room: "math", Data: []byte("hi")})
	ack = pageRecvEvent(t, ann, "ack")
	var b struct {
		HubSeq uint64 `json:"hub_seq"`
		Dup    bool   `json:"dup"`
	}
	json.Unmarshal(ack.Data, &b)
	if !b.Dup || b.HubSeq != a.HubSeq {
		t.Errorf("second ack %s: want dup with hub seq %d", ack.Data, a.HubSeq)
	}
	pageNoChat(t, bob)
}

func TestPageResumeReplaysWhatTheRoomsMissed(t *testing.T) {
	h := startHub(t, Config{})
	tom := serveConn(t, h)
	send(t, tom, "/nick tom")
	recvUntil(t, tom, "now known as tom")
	send(t, tom, "/join math")
	recvUntil(t, tom, "joined math")
	for _, text := range []string{"one", "two", "three"} {
		send(t, tom, text)
	}
	send(t, tom, "/join art")
	recvUntil(t, tom, "joined art")
	send(t, tom, "not for math readers")

	ann := serveConn(t, h)
	pageSendMsg(t, ann, transport.Message{Event: "join", Room: "math"})
	recvUntil(t, ann, "joined math")
	pageSendMsg(t, ann, transport.Message{Event: "state"})
	var st pageStateJSON
	json.Unmarshal(pageRecvEvent(t, ann, "state").Data, &st)
	if st.Server != h.ServerID() || st.Room != "math" || strings.Join(st.Rooms, ",") != "lobby,math" {
		t.Fatalf("state %+v", st)
	}

	resume := func(after uint64, server string) (chats []transport.Message, info map[string]any) {
		t.Helper()
		pageSendMsg(t, ann, transport.Message{Event: "resume", Seq: after, Data: []byte(server)})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			m, err := ann.Recv(ctx)
			if err != nil {
				t.Fatalf("waiting for resumed: %v", err)
			}
			switch m.Event {
			case "chat":
				chats = append(chats, m)
			case "resumed":
				json.Unmarshal(m.Data, &info)
				return chats, info
			}
		}
	}
	texts := func(ms []transport.Message) string {
		var out []string
		for _, m := range ms {
			out = append(out, string(m.Data))
		}
		return strings.Join(out, "|")
	}
	// A page that saw nothing of this server yet: all math kept.
	all, info := resume(0, "")
	if texts(all) != "tom: one|tom: two|tom: three" || info["replayed"] != 3.0 || info["restarted"] != false {
		t.Fatalf("resume from nothing: %q %v", texts(all), info)
	}
	// Same server, saw up to "one": "two" and "three".
	got, _ := resume(all[0].Seq, h.ServerID())
	if texts(got) != "tom: two|tom: three" {
		t.Errorf("resume after one: %q", texts(got))
	}
	// Up to date: nothing.
	if got, info := resume(all[2].Seq, h.ServerID()); len(got) != 0 || info["replayed"] != 0.0 {
		t.Errorf("resume when up to date: %q %v", texts(got), info)
	}
	// Another server's numbers mean nothing here: all of it, and say so.
	if got, info := resume(all[2].Seq, "some-old-server"); texts(got) != "tom: one|tom: two|tom: three" || info["restarted"] != true {
		t.Errorf("resume from another server: %q %v", texts(got), info)
	}
}

func TestPageCmdIsAckedWithStateAndRunsOnce(t *testing.T) {
	h := startHub(t, Config{})
	ann := serveConn(t, h)
	pageSendMsg(t, ann, transport.Message{Event: "cmd", Seq: 77, Data: []byte("/join art")})
	ack := pageRecvEvent(t, ann, "ack")
	var st pageStateJSON
	if err := json.Unmarshal(ack.Data, &st); err != nil || ack.Seq != 77 || st.Room != "art" || strings.Join(st.Rooms, ",") != "art,lobby" {
		t.Fatalf("ack %s: want seq 77 and state in art and lobby (%v)", ack.Data, err)
	}
	pageSendMsg(t, ann, transport.Message{Event: "cmd", Seq: 77, Data: []byte("/join art")})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		m, err := ann.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Event == "error" {
			t.Fatalf("the resent command ran again: %s", m.Data)
		}
		if m.Event == "ack" {
			break
		}
	}
	pageSendMsg(t, ann, transport.Message{Event: "members", Room: "art"})
	var ms []memberJSON
	json.Unmarshal(pageRecvEvent(t, ann, "members").Data, &ms)
	if len(ms) != 1 || !strings.HasPrefix(ms[0].Name, "guest-") || ms[0].Door != "pipe" || ms[0].ID != st.ID {
		t.Errorf("members of art: %+v", ms)
	}
}
