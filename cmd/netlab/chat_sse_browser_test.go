package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestChatSSEDoorInHeadlessChromium: a page on the chat server's
// Server-Sent Events door (a real EventSource, POSTs with fetch) joins a
// room, receives what a TCP client says there and is heard by it.
func TestChatSSEDoorInHeadlessChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	srv := startChat(t)
	base := "http://" + srv.HTTPAddr.String() + "/"
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
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	page, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(page, chromedp.Navigate(base+"?name=sue&room=green&via=sse"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-connected="1"]`))); err != nil {
		t.Fatalf("page: %v", err)
	}
	status, _ := chromedp.Run(page, chromedp.Text(chromedp.ID("status")))
	if !strings.Contains(status, "Server-Sent Events") {
		t.Fatalf("status %q, want Server-Sent Events", status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		green, _ := srv.Hub.Members(page, "green")
		if len(green) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not join green: %v", green)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tcp := dialChat(t, srv, "tcp", "tom")
	tcp.say("/join green")
	tcp.expect("joined green")
	tcp.say("hello green from nc")
	want := "tom: hello green from nc"
	if err := chromedp.Do(page, chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//div[@id="log"]/div[contains(., %q)]`, want)))); err != nil {
		t.Fatalf("the page never showed %q: %v", want, err)
	}
	if err := chromedp.Do(page,
		chromedp.SetValue(chromedp.ID("text"), "hi from EventSource"),
		chromedp.Click(chromedp.ID("send"))); err != nil {
		t.Fatal(err)
	}
	if got := tcp.expect("hi from EventSource"); got != "[green] sue: hi from EventSource" {
		t.Errorf("the nc client got %q", got)
	}
}
