package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestChatPageInHeadlessChromium loads the chat page twice (one over
// WebSocket, one over long polling), puts each page in its own room, sends
// from both and from a TCP client, and checks that each page shows only its
// room's messages.
func TestChatPageInHeadlessChromium(t *testing.T) {
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
	if err := chromedp.Do(bctx); err != nil { // start the browser (no timeout on this first call)
		t.Fatalf("start chromium: %v", err)
	}
	tabA, cancelA := chromedp.NewContext(bctx)
	defer cancelA()
	tabB, cancelB := chromedp.NewContext(bctx)
	defer cancelB()
	for _, tab := range []context.Context{tabA, tabB} { // open each tab without a timeout
		if err := chromedp.Do(tab); err != nil {
			t.Fatalf("open tab: %v", err)
		}
	}
	pageA, cancelTA := context.WithTimeout(tabA, 60*time.Second)
	defer cancelTA()
	pageB, cancelTB := context.WithTimeout(tabB, 60*time.Second)
	defer cancelTB()
	ctx := pageA

	waitConnected := chromedp.WaitVisible(chromedp.CSS(`body[data-connected="1"]`))
	if err := chromedp.Do(pageA, chromedp.Navigate(base+"?name=ann&room=red&latency=1"), waitConnected); err != nil {
		t.Fatalf("page A: %v", err)
	}
	if err := chromedp.Do(pageB, chromedp.Navigate(base+"?name=ben&room=blue&via=poll"), waitConnected); err != nil {
		t.Fatalf("page B: %v", err)
	}
	status, _ := chromedp.Run(pageB, chromedp.Text(chromedp.ID("status")))
	if !strings.Contains(status, "long polling") {
		t.Errorf("page B status %q, want long polling", status)
	}
	// Wait until both pages are in their rooms, seen from the server.
	deadline := time.Now().Add(10 * time.Second)
	for {
		red, _ := srv.Hub.Members(ctx, "red")
		blue, _ := srv.Hub.Members(ctx, "blue")
		if len(red) == 1 && len(blue) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pages did not join: red %v, blue %v", red, blue)
		}
		time.Sleep(50 * time.Millisecond)
	}

	send := func(page context.Context, text string) {
		t.Helper()
		err := chromedp.Do(page,
			chromedp.SetValue(chromedp.ID("text"), text),
			chromedp.Click(chromedp.ID("send")))
		if err != nil {
			t.Fatalf("send %q: %v", text, err)
		}
	}
	tcp := dialChat(t, srv, "tcp", "tom")
	tcp.say("/join red")
	tcp.expect("joined red")
	send(pageA, "red alert")
	send(pageB, "feeling blue")
	if got := tcp.expect("red alert"); got != "[red] ann: red alert" {
		t.Errorf("nc client in red got %q", got)
	}
	tcp.say("hello red from nc")

	logOf := func(page context.Context, want string) string {
		t.Helper()
		err := chromedp.Do(page, chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//div[@id="log"]/div[contains(., %q)]`, want))))
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		text, err := chromedp.Run(page, chromedp.Text(chromedp.ID("log")))
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		return text
	}
	a := logOf(pageA, "tom: hello red from nc")
	b := logOf(pageB, "feeling blue")
	time.Sleep(300 * time.Millisecond) // anything misrouted would have arrived by now
	b, _ = chromedp.Run(pageB, chromedp.Text(chromedp.ID("log")))
	if strings.Contains(a, "feeling blue") {
		t.Errorf("page A (red) shows a blue message:\n%s", a)
	}
	if strings.Contains(b, "red alert") || strings.Contains(b, "hello red") {
		t.Errorf("page B (blue) shows a red message:\n%s", b)
	}
	if !regexp.MustCompile(`\[red\] tom: hello red from nc\+\d+ ms`).MatchString(a) {
		t.Errorf("page A (show delivery time on) lacks tom's message with its delivery time:\n%s", a)
	}
}
