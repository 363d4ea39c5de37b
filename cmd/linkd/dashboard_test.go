package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"
)

func TestDashboardAssets(t *testing.T) {
	in := start(t)
	for _, tc := range []struct{ path, contentType string }{
		{"/", "text/html; charset=utf-8"},
		{"/app.js", "text/javascript; charset=utf-8"},
		{"/app.css", "text/css; charset=utf-8"},
	} {
		resp, err := client.Get(in.admin + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != tc.contentType ||
			h.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d %q %q", tc.path, resp.StatusCode,
				h.Get("Content-Type"), h.Get("Cache-Control"))
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'",
			"img-src 'self' blob: data:", "script-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q",
					tc.path, csp, want)
			}
		}

		// The ETag lets a browser revalidate under no-cache.
		req, _ := http.NewRequest("GET", in.admin+tc.path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		again, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tc.path,
				again.StatusCode)
		}
	}
	if code, _ := in.call("", "GET", "/nothing.js", nil, nil); code != 404 {
		t.Errorf("GET /nothing.js: %d, want 404", code)
	}
}

// TestDashboard drives the dashboard in Chromium as the admin and then as
// a campaign key, on one instance whose retries wait an hour, so that only
// the retry button can resend a failed delivery.
func TestDashboard(t *testing.T) {
	in := start(t, "--retry-initial", "1h")
	b := newBrowser(t, in.admin)
	defer b.check()

	b.signIn(testToken, "Signed in as admin")
	code := b.createLinkThroughForm()
	b.seeClickCounted(in, code)
	b.seeLinkDetail(in, code)
	reportMessages(in, code)
	b.do("open campaigns", chromedp.Click(chromedp.CSS(
		`#nav a[data-section="campaigns"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section[data-campaign="spring"]`)))
	b.until("the funnel", `document.querySelector(`+
		`'section[data-campaign="spring"] .funnel').innerText`+
		`.includes("67% of sent")`)
	b.screenshot("campaigns")

	rc := newReceiver(t)
	epID := b.registerEndpoint(rc)
	b.retryFailedDelivery(in, rc, epID)

	b.signInWithKey(in, code, epID)
}

// reportMessages reports three messages of campaign spring sent, the
// first with the link's short URL, and two of them delivered.
func reportMessages(in *instance, code string) {
	in.t.Helper()
	for i, phone := range []string{"+15550100001", "+15550100003",
		"+15550100004"} {
		id := fmt.Sprintf("msg-%d", i)
		body := "Spring sale starts today"
		if i == 0 {
			body += ": " + in.public + "/" + code
		}
		in.mustCall(201, "POST", "/api/v1/messages", map[string]any{
			"id": id, "campaignId": "spring", "phone": phone,
			"body": body}, nil)
		if i < 2 {
			in.mustCall(200, "POST", "/api/v1/messages/"+id+"/delivered",
				nil, nil)
		}
	}
}

// signIn signs in with token from the keyboard and waits for the session
// line to say who.
func (b *browser) signIn(token, who string) {
	b.t.Helper()
	b.do("open the dashboard", chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.ID("sign-in-token")),
		chromedp.SendKeys(chromedp.ID("sign-in-token"), token+kb.Enter))
	b.until("the session line", fmt.Sprintf(
		`document.getElementById("who").textContent.startsWith(%q)`, who))
}

