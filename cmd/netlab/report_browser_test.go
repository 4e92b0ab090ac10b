package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserView is what a page did in Chromium.
type browserView struct {
	text     string   // the body's text
	svgs     int      // inline charts
	shot     []byte   // a PNG of the viewport
	requests []string // every URL it requested, the page's own included
	problems []string // console errors and warnings, exceptions, log errors
}

// openInChromium loads file in a new tab of browser and reports what
// happened.
func openInChromium(t *testing.T, browser context.Context, file string) browserView {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browser)
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil { // open the tab without a timeout
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var v browserView
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			v.requests = append(v.requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				v.problems = append(v.problems, "console."+string(e.Type))
			}
		case *runtime.EventExceptionThrown:
			v.problems = append(v.problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				v.problems = append(v.problems, "log: "+e.Entry.Text)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("body")),
		chromedp.Sleep(300*time.Millisecond)); err != nil { // let late errors and requests arrive
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	svgs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure svg").length`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	v.text, v.svgs, v.shot = text, svgs, shot
	return v
}

// TestReportPageInHeadlessChromium writes the page of a real echo run with
// --report and opens it in headless Chromium: it loads with no console
// error and no request other than the page itself (everything is inline),
// shows the tables and the chart, and its screenshot is not blank. A page
// that fetches an image and logs an error is opened too, to show the check
// sees both. Set NETLAB_SCREENSHOT=FILE.png to keep the screenshot.
func TestReportPageInHeadlessChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "echo.html")
	code, out, errOut := netlab(t, "", "echo", "--transports", "tcp,udp,ws", "--count", "50", "--report", file)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
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
		chromedp.WindowSize(1280, 1600),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // start the browser (no timeout on this first call)
		t.Fatalf("start chromium: %v", err)
	}

	v := openInChromium(t, browser, file)
	for _, r := range v.requests {
		if r != "file://"+file {
			t.Errorf("the page requested %s (want nothing but the page)", r)
		}
	}
	if len(v.problems) > 0 {
		t.Errorf("console: %v", v.problems)
	}
	for _, want := range []string{"netlab echo", "command", "netlab echo --count 50 --report", "round-trip time", "tcp", "udp", "ws"} {
		if !strings.Contains(v.text, want) {
			t.Errorf("page text has no %q", want)
		}
	}
	if v.svgs != 1 {
		t.Errorf("%d charts on the page, want 1 (echo-rtt)", v.svgs)
	}
	if keep := os.Getenv("NETLAB_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, v.shot, 0o644); err != nil {
			t.Error(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(v.shot))
	if err != nil {
		t.Fatal(err)
	}
	if !notBlank(img) {
		t.Error("the screenshot is blank")
	}

	// The check itself: a page that loads an image from elsewhere and logs
	// an error is caught.
	bad := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("x")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	b := openInChromium(t, browser, bad)
	if len(b.requests) < 2 || len(b.problems) == 0 {
		t.Errorf("a page with an outside image and a console error: requests %v, problems %v; the check missed them", b.requests, b.problems)
	}
}
