package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser, which the dashboard tests drive.
const chromium = "/usr/bin/chromium"

// stepTimeout bounds each browser step; the whole test stays near 30 s.
const stepTimeout = 15 * time.Second

// browser is a headless Chromium tab on the dashboard of one instance. It
// records every request the page makes and every script error it hits.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the admin listener, the only origin the page may use
	out  *syncBuffer

	mu       sync.Mutex
	requests []string
	problems []string
}

// newBrowser starts Chromium with a fresh profile, or skips the test when
// it is not installed (fails it under CI).
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not installed at %s: apt-get install chromium",
				chromium)
		}
		t.Skip("SKIPPED: chromium not installed; apt-get install chromium")
	}
	b := &browser{t: t, base: base, out: &syncBuffer{}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// No name resolves but loopback's, so nothing leaves the machine.
		chromedp.Flag("host-resolver-rules",
			"MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(b.out),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, b.out)
	}
	b.ctx = ctx
	return b
}

// listen records requests and script errors; it runs in the tab's event
// loop, so it only appends.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.problems = append(b.problems, "exception: "+text)
	case *log.EventEntryAdded:
		// Refused API calls (the 422 the test provokes) are logged as
		// network errors; anything else at error level is a problem, a
		// Content-Security-Policy violation among them.
		e := ev.Entry
		if e.Level == log.EntryLevelError &&
			e.Source != log.EntrySourceNetwork {
			b.problems = append(b.problems, fmt.Sprintf("%s: %s", e.Source,
				e.Text))
		}
	}
}

// do runs steps within stepTimeout and fails the test with what the page
// shows when one fails.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.page())
	}
}

// until waits for the JavaScript condition to hold in the page.
func (b *browser) until(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+cond+")",
		chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v\n%s", what, err, b.page())
	}
}

// text returns the text of the first element sel matches, once visible.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel),
		chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v\n%s", sel, err, b.page())
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v\n%s", expr, err, b.page())
	}
	return v
}

// page describes what the page shows, for failure messages.
func (b *browser) page() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.hash + "\nstatus: " + document.getElementById("status")`+
			`.textContent + "\n" + document.querySelector("main").innerText`))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return "page " + s
}

// check fails the test for any request that left the admin origin and
// for any script error or policy violation the page hit.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if !strings.HasPrefix(u, b.base+"/") && !strings.HasPrefix(u, "blob:"+
			b.base+"/") && !strings.HasPrefix(u, "data:") {
			b.t.Errorf("the page requested %s, outside %s", u, b.base)
		}
	}
	for _, p := range b.problems {
		b.t.Errorf("page problem: %s", p)
	}
	b.t.Logf("the page made %d requests", len(b.requests))
}

// shotsDir is where screenshots go: $LINKD_SCREENSHOTS or screenshots/
// at the repository's root.
func shotsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LINKD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Widths of the screenshots: a laptop and a small phone.
var shotWidths = []int64{1280, 375}

// screenshot writes full-page shots of the current view at each width as
// name-WIDTH.png, and fails the test when the page is wider than a phone's
// screen at 375 px.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := shotsDir(b.t)
	for _, w := range shotWidths {
		var opts []chromedp.EmulateViewportOption
		if w < 600 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do("resize to "+fmt.Sprint(w), chromedp.EmulateViewport(w, 900,
			opts...))
		// Charts redraw at their new width on a resize.
		b.until("charts at width "+fmt.Sprint(w), `[...document.`+
			`querySelectorAll(".chart-canvas")].every((c) => {`+
			`const s = c.querySelector("svg"); return s && `+
			`+s.getAttribute("width") === Math.floor(c.clientWidth)})`)
		wide := eval[int](b, `document.documentElement.scrollWidth`)
		if w < 600 && wide > int(w) {
			b.t.Errorf("%s at %d px: the page is %d px wide", name, w, wide)
		}
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("restore width", chromedp.EmulateViewport(shotWidths[0], 900))
}