// createLinkThroughForm makes the form refuse a bad URL beside its field,
// then creates a link and finds it in the table. It returns its code.
func (b *browser) createLinkThroughForm() string {
	b.t.Helper()
	b.do("open links", chromedp.Click(chromedp.CSS(
		`#nav a[data-section="links"]`)),
		chromedp.WaitVisible(chromedp.ID("create-link")),
		chromedp.SendKeys(chromedp.ID("link-url"), "not a url"),
		chromedp.SendKeys(chromedp.ID("link-campaignId"), "spring"),
		chromedp.SendKeys(chromedp.ID("link-phone"), "+15550100001"),
		chromedp.SendKeys(chromedp.ID("link-externalLeadId"), "lead-ann"),
		chromedp.Click(chromedp.CSS(`#create-link button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("link-url-error")))
	if msg := b.text("#link-url-error"); msg == "" {
		b.t.Error("no error shown beside the url field")
	}
	if got := eval[bool](b, `document.activeElement.id === "link-url" && `+
		`document.getElementById("link-url").ariaInvalid === "true"`); !got {
		b.t.Error("the refused url field is not focused and marked invalid")
	}
	b.screenshotOnce("links-error")

	// Select the bad URL and type over it, as a user would.
	b.do("create a link",
		chromedp.Focus(chromedp.ID("link-url")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.SendKeys(chromedp.ID("link-url"),
			"https://shop.example/spring?utm_source=sms"),
		chromedp.Click(chromedp.CSS(`#create-link button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.created a`)))
	if msg := eval[string](b, `document.getElementById("link-url-error")`+
		`.textContent`); msg != "" {
		b.t.Errorf("error %q still shown after the link was created", msg)
	}
	code := b.text(".created a")
	b.do("see the link in the table", chromedp.WaitVisible(chromedp.CSS(
		fmt.Sprintf(`tr[data-code=%q]`, code))))
	return code
}

// screenshotOnce writes one shot at the current width.
func (b *browser) screenshotOnce(name string) {
	b.t.Helper()
	saved := shotWidths
	shotWidths = shotWidths[:1]
	defer func() { shotWidths = saved }()
	b.screenshot(name)
}

// seeClickCounted taps the link as a phone and as curl, and sees the lead's
// click in the table after a reload.
func (b *browser) seeClickCounted(in *instance, code string) {
	b.t.Helper()
	if r := in.tap("GET", "/"+code, ""); r.StatusCode != 302 {
		b.t.Fatalf("tap: %d", r.StatusCode)
	}
	in.tap("GET", "/"+code, "curl/8.5.0")
	// Bot visits are committed within 500 ms; wait until curl's is logged.
	type visit struct{ Reason string }
	waitFor(b.t, "the bot visit logged", func() bool {
		var v struct{ Visits []visit }
		in.mustCall(200, "GET", "/api/v1/links/"+code+"/visits", nil, &v)
		return slices.ContainsFunc(v.Visits, func(v visit) bool {
			return v.Reason == "http_library"
		})
	})

	row := fmt.Sprintf(`tr[data-code=%q]`, code)
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(row)))
	b.until("the click in the table", fmt.Sprintf(`document.querySelector(`+
		`'%s [data-clicks]').textContent === "1"`, row))

	// The copy button says what it did; the QR dialog shows an image.
	b.do("copy the short URL", chromedp.Click(chromedp.CSS(row+` [data-copy]`)))
	b.until("the copy announced", `document.getElementById("status")`+
		`.textContent === "Copied short URL."`)
	b.do("open the QR code", chromedp.Click(chromedp.CSS(
		row+` button[aria-label^="QR code"]`)))
	b.until("the QR image", `document.querySelector("dialog[open] img.qr")`+
		`?.naturalWidth > 0`)
	b.do("close the QR code", chromedp.Click(chromedp.CSS(
		"dialog[open] .actions button")))
	b.until("the QR dialog closed", `!document.querySelector("dialog[open]")`)
	b.screenshot("links")
}

// seeLinkDetail opens the link's page and finds the click and the bot
// visit with its reason.
func (b *browser) seeLinkDetail(in *instance, code string) {
	b.t.Helper()
	b.do("open the link", chromedp.Click(chromedp.CSS(
		fmt.Sprintf(`tr[data-code=%q] a.code`, code))),
		chromedp.WaitVisible(chromedp.CSS(`table.visits`)))
	var logged struct{ Visits []any }
	in.mustCall(200, "GET", "/api/v1/links/"+code+"/visits", nil, &logged)
	b.until("the visits listed", fmt.Sprintf(`document.querySelectorAll(`+
		`"table.visits tbody tr").length === %d`, len(logged.Visits)))
	visits := eval[string](b, `document.querySelector("table.visits")`+
		`.innerText`)
	for _, want := range []string{"HTTP library or command-line tool",
		"curl/8.5.0"} {
		if !strings.Contains(visits, want) {
			b.t.Errorf("visits lack %q:\n%s", want, visits)
		}
	}
	b.until("the lead's click counted", `document.querySelector(`+
		`".counters [data-clicks]")?.textContent === "1"`)
	b.until("the QR image", `document.querySelector(".qr-figure img")`+
		`?.naturalWidth > 0`)
	b.until("the chart", `document.querySelector(".chart-svg rect.bar-human")`)
	b.screenshot("link")
}

// registerEndpoint registers rc through the form, copies the secret it
// shows once, and sees a test event delivered. It returns the endpoint id.
func (b *browser) registerEndpoint(rc *receiver) string {
	b.t.Helper()
	b.do("register an endpoint",
		chromedp.Click(chromedp.CSS(`#nav a[data-section="webhooks"]`)),
		chromedp.WaitVisible(chromedp.ID("register-webhook")),
		chromedp.SendKeys(chromedp.ID("hook-url"), rc.URL()),
		chromedp.SendKeys(chromedp.ID("hook-campaignId"), "spring"),
		chromedp.Click(chromedp.CSS(`#register-webhook button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("secret-value")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-endpoint]`)))
	secret := b.text("#secret-value")
	if !strings.HasPrefix(secret, "whsec_") {
		b.t.Fatalf("secret shown: %q", secret)
	}
	rc.trust(secret)
	b.screenshot("webhooks")
	id := eval[string](b, `document.querySelector("tr[data-endpoint]")`+
		`.dataset.endpoint`)

	b.do("send a test event", chromedp.Click(chromedp.CSS(
		fmt.Sprintf(`tr[data-endpoint=%q] a.button`, id))),
		chromedp.WaitVisible(chromedp.ID("delivery-status")),
		chromedp.Click(chromedp.CSS(`button[data-action="test"]`)))
	b.until("the delivery succeeded", `document.querySelector(`+
		`'tr[data-delivery][data-status="succeeded"]')`)
	if got := rc.waitCount(1); got[0].Verified != nil {
		b.t.Errorf("test event: %v", got[0].Verified)
	}
	return id
}

// retryFailedDelivery makes the receiver fail a test event, then answer
// 204, and resends the event with the retry button.
func (b *browser) retryFailedDelivery(in *instance, rc *receiver, epID string) {
	b.t.Helper()
	rc.answer(func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	failed := `tr[data-delivery][data-status="pending"]`
	b.do("send a failing test event",
		chromedp.Click(chromedp.CSS(`button[data-action="test"]`)))
	b.until("the failed attempt listed", fmt.Sprintf(`document.querySelector(`+
		`'%s [data-last-status]')?.textContent === "500"`, failed))
	if n := len(in.deliveriesOf(epID, "pending")); n != 1 {
		b.t.Fatalf("%d pending deliveries, want 1", n)
	}

	// The status filter shows the failed delivery alone.
	b.do("filter pending", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.getElementById("delivery-status");
		s.value = "pending";
		s.dispatchEvent(new Event("change"));
	})()`))
	b.until("only the pending delivery", `document.querySelectorAll(`+
		`"tr[data-delivery]").length === 1 && document.querySelector(`+
		`'tr[data-delivery][data-status="pending"]')`)
	b.screenshot("deliveries")

	rc.answer(nil)
	b.do("retry", chromedp.Click(chromedp.CSS(
		failed+` button[data-action="retry"]`)))
	b.until("the retry succeeded", `document.querySelector(`+
		`'tr[data-delivery][data-status="succeeded"]')`)
	b.do("show the attempts", chromedp.Click(chromedp.CSS(
		`tr[data-delivery] button[aria-controls]`)))
	b.until("both attempts", `(() => {
		const t = document.querySelector("tr.attempts:not([hidden]) table");
		return t && t.innerText.includes("500") && t.innerText.includes("204");
	})()`)
	if got := in.deliveriesOf(epID, "succeeded"); len(got) != 2 {
		b.t.Errorf("%d succeeded deliveries, want 2", len(got))
	}
}

// signInWithKey signs in with a key of campaign spring and sees nothing of
// campaign autumn.
func (b *browser) signInWithKey(in *instance, springCode, springEP string) {
	b.t.Helper()
	autumn := in.createLink("https://shop.example/autumn", "autumn",
		"+15550100002")
	in.register(newReceiver(b.t), "autumn")
	var key struct{ Key string }
	in.mustCall(201, "POST", "/api/v1/keys", map[string]any{
		"name": "spring team", "campaigns": []string{"spring"}}, &key)

	b.do("sign out", chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("sign-in-token")))
	b.signIn(key.Key, "Campaign key: spring")

	b.do("campaigns of the key", chromedp.Click(chromedp.CSS(
		`#nav a[data-section="campaigns"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section[data-campaign]`)))
	got := eval[[]string](b, `[...document.querySelectorAll(`+
		`"section[data-campaign]")].map((s) => s.dataset.campaign)`)
	if diff := cmp.Diff([]string{"spring"}, got); diff != "" {
		b.t.Errorf("campaigns shown (-want +got):\n%s", diff)
	}

	b.do("links of the key", chromedp.Click(chromedp.CSS(
		`#nav a[data-section="links"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-code]`)))
	codes := eval[[]string](b, `[...document.querySelectorAll(`+
		`"tr[data-code]")].map((r) => r.dataset.code)`)
	if diff := cmp.Diff([]string{springCode}, codes); diff != "" {
		b.t.Errorf("links shown (-want +got):\n%s", diff)
	}
	if slices.Contains(codes, autumn.Code) ||
		eval[bool](b, `!!document.getElementById("create-link")`) {
		b.t.Error("a key sees another campaign's link or the create form")
	}

	b.do("webhooks of the key", chromedp.Click(chromedp.CSS(
		`#nav a[data-section="webhooks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-endpoint]`)))
	eps := eval[[]string](b, `[...document.querySelectorAll(`+
		`"tr[data-endpoint]")].map((r) => r.dataset.endpoint)`)
	if diff := cmp.Diff([]string{springEP}, eps); diff != "" {
		b.t.Errorf("endpoints shown (-want +got):\n%s", diff)
	}

	// Another campaign's link is not found, as the API says.
	b.do("open autumn's link", chromedp.Evaluate[chromedp.Void](
		fmt.Sprintf(`location.hash = "#/links/%s"`, autumn.Code)),
		chromedp.WaitVisible(chromedp.CSS(".error-box")))
	if msg := b.text(".error-box"); !strings.Contains(msg, "not") {
		b.t.Errorf("autumn's link as spring's key: %q", msg)
	}
}
