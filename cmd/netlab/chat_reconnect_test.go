package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/netlab/netlab/labs/chat"
)

// startChatOn starts a chat server whose HTTP side listens on addr
// ("127.0.0.1:0" for any port); stop stops it and waits.
func startChatOn(t *testing.T, addr string) (srv *chat.Server, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	for try := 0; try < 50; try++ { // the old server's port may take a moment to be free
		srv, err = chat.Start(ctx, chat.ServerConfig{Listen: addr, Lines: "127.0.0.1:0", Doors: chatHTTPDoors()})
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			srv.Wait()
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// browserTab starts headless Chromium with one tab; every action on the
// returned context is bounded by a minute.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	page, cancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(cancel)
	return page
}

// logLine finds the page's log line containing text and returns its
// delivery state ("pending", "unsent", "delivered", or "" for a received
// line) and how many lines contain text.
func logLine(t *testing.T, page context.Context, text string) (state string, count int) {
	t.Helper()
	js := fmt.Sprintf(`[...document.querySelectorAll("#log .msg")].filter(d => d.textContent.includes(%q)).map(d => d.dataset.state || "")`, text)
	res, err := chromedp.Run(page, chromedp.Evaluate[[]string](js))
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	if len(res) == 0 {
		return "", 0
	}
	return res[len(res)-1], len(res)
}

// waitPage polls cond every 50 ms for up to 15 s.
func waitPage(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChatPageSurvivesServerRestart stops the server under an open page and
// starts it again on the same port: the page must show what it could not
// send as not sent (never as delivered), reconnect by itself, rejoin its
// name and room, then send it, once, and show it delivered.
func TestChatPageSurvivesServerRestart(t *testing.T) {
	for _, via := range []string{"ws", "poll"} {
		t.Run(via, func(t *testing.T) { testPageRestart(t, via) })
	}
}

func testPageRestart(t *testing.T, via string) {
	srv, stop := startChatOn(t, "127.0.0.1:0")
	addr := srv.HTTPAddr.String()
	page := browserTab(t)
	err := chromedp.Do(page, chromedp.Navigate("http://"+addr+"/?name=ann&room=red&via="+via),
		chromedp.WaitVisible(chromedp.CSS(`body[data-connected="1"]`)))
	if err != nil {
		t.Fatalf("open page: %v", err)
	}
	tom := dialChat(t, srv, "tcp", "tom")
	tom.say("/join red")
	tom.expect("joined red")
	send := func(text string) {
		t.Helper()
		if err := chromedp.Do(page, chromedp.SetValue(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("send"))); err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
	}
	send("before the restart")
	if got := tom.expect("before the restart"); got != "[red] ann: before the restart" {
		t.Errorf("tom got %q", got)
	}
	waitPage(t, "the first message shown delivered", func() bool { s, _ := logLine(t, page, "before the restart"); return s == "delivered" })

	stop()
	waitPage(t, "the page to notice", func() bool {
		st, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById("status").dataset.state`))
		return st == "reconnecting"
	})
	send("typed while the server was down")
	time.Sleep(300 * time.Millisecond)
	if s, n := logLine(t, page, "typed while the server was down"); s != "unsent" || n != 1 {
		t.Fatalf("message typed while down: state %q (%d lines), want one line, unsent", s, n)
	}

	srv2, _ := startChatOn(t, addr) // same port: the page knows no other
	tina := dialChat(t, srv2, "tcp", "tina")
	tina.say("/join red")
	tina.expect("joined red")
	if got := tina.expect("typed while the server was down"); got != "[red] ann: typed while the server was down" {
		t.Errorf("tina got %q", got)
	}
	tina.quiet("typed while the server was down") // once, not twice
	waitPage(t, "the resent message shown delivered", func() bool {
		s, _ := logLine(t, page, "typed while the server was down")
		return s == "delivered"
	})
	if _, n := logLine(t, page, "typed while the server was down"); n != 1 {
		t.Errorf("the resent message shows %d times in the page's log, want once", n)
	}
	ms, err := srv2.Hub.Members(context.Background(), "red")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "ann,tina" {
		t.Errorf("red on the restarted server: %v, want ann (rejoined) and tina", names)
	}
	tina.say("welcome back")
	waitPage(t, "tina's message in the page", func() bool { _, n := logLine(t, page, "tina: welcome back"); return n == 1 })
	// The member list beside the log names people, not ids.
	waitPage(t, "the member list", func() bool {
		members, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById("members").textContent`))
		return strings.Contains(members, "ann (you)") && strings.Contains(members, "tina")
	})
	// A private message names who it is from and that it is to you.
	var annID string
	for _, m := range ms {
		if m.Name == "ann" {
			annID = m.ID
		}
	}
	tina.say("/msg " + annID + " just between us")
	waitPage(t, "the private message", func() bool { _, n := logLine(t, page, "[to you] tina: just between us"); return n == 1 })
	// The join button follows nc's /join: the new room becomes current,
	// the page stays in its other rooms and in the lobby.
	if err := chromedp.Do(page, chromedp.SetValue(chromedp.ID("room"), "blue"), chromedp.Click(chromedp.ID("join"))); err != nil {
		t.Fatal(err)
	}
	waitPage(t, "the page in blue", func() bool {
		rooms, _ := chromedp.Run(page, chromedp.Evaluate[string](`document.body.dataset.rooms + " " + document.body.dataset.room`))
		return rooms == "blue,lobby,red blue"
	})
	if s, n := logLine(t, page, "> /join blue"); s != "delivered" || n != 1 {
		t.Errorf("the join command in the log: state %q, %d lines; want it shown once, delivered", s, n)
	}
}
