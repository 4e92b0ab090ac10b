package cluster

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/netlab/netlab/labs/chat"
	"github.com/netlab/netlab/labs/chat/adapter/pubsub"
)

// The demo's two questions to the cluster besides the chat itself: who is
// in a room across servers (presence through the adapter), and whether a
// long-polling session survives a load balancer without sticky sessions.

// members lists who is in room on hub, leaving out the demo's replay
// buffers (they are in every room).
func members(ctx context.Context, hub *chat.Hub, room string) []pubsub.Member {
	ms, err := hub.Members(ctx, room)
	if err != nil {
		return nil
	}
	var out []pubsub.Member
	for _, m := range ms {
		if m.Door != replayDoor {
			out = append(out, pubsub.Member{ID: m.ID, Name: m.Name, Door: m.Door})
		}
	}
	return out
}

// whoIs asks, from server 0, who is in room across the cluster: its own
// hub, then the other servers through the adapter.
func (r *run) whoIs(room string) ([]WhoMember, int, time.Duration, error) {
	s := r.servers[0]
	var out []WhoMember
	for _, m := range members(r.ctx, s.srv.Hub, room) {
		out = append(out, WhoMember{Name: m.Name, Server: s.id, Door: m.Door})
	}
	pr, ok := s.ad.(pubsub.Presence)
	if !ok {
		return out, 0, 0, nil
	}
	start := time.Now()
	remote, answered, err := pr.RoomMembers(r.ctx, room, presenceWait)
	took := time.Since(start)
	if err != nil {
		return out, answered, took, err
	}
	for _, m := range remote {
		out = append(out, WhoMember{Name: m.Name, Server: m.Server, Door: m.Door})
	}
	slices.SortFunc(out, func(a, b WhoMember) int {
		return cmp.Or(strings.Compare(a.Server, b.Server), strings.Compare(a.Name, b.Name))
	})
	return out, answered, took, nil
}

// stickyProbe opens a long-polling session on s1 and polls it on s1, then
// on s2, as a load balancer without sticky sessions might route it.
func (r *run) stickyProbe(pollPath string) ([]StickyProbe, error) {
	const hold = 5 * time.Second // how long a GET may wait for a message
	client := &http.Client{Timeout: sendTimeout + hold}
	defer client.CloseIdleConnections()
	do := func(method string, s *server, path string) (StickyProbe, string, error) {
		req, err := http.NewRequestWithContext(r.ctx, method, "http://"+s.httpAddr+path, nil)
		if err != nil {
			return StickyProbe{}, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return StickyProbe{}, "", fmt.Errorf("cluster demo: sticky probe: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if err != nil {
			return StickyProbe{}, "", fmt.Errorf("cluster demo: sticky probe: reading the answer: %w", err)
		}
		text := strings.TrimSpace(string(body))
		p := StickyProbe{Request: method + " " + path, Server: s.id, Status: resp.StatusCode, Answer: resp.Status}
		return p, text, nil
	}
	s1, s2 := r.servers[0], r.servers[1]
	open, sid, err := do(http.MethodPost, s1, pollPath+"/session")
	if err != nil {
		return nil, err
	}
	if open.Status != http.StatusCreated {
		return nil, fmt.Errorf("cluster demo: sticky probe: POST %s/session: %s", pollPath, open.Answer)
	}
	open.Answer += ": session " + sid
	out := []StickyProbe{open}
	short := sid
	if len(short) > 8 {
		short = short[:8] + "…"
	}
	// The server queues the welcome just after it answers the POST, so a GET
	// without wait= could come first and get 204 No Content. wait= holds the
	// poll until a message is queued: s1 answers as soon as the welcome is
	// there; s2 answers 404 at once.
	for _, s := range []*server{s1, s2} {
		query := "&after=0&wait=" + hold.String()
		p, body, err := do(http.MethodGet, s, pollPath+"?sid="+sid+query)
		if err != nil {
			return nil, err
		}
		p.Request = "GET " + pollPath + "?sid=" + short + query
		switch {
		case p.Status == http.StatusOK:
			n := strings.Count(body, "\n") + 1
			p.Answer += fmt.Sprintf(": %d message%s queued for it", n, map[bool]string{true: "s"}[n != 1])
		case p.Status == http.StatusNotFound: // the poll door's answer to a session id it never opened
			p.Answer += ": unknown session"
		case body != "":
			first, _, _ := strings.Cut(body, "\n")
			p.Answer += ": " + first
		}
		out = append(out, p)
	}
	if _, _, err := do(http.MethodDelete, s1, pollPath+"?sid="+sid); err != nil {
		return nil, err
	}
	return out, nil
}
